// Package app wires oddsfeed together: configuration, adapters, modules,
// the chi router and the HTTP server, with their start and shutdown order.
// main and the end-to-end tests both go through Run.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Env is what a run of the program sees of the outside world.
type Env struct {
	Args   []string // without the program name
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

type command struct {
	name, summary string
	run           func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server (ingest, reads, live stream)", runServe},
		{"provision", "create the DynamoDB table, Kinesis stream and streaming destination (idempotent)", runProvision},
		{"migrate", "run the Postgres reporting schema's migrations: up, down, status, version", runMigrate},
		{"backfill", "load the whole feed store into Postgres (resumable, idempotent)", runBackfill},
		{"replay", "re-apply the reporting sync's dead letters", runReplay},
		{"simulate", "post simulated odds through the HTTP API, as a provider would", runSimulate},
		{"healthcheck", "probe a running server's /readyz or /healthz (for container health checks)", runHealthcheck},
		{"passwd", "hash a dashboard user's password (read on stdin)", runPasswd},
		{"keygen", "make an API key for a principal and role, and the line to configure it", runKeygen},
		{"compact", "give the embedded store's freed pages back to the disk (offline)", runCompact},
	}
}

// ErrUsage is returned for a bad command line; the message was printed.
var ErrUsage = errors.New("usage")

// Run runs the program with env.Args as its command line.
func Run(ctx context.Context, env Env) error {
	if len(env.Args) == 0 || env.Args[0] == "-h" || env.Args[0] == "--help" || env.Args[0] == "help" {
		usage(env.Stdout)
		if len(env.Args) == 0 {
			return ErrUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == env.Args[0] {
			return c.run(ctx, env, env.Args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "oddsfeed: unknown command %q\n\n", env.Args[0])
	usage(env.Stderr)
	return ErrUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "oddsfeed: live sports odds in, live odds out.")
	fmt.Fprintln(w, "\nUsage: oddsfeed <command> [flags]   (oddsfeed <command> --help for more)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

// newFlagSet makes a flag set whose --help prints the command's usage,
// its flags and, when withEnv, the configuration variables.
func newFlagSet(env Env, name, summary string, withEnv bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		w := env.Stdout
		fmt.Fprintf(w, "Usage: oddsfeed %s [flags]\n\n%s\n", name, summary)
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(env.Stderr)
		if b.Len() > 0 {
			fmt.Fprintf(w, "\nFlags:\n%s", b.String())
		}
		if withEnv {
			fmt.Fprintf(w, "\nEnvironment:\n%s", ConfigHelp())
		}
	}
	return fs
}

// parseFlags parses args; --help is a success that ran nothing.
func parseFlags(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, ErrUsage
	}
	return false, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
