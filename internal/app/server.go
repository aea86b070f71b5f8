package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/awsclient"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
	"github.com/oddsfeed/oddsfeed/internal/feedread"
	"github.com/oddsfeed/oddsfeed/internal/httpx"
	"github.com/oddsfeed/oddsfeed/internal/ingest"
	"github.com/oddsfeed/oddsfeed/internal/liveness"
	"github.com/oddsfeed/oddsfeed/internal/reporting"
	"github.com/oddsfeed/oddsfeed/internal/store"
	"github.com/oddsfeed/oddsfeed/internal/store/dynamo"
	"github.com/oddsfeed/oddsfeed/internal/store/embedded"
	"github.com/oddsfeed/oddsfeed/internal/trading"
	"github.com/oddsfeed/oddsfeed/web"
)

// maxHeaderBytes bounds a request's line and headers (431 above).
const maxHeaderBytes = 64 << 10

// ListeningPrefix starts the line serve prints once it accepts connections,
// followed by the base URL. Tests and scripts wait for it.
const ListeningPrefix = "oddsfeed listening on "

// ListeningURL reads serve's output r up to its listening line and returns
// the URL on it; it then reads and discards the rest of r in the
// background, so that a child process never blocks on a full pipe.
func ListeningURL(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), ListeningPrefix); ok {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return url, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("output ended before the listening line")
}

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "serve", "Run the HTTP server: provider ingest, analyst reads and the live stream.\nStops gracefully on SIGINT/SIGTERM.", true)
	addr := fs.String("addr", "", "listen address (overrides ODDSFEED_ADDR)")
	demo := fs.Bool("demo", false, "also run the provider simulator in the server, against it: several providers and sports\n(embedded back end; adds the demo providers' keys to the development keys)")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	cfg, err := LoadConfig(env.Getenv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *demo {
		if err := prepareDemo(cfg); err != nil {
			return err
		}
	}
	log := newLogger(env.Stderr, cfg.LogLevel)
	pg := newPrivatePostgres(&cfg, log) // reports on the embedded default: nil unless serve runs its own Postgres
	srv, err := NewServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	pg.start(ctx) // after NewServer: the store's lock keeps a second server off this data directory
	defer pg.stop(cfg.ShutdownTimeout)
	stopDemo := func() {}
	defer func() { stopDemo() }() // before the deferred pg.stop
	return srv.Serve(ctx, func(url string) {
		fmt.Fprintln(env.Stdout, ListeningPrefix+url)
		if *demo {
			stopDemo = startDemo(ctx, cfg, url, log)
		}
	})
}

// Server is a configured oddsfeed server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  store.FeedStore
	router http.Handler
	pipe   *pipeline
	met    *metrics
	live   *liveness.Monitor
	desk   *trading.Desk // traders' suspensions, from the API and the dashboard
	closer []func() error

	readyMu  sync.Mutex
	notReady map[string]string // failing readiness checks and their state, to log changes only
}

// NewServer opens the back end and builds the router.
func NewServer(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, met: newMetrics()}
	keys, err := loadKeyring(cfg, func(msg string, args ...any) { log.Info(msg, args...) })
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.store = st
	s.closer = append(s.closer, st.Close)
	if s.pipe, err = newPipeline(ctx, s); err != nil {
		s.close()
		return nil, err
	}
	s.met.registerPipeline(s.pipe)
	users, err := loadUsers(cfg)
	if err != nil {
		s.close()
		return nil, err
	}
	s.desk = trading.New(st, nil)
	dash := dashboard.New(dashboard.Options{Keys: keys, Users: users, SecureCookies: cfg.SecureCookies, Trader: s.desk,
		SessionTTL: cfg.SessionTTL, Assets: web.Assets(), Logger: log.With("module", "dashboard"),
		OnSessionEnd: s.pipe.hub.CloseSession}) // a signed-out or expired session's streams close
	s.live = liveness.New(st, liveness.Options{Timeout: cfg.ProviderTimeout, Replica: cfg.ReplicaID,
		Logger: log.With("module", "liveness")})
	s.router = s.routes(keys, dash)
	return s, nil
}

