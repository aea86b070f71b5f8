// Package dashboard serves the analysts' web dashboard: sign-in (API key or
// username and password), server-side sessions, the page shells and the
// built front-end assets (package web). The pages' JavaScript reads the
// /v1 API with the session cookie: Authenticate is the alternative to API
// keys that the API's auth middleware accepts, and it demands the session's
// CSRF token (header X-CSRF-Token) on every state-changing request, so a
// cookie alone can never write.
//
// Sessions live in this process (a bounded table with expiry: at most
// maxSessionsPerPrincipal per principal, maxSessions in all): they do not
// survive a restart and are not shared between replicas. That suits the
// single node the dashboard is meant for; behind a load balancer, use sticky
// sessions. Failed sign-ins are throttled per username and client address.
//
// Traders (and admins) suspend and re-open markets from the pages through
// the dashboard's own routes (trade.go), which call the Trader it is given
// (internal/trading.Desk): the same CSRF header, and the role checked here.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// CSRFHeader is the request header that carries the session's CSRF token on
// state-changing API requests made with the session cookie.
const CSRFHeader = "X-CSRF-Token"

// DefaultSessionTTL is how long a session lasts when Options.SessionTTL is 0.
const DefaultSessionTTL = 12 * time.Hour

// Options configure a Dashboard.
type Options struct {
	// Keys admits sign-in with an analyst's, trader's or admin's API key (nil:
	// none).
	Keys *auth.Keyring
	// Users are the username/password accounts (see ParseUsers).
	Users map[string]UserEntry
	// SecureCookies sets the Secure attribute (and the __Host- cookie name
	// prefix): set it whenever the dashboard is reached over TLS.
	SecureCookies bool
	// SessionTTL is a session's lifetime from sign-in (default 12h).
	SessionTTL time.Duration
	// Assets are the built front-end files (web.Assets()): app.js, app.css.
	Assets fs.FS
	// Logger gets sign-in events (never secrets). Default: discard.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnSessionEnd, when set, is called with a session's id (the
	// auth.Principal.Session of its requests) when the session ends:
	// signed out, expired (noticed by a request or by the table's timer),
	// evicted (a principal's oldest, past maxSessionsPerPrincipal) or
	// replaced by a new sign-in from the same browser. The server closes
	// the session's live streams with it (broadcast.Hub.CloseSession). It
	// must not block for long; it is never called with the table locked.
	OnSessionEnd func(sessionID string)
	// Trader suspends and re-opens markets for traders and admins
	// (internal/trading.Desk); nil: the board offers no trading and the
	// trader routes answer 503.
	Trader Trader
}

// Dashboard serves the dashboard's pages and sessions.
type Dashboard struct {
	o        Options
	log      *slog.Logger
	sessions *sessions
	assets   map[string]asset
	pages    *template.Template
	throttle *throttle
	// hashing bounds concurrent password hashing (each is ~0.2 s of CPU)
	// to the cores; a sign-in waits for a slot at most hashWait, then gets
	// 503, so slow hashes cannot stall every sign-in.
	hashing  chan struct{}
	hashWait time.Duration
	// dummyHash is checked when a username is unknown, so timing does not
	// tell which usernames exist (made on first use, with the work factor
	// of the configured users).
	dummyHash func() string
}

// defaultHashWait is how long a password sign-in waits for a hashing slot.
const defaultHashWait = time.Second

//go:embed templates/*.html
var templates embed.FS

// New returns a Dashboard. It panics when the templates do not parse (they
// are embedded, so that is a build defect).
func New(o Options) *Dashboard {
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Keys == nil {
		o.Keys = auth.NewKeyring()
	}
	d := &Dashboard{
		o:         o,
		log:       o.Logger,
		sessions:  newSessions(o.SessionTTL, o.Now, o.OnSessionEnd),
		throttle:  newThrottle(o.Now),
		pages:     template.Must(template.ParseFS(templates, "templates/*.html")),
		hashing:   make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
		hashWait:  defaultHashWait,
		dummyHash: sync.OnceValue(func() string { return hashPassword("not a password", usersIterations(o.Users)) }),
	}
	d.assets = loadAssets(o.Assets, d.log)
	return d
}

