package app

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck probes a running server, for container health checks on
// images without a shell or curl.
func runHealthcheck(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "healthcheck", "Exit 0 when the server at -url answers 200 (for container health checks).", false)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "URL to probe: /healthz (alive) or /readyz (dependencies reachable)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *url, resp.Status)
	}
	return nil
}