func openStore(ctx context.Context, cfg Config) (store.FeedStore, error) {
	switch cfg.Backend {
	case BackendEmbedded:
		st, err := embedded.Open(filepath.Join(cfg.DataDir, "embedded"), embedded.Options{OddsTTL: cfg.OddsTTL, LogRetention: cfg.LogRetention})
		if err != nil {
			return nil, fmt.Errorf("open embedded store in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	case BackendAWS:
		o := awsOptions(cfg)
		awsCfg, err := awsclient.Load(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("aws configuration: %w", err)
		}
		return dynamo.New(awsclient.DynamoDB(awsCfg, o), dynamo.Options{Table: cfg.Table, OddsTTL: cfg.OddsTTL}), nil
	}
	return nil, fmt.Errorf("unknown back end %q", cfg.Backend)
}

func awsOptions(cfg Config) awsclient.Options {
	return awsclient.Options{
		Region:           cfg.Region,
		DynamoDBEndpoint: cfg.DynamoDBEndpoint,
		KinesisEndpoint:  cfg.KinesisEndpoint,
		AccessKeyID:      cfg.AccessKeyID,
		SecretAccessKey:  cfg.SecretAccessKey,
	}
}

func (s *Server) routes(keys *auth.Keyring, dash *dashboard.Dashboard) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, clientAddr(s.cfg.TrustedProxies), s.logRequests, s.met.middleware, middleware.Recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	r.Get("/readyz", s.readyz)

	in := ingest.New(countingStore{FeedStore: s.store, odds: s.met.odds}, ingest.Options{
		MaxBodyBytes: s.cfg.MaxBodyBytes,
		Rate:         s.cfg.ProviderRate,
		Burst:        s.cfg.ProviderBurst,
		Logger:       s.log,
	})
	rd := feedread.New(s.store, feedread.Options{})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(keys, auth.RoleProvider, auth.RoleAdmin))
		in.Routes(r)
	})
	dash.Routes(r)
	tokens := auth.NewTokens(nil, time.Minute, nil)
	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAny([]auth.Authenticator{keys, tokens, dash}, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin))
		rd.Routes(r)
		r.Get("/v1/stream", s.noDeadlines(s.pipe.hub))
		r.Get("/v1/pipeline", s.pipelineStatus) // the whole pipeline, with or without Postgres
		if s.pipe.rep != nil {
			s.pipe.rep.reports.Routes(r)
		}
		r.Post("/v1/stream/token", func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.PrincipalFrom(r.Context())
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"token": tokens.Issue(p), "expiresIn": int(tokens.TTL().Seconds())})
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(keys, auth.RoleProvider, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin))
		rd.ReferenceRoutes(r)
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAny([]auth.Authenticator{keys, dash}, auth.RoleProvider, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin))
		rd.MarketRoutes(r) // a game's markets and quotes, providers' liveness
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Require(keys, auth.RoleTrader, auth.RoleAdmin))
		trading.NewHandler(s.desk, s.log).Routes(r) // suspend and resume
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAny([]auth.Authenticator{keys, dash}, auth.RoleAdmin))
		r.Post("/v1/admin/replay", s.replayDeadLetters)
		r.Handle("/metrics", s.met.handler())
	})
	return r
}

// clientAddr sets r.RemoteAddr to the client address that a trusted proxy
// reports, when the peer is one of trusted (ODDSFEED_TRUSTED_PROXIES): the
// X-Forwarded-For chain read from the right, past the trusted proxies in
// it, else the last X-Real-IP. From any other peer, or when an entry is not
// an address, the peer address stands: a client cannot pick its address.
func clientAddr(trusted []netip.Prefix) func(http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap().WithZone("")
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	forwarded := func(r *http.Request) (client netip.Addr) {
		if peer, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !isTrusted(peer.Addr()) {
			return netip.Addr{}
		}
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(h, ",")...)
		}
		if real := r.Header.Values("X-Real-IP"); len(hops) == 0 && len(real) > 0 {
			hops = real[len(real)-1:]
		}
		for i := len(hops) - 1; i >= 0; i-- {
			h := strings.TrimSpace(hops[i])
			if h == "" {
				continue
			}
			a, err := netip.ParseAddr(h)
			if err != nil {
				return netip.Addr{}
			}
			if client = a.Unmap().WithZone(""); !isTrusted(client) {
				break
			}
		}
		return client
	}
	return func(next http.Handler) http.Handler {
		if len(trusted) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if client := forwarded(r); client.IsValid() {
				r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
			}
			next.ServeHTTP(w, r)
		})
	}
}

// noDeadlines lifts the server's read and write timeouts for a long-lived
// connection (the live stream, which keeps its own: pings, and a write
// timeout per frame). http.Hijacker leaves a hijacked connection's
// deadlines to the caller (net/http clears them today, without promising
// to). It runs after authentication, so only an authenticated client gets
// a connection without them.
func (s *Server) noDeadlines(next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{})); err != nil {
			s.log.Warn("cannot lift the connection's deadlines", "path", r.URL.Path, "err", err)
		}
		next.ServeHTTP(w, r)
	}
}