// Routes mounts the dashboard:
//
//	GET  /, /games/{id}, /reports, /pipeline   pages (no session: 303 to /signin)
//	GET  /signin, POST /signin                  the sign-in form (429 when
//	                                            throttled, 503 when busy or
//	                                            the session table is full)
//	POST /signout                               ends the session
//	POST /games/{id}/suspend, /games/{id}/resume
//	                                            a trader's action (JSON, CSRF
//	                                            header; see trade)
//	GET  /assets/*                              the built front end (public)
func (d *Dashboard) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(securityHeaders)
		r.Get("/signin", d.signinForm)
		r.Post("/signin", d.signin)
		r.Post("/signout", d.signout)
		r.Get("/assets/*", d.serveAsset)
		r.Post("/games/{id}/suspend", d.trade(feed.ActionSuspend))
		r.Post("/games/{id}/resume", d.trade(feed.ActionResume))
		r.Group(func(r chi.Router) {
			r.Use(d.requireSession)
			r.Get("/", d.page("board", "Live board"))
			r.Get("/games/{id}", d.page("game", "Game"))
			r.Get("/reports", d.page("reports", "Reports"))
			r.Get("/pipeline", d.page("pipeline", "Pipeline"))
		})
	})
}

// Authenticate returns the principal of a request's session cookie, with
// its Session (the session's id, as OnSessionEnd names it) and Expires. For
// state-changing methods (anything but GET, HEAD and OPTIONS) the request
// must also carry the session's CSRF token in X-CSRF-Token; without it the
// cookie does not authenticate.
func (d *Dashboard) Authenticate(r *http.Request) (auth.Principal, bool) {
	sess, ok := d.session(r)
	if !ok {
		return auth.Principal{}, false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !sess.csrfOK(r.Header.Get(CSRFHeader)) {
			return auth.Principal{}, false
		}
	}
	p := sess.p
	p.Session, p.Expires = sess.id, sess.expires
	return p, true
}

// cookieName is the session cookie's name: with Secure, the __Host- prefix
// makes browsers refuse it from a subdomain or without Secure and Path=/.
func (d *Dashboard) cookieName() string {
	if d.o.SecureCookies {
		return "__Host-oddsfeed_session"
	}
	return "oddsfeed_session"
}

func (d *Dashboard) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(d.cookieName())
	if err != nil {
		return nil, false
	}
	return d.sessions.get(c.Value)
}

func (d *Dashboard) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: d.cookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: d.o.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// requireSession redirects requests without a session to the sign-in form,
// remembering the page asked for.
func (d *Dashboard) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := d.session(r); !ok {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pageData is what the page shell template gets.
type pageData struct {
	Page, Title, GameID string
	User, Role, CSRF    string
	JS, CSS             string
	// Trade: the page offers suspend / re-open (canTrade).
	Trade bool
}

func (d *Dashboard) page(name, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := d.session(r)
		data := pageData{Page: name, Title: title, User: sess.p.Name, Role: string(sess.p.Role), CSRF: sess.csrf,
			JS: d.assetURL("app.js"), CSS: d.assetURL("app.css"), Trade: d.canTrade(sess.p)}
		if name == "game" {
			data.GameID = chi.URLParam(r, "id")
			if feed.ValidateID(data.GameID) != "" {
				http.NotFound(w, r)
				return
			}
			data.Title = "Game " + data.GameID
		}
		d.render(w, http.StatusOK, "page.html", data)
	}
}

func (d *Dashboard) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := d.pages.ExecuteTemplate(w, name, data); err != nil {
		d.log.Error("dashboard: render page", "page", name, "err", err)
	}
}

// securityHeaders sets a strict Content-Security-Policy (scripts and styles
// only from this origin, no framing) and friends on every dashboard response.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; connect-src 'self'; "+
			"frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// asset is one built front-end file, with its content hash for the
// cache-busting ?v= and the ETag.
type asset struct {
	data []byte
	hash string
}

func loadAssets(fsys fs.FS, log *slog.Logger) map[string]asset {
	out := make(map[string]asset)
	if fsys == nil {
		return out
	}
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		out[p] = asset{data: b, hash: hex.EncodeToString(sum[:8])}
		return nil
	})
	if err != nil {
		log.Error("dashboard: load assets", "err", err)
	}
	return out
}

func (d *Dashboard) assetURL(name string) string {
	return "/assets/" + name + "?v=" + d.assets[name].hash
}

// serveAsset serves a built file: cached for a year when asked for by its
// current hash (the pages always do), revalidated by ETag otherwise.
func (d *Dashboard) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	a, ok := d.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if strings.Contains(r.Header.Get("If-None-Match"), `"`+a.hash+`"`) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(a.data)))
}
