package app

import (
	"context"
	"fmt"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
)

func runSimulate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "simulate", "Act as a sports data provider: create N games and post odds moving by a random walk,\nR updates per second, in batches, through the real HTTP API.", false)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	key := fs.String("key", "", "provider API key (default: $ODDSFEED_PROVIDER_KEY, else the dev key in $ODDSFEED_DATA_DIR)")
	games := fs.Int("games", 20, "games to simulate")
	rate := fs.Float64("rate", 200, "odds per second over all games (0 = as fast as possible)")
	batch := fs.Int("batch", 50, "odds per request (at most 500)")
	conc := fs.Int("concurrency", 2, "requests in flight")
	dur := fs.Duration("duration", 0, "stop after this long (0 = until interrupted or -total)")
	total := fs.Int("total", 0, "stop after this many odds (0 = no limit)")
	prefix := fs.String("prefix", "sim-", "game id prefix")
	sport := fs.String("sport", "soccer", "sport of the games")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if *batch < 1 || *batch > 500 {
		return fmt.Errorf("-batch must be between 1 and 500")
	}
	k := *key
	if k == "" {
		k = env.Getenv("ODDSFEED_PROVIDER_KEY")
	}
	if k == "" {
		dir := env.Getenv("ODDSFEED_DATA_DIR")
		if dir == "" {
			dir = "./data"
		}
		var err error
		if k, err = DevKey(dir, auth.RoleProvider); err != nil {
			return fmt.Errorf("no provider key: pass -key or set ODDSFEED_PROVIDER_KEY (%v)", err)
		}
	}
	fmt.Fprintf(env.Stdout, "simulating %d games at %.0f odds/s against %s\n", *games, *rate, *url)
	res, err := simulate.Run(ctx, simulate.Options{
		BaseURL: *url, Key: k, Games: *games, Rate: *rate, Batch: *batch, Concurrency: *conc,
		Duration: *dur, Total: *total, GamePrefix: *prefix, Sport: *sport, Seed: uint64(time.Now().UnixNano()),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "requests %d (failed %d), odds acknowledged %d, %.0f odds/s, p50 %v p99 %v\n",
		res.Requests, res.Failed, res.Odds, res.OddsPerSecond(), res.Percentile(0.5), res.Percentile(0.99))
	return nil
}