// logRequests logs one line per request: never headers, so never keys.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", middleware.GetReqID(r.Context()))
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		lvl := slog.LevelInfo
		if ww.Status() >= 500 {
			lvl = slog.LevelWarn
		}
		s.log.Log(r.Context(), lvl, "request", "request_id", middleware.GetReqID(r.Context()), "remote", r.RemoteAddr, "method", r.Method,
			"path", r.URL.Path, "status", ww.Status(), "bytes", ww.BytesWritten(), "duration", time.Since(start))
	})
}

// Handler returns the server's router, for tests.
func (s *Server) Handler() http.Handler { return s.router }

// Serve listens on the configured address, calls ready with the base URL
// once connections are accepted, and serves until ctx ends; then it stops
// accepting, waits for requests in flight (up to the shutdown timeout) and
// closes the back end.
func (s *Server) Serve(ctx context.Context, ready func(url string)) error {
	defer s.close()
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (ODDSFEED_ADDR): %w", s.cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: min(10*time.Second, s.cfg.ReadTimeout),
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	errc := make(chan error, 1)
	s.pipe.start()
	liveCtx, stopLive := context.WithCancel(context.WithoutCancel(ctx))
	liveDone := make(chan struct{})
	go func() { defer close(liveDone); s.live.Run(liveCtx) }() // decides provider liveness while it holds the lease
	defer func() { stopLive(); <-liveDone }()                  // before the store closes (deferred above)
	go func() { errc <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	s.log.Info("listening", "url", url, "backend", s.cfg.Backend)
	if ready != nil {
		ready(url)
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	// Shutdown order: stop accepting and finish requests in flight, close
	// the WebSockets with a close frame, stop the tailer after its current
	// batch; the store closes last (deferred).
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	s.pipe.stop(sctx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func (s *Server) close() {
	for i := len(s.closer) - 1; i >= 0; i-- {
		if err := s.closer[i](); err != nil {
			s.log.Warn("close", "err", err)
		}
	}
}

// replayDeadLetters re-applies the reporting sync's parked records (admin).
func (s *Server) replayDeadLetters(w http.ResponseWriter, r *http.Request) {
	if s.pipe.rep == nil {
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusNotFound, Detail: "reporting is not configured (ODDSFEED_DATABASE_URL)"})
		return
	}
	applied, failed, err := reporting.Replay(r.Context(), s.pipe.rep.pool)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"applied": applied, "failed": failed})
}

// readyz answers 200 when the store, the change stream and (when
// configured) Postgres are reachable and the broadcast reads the stream,
// else 503 naming the ones that are not ("unreachable", or "starting" for
// a stream not read yet).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]error{}
	if _, err := s.store.GetGame(ctx, "readyz-probe"); err != nil && !errors.Is(err, store.ErrNotFound) {
		checks["store"] = err
	} else {
		checks["store"] = nil
	}
	if s.pipe.streamCheck != nil {
		checks["stream"] = s.pipe.streamCheck(ctx)
	}
	if s.pipe.rep != nil {
		checks["postgres"] = s.pipe.rep.pool.Ping(ctx)
	}
	status, out := http.StatusOK, map[string]string{}
	for name, err := range checks {
		out[name] = "ok"
		if err != nil {
			status, out[name] = http.StatusServiceUnavailable, "unreachable"
			if errors.Is(err, cdc.ErrNotReading) {
				out[name] = "starting"
			}
		}
		s.readinessChanged(name, out[name], err)
	}
	httpx.WriteJSON(w, status, out)
}

// readinessChanged logs a check's state when it differs from the last one
// seen: once when it fails, once when it is ok again, never per request
// (/readyz is unauthenticated; probes and anyone else may call it often).
func (s *Server) readinessChanged(check, state string, err error) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	prev, failing := s.notReady[check]
	switch {
	case state == "ok" && failing:
		delete(s.notReady, check)
		s.log.Info("ready again", "check", check, "was", prev)
	case state != "ok" && prev != state:
		if s.notReady == nil {
			s.notReady = map[string]string{}
		}
		s.notReady[check] = state
		s.log.Warn("not ready", "check", check, "state", state, "err", err)
	}
}

// Close releases what NewServer opened, for a server that was never served.
func (s *Server) Close() { s.close() }
