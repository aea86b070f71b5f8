package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
)

// runCompact gives the embedded store's freed pages back to the disk.
func runCompact(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "compact", "Rewrite the embedded store's file without its free pages (bbolt reuses the pages that\nexpiries free but never shrinks its file). Offline: stop the server first; it fails\nwhile a server has the store open.", true)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return err
	}
	if cfg.Backend != BackendEmbedded {
		return errors.New("compact: only the embedded back end has a file to compact (ODDSFEED_BACKEND=embedded)")
	}
	before, after, err := embedded.Compact(cfg.DataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "compacted %s: %d -> %d bytes\n", cfg.DataDir, before, after)
	return nil
}
