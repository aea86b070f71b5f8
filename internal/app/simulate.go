package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/simulate"
)

func runSimulate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "simulate", "Act as sports data providers: several providers, each with its own margin and latency, quote\n"+
		"every market (moneyline or three-way, spread, total) of games of several sports that are scheduled,\n"+
		"go live and close, stop bets around their events and settle them, through the real HTTP API.\n"+
		"With -load: one provider quoting N live games in turn (a load generator).", false)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	key := fs.String("key", "", "one provider's API key (default: $ODDSFEED_PROVIDER_KEY, else the dev keys in $ODDSFEED_DATA_DIR)")
	providers := fs.String("providers", "", "comma-separated providers whose dev keys to use (default: every provider in the dev keys);\nwith -key, the name of the key's provider (its margin and latency)")
	games := fs.Int("games", 20, "open games (scheduled and live) to keep going")
	rate := fs.Float64("rate", 200, "odds per second over all providers (-load: 0 = as fast as possible)")
	sports := fs.String("sports", "all", "comma-separated sports: "+sportNames())
	liveFor := fs.Duration("live-for", 4*time.Minute, "how long a game is live")
	quietEvery := fs.Duration("quiet-every", 5*time.Minute, "the last provider goes quiet (no odds, no heartbeats) this often (negative = never)")
	quietFor := fs.Duration("quiet-for", 45*time.Second, "for this long (longer than the server's ODDSFEED_PROVIDER_TIMEOUT to be marked down)")
	batch := fs.Int("batch", 50, "odds per request (at most 500)")
	dur := fs.Duration("duration", 0, "stop after this long (0 = until interrupted or -total)")
	prefix := fs.String("prefix", "sim-", "game id prefix")
	load := fs.Bool("load", false, "load generator: one provider, -games live games quoted in turn")
	conc := fs.Int("concurrency", 2, "-load: requests in flight")
	total := fs.Int("total", 0, "-load: stop after this many odds (0 = no limit)")
	sport := fs.String("sport", "soccer", "-load: sport of the games")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if *batch < 1 || *batch > 500 {
		return fmt.Errorf("-batch must be between 1 and 500")
	}
	o := simulate.Options{BaseURL: *url, Games: *games, Rate: *rate, Batch: *batch, Duration: *dur,
		GamePrefix: *prefix, Seed: uint64(time.Now().UnixNano()), LiveFor: *liveFor, QuietEvery: *quietEvery, QuietFor: *quietFor,
		Log: func(msg string, args ...any) { fmt.Fprintln(env.Stderr, append([]any{msg}, args...)...) }}
	var err error
	if o.Sports, err = simulate.SportsNamed(*sports); err != nil {
		return fmt.Errorf("-sports: %w", err)
	}
	k := *key
	if k == "" {
		k = env.Getenv("ODDSFEED_PROVIDER_KEY")
	}
	dir := dataDir(env.Getenv)
	switch {
	case k != "":
		name := "provider"
		if *providers != "" {
			name = *providers
		}
		p := simulate.ProviderProfile(name)
		p.Key = k
		o.Providers = []simulate.Provider{p}
	case *load:
		if k, err = DevKey(dir, auth.RoleProvider); err != nil {
			return fmt.Errorf("no provider key: pass -key or set ODDSFEED_PROVIDER_KEY (%v)", err)
		}
	default:
		var names []string
		if *providers != "" {
			names = strings.Split(*providers, ",")
		}
		if o.Providers, err = devProviders(dir, names); err != nil {
			return err
		}
	}
	var res simulate.Result
	if *load {
		o.Key, o.Concurrency, o.Total, o.Sport = k, *conc, *total, *sport
		fmt.Fprintf(env.Stdout, "load: %d games at %.0f odds/s against %s\n", *games, *rate, *url)
		res, err = simulate.Run(ctx, o)
	} else {
		fmt.Fprintf(env.Stdout, "simulating %d open games of %s, %d providers, %.0f odds/s against %s\n",
			*games, *sports, len(o.Providers), *rate, *url)
		res, err = simulate.Live(ctx, o)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "requests %d (failed %d), odds acknowledged %d, %.0f odds/s, p50 %v p99 %v\n",
		res.Requests, res.Failed, res.Odds, res.OddsPerSecond(), res.Percentile(0.5), res.Percentile(0.99))
	if !*load {
		fmt.Fprintf(env.Stdout, "game writes %d, corrections %d, late %d, dropped %d, decimal %d, market changes %d, heartbeats %d\n",
			res.GameWrites, res.Corrections, res.Late, res.Dropped, res.Decimal, res.MarketChanges, res.Heartbeats)
		if res.SpreadsOnly {
			fmt.Fprintln(env.Stdout, "the server predates markets (no POST /v1/heartbeat): posted full-game spreads only")
		}
	}
	return nil
}

func sportNames() string {
	names := make([]string, len(simulate.Sports))
	for i, s := range simulate.Sports {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func dataDir(getenv func(string) string) string {
	if dir := getenv("ODDSFEED_DATA_DIR"); dir != "" {
		return dir
	}
	return "./data"
}

// devProviders are the providers of the dev keys in dir, with their
// profiles: those named (all of them when names is empty).
func devProviders(dir string, names []string) ([]simulate.Provider, error) {
	keys, err := readDevKeys(filepath.Join(dir, devKeysFile))
	if err != nil {
		return nil, fmt.Errorf("no provider keys: pass -key or set ODDSFEED_PROVIDER_KEY (development keys: %v)", err)
	}
	var out []simulate.Provider
	missing := slices.Clone(names)
	for _, k := range keys {
		if k.role == auth.RoleProvider && (len(names) == 0 || slices.Contains(names, k.name)) {
			p := simulate.ProviderProfile(k.name)
			p.Key = k.key
			out = append(out, p)
			missing = slices.DeleteFunc(missing, func(n string) bool { return n == k.name })
		}
	}
	if len(out) == 0 || len(missing) > 0 {
		return nil, fmt.Errorf("no development provider key for %v in %s (`serve -demo` makes the demo providers' keys)", missing, dir)
	}
	return out, nil
}

// The demo (`serve -demo`): the simulator runs in the server, against it,
// as the demo's providers (simulate.DefaultProviders), whose development
// keys it adds to the data directory's.
const (
	demoGames  = 24
	demoRate   = 60
	demoPrefix = "demo-"
)

// prepareDemo checks that the demo can run (the embedded back end's
// generated development keys) and adds its providers' keys to them.
func prepareDemo(cfg Config) error {
	if cfg.Backend != BackendEmbedded || cfg.APIKeys != "" || cfg.APIKeysFile != "" {
		return errors.New("serve -demo runs on the embedded back end's development keys: unset ODDSFEED_BACKEND, ODDSFEED_API_KEYS and ODDSFEED_API_KEYS_FILE")
	}
	want := slices.Clone(devPrincipals)
	for _, p := range simulate.DefaultProviders {
		want = append(want, devPrincipal{p.Name, auth.RoleProvider})
	}
	if _, _, err := ensureDevKeys(filepath.Join(cfg.DataDir, devKeysFile), want); err != nil {
		return fmt.Errorf("serve -demo: development keys: %w", err)
	}
	return nil
}

// startDemo runs the demo against the server at url until ctx ends or the
// returned function, which waits for it to stop, is called.
func startDemo(ctx context.Context, cfg Config, url string, log *slog.Logger) (stop func()) {
	log = log.With("module", "demo")
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		names := make([]string, len(simulate.DefaultProviders))
		for i, p := range simulate.DefaultProviders {
			names[i] = p.Name
		}
		providers, err := devProviders(cfg.DataDir, names)
		if err != nil {
			log.Error("demo not started", "err", err)
			return
		}
		analyst, err := DevKey(cfg.DataDir, auth.RoleAnalyst)
		if err != nil {
			log.Error("demo not started", "err", err)
			return
		}
		o := simulate.Options{BaseURL: url, Providers: providers, Games: demoGames, Rate: demoRate,
			GamePrefix: demoPrefix, Seed: uint64(time.Now().UnixNano()), Log: log.Warn}
		// A previous demo's games stay open when it stops: close them.
		if n, err := simulate.CloseOpen(ctx, o, analyst); err != nil {
			log.Warn("closing a previous demo's games", "err", err)
		} else if n > 0 {
			log.Info("closed a previous demo's games", "games", n)
		}
		log.Info("demo running", "providers", strings.Join(names, ","), "games", demoGames, "rate", demoRate)
		res, err := simulate.Live(ctx, o)
		if err != nil {
			log.Error("demo stopped", "err", err)
			return
		}
		log.Info("demo stopped", "odds", res.Odds, "failed", res.Failed, "game_writes", res.GameWrites)
	})
	return func() { cancel(); wg.Wait() }
}
