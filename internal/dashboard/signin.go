package dashboard

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

// maxFormBytes bounds the sign-in and sign-out forms.
const maxFormBytes = 8 << 10

// signinData is what the sign-in template gets.
type signinData struct {
	Next, Error, Username, Method string
	CSS                           string
}

func (d *Dashboard) signinForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.session(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	d.render(w, http.StatusOK, "signin.html", signinData{Next: safeNext(r.URL.Query().Get("next")), Method: "password", CSS: d.assetURL("app.css")})
}

// signin checks a username and password or an API key and starts a
// session. Cross-site posts are refused (Origin / Sec-Fetch-Site), so no
// other site can sign a browser in to an account of its choosing. Failures
// are throttled per username and per client address (429 before any
// check); password checks wait for a hashing slot at most hashWait (then
// 503); a full session table refuses too (503). Refusals past the
// credentials carry Retry-After.
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site sign-in refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	data := signinData{Next: safeNext(r.PostForm.Get("next")), Method: "password", CSS: d.assetURL("app.css")}
	key, user := strings.TrimSpace(r.PostForm.Get("apikey")), ""
	if key != "" {
		data.Method = "apikey"
	} else if data.Username = strings.TrimSpace(r.PostForm.Get("username")); data.Username != "" {
		user = userKey(data.Username)
	}
	att, wait := d.throttle.begin(clientAddr(r), user)
	if att == nil {
		d.log.Warn("dashboard: sign-in throttled", "method", data.Method, "remote", r.RemoteAddr)
		data.Error = "Too many failed sign-ins: try again in " + waitText(wait) + "."
		d.refuse(w, http.StatusTooManyRequests, wait, data)
		return
	}
	var p auth.Principal
	var ok bool
	if key != "" {
		p, ok = d.o.Keys.Authenticate(&http.Request{Header: http.Header{"Authorization": {"Bearer " + key}}})
		if ok && p.Role == auth.RoleProvider {
			ok = false
		}
		data.Error = "That API key is not an analyst's, trader's or admin's key."
	} else {
		var checked bool
		p, ok, checked = d.checkUser(r, data.Username, r.PostForm.Get("password"))
		if !checked {
			d.throttle.abandoned(att)
			data.Error = "The server is busy: try again in a moment."
			d.refuse(w, http.StatusServiceUnavailable, time.Second, data)
			return
		}
		data.Error = "Wrong username or password."
	}
	if !ok {
		d.log.Info("dashboard: sign-in refused", "method", data.Method, "remote", r.RemoteAddr)
		d.render(w, http.StatusUnauthorized, "signin.html", data)
		return
	}
	d.throttle.succeeded(att)
	if old, err := r.Cookie(d.cookieName()); err == nil {
		d.sessions.delete(old.Value)
	}
	sess, wait, err := d.sessions.create(p)
	if err != nil {
		d.log.Warn("dashboard: sign-in refused: the session table is full", "principal", p.Name)
		data.Error = "Too many people are signed in: try again in " + waitText(wait) + "."
		d.refuse(w, http.StatusServiceUnavailable, wait, data)
		return
	}
	d.setCookie(w, sess.key, int(d.o.SessionTTL.Seconds()))
	d.log.Info("dashboard: signed in", "principal", p.Name, "role", p.Role, "method", data.Method)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

// refuse answers the sign-in form with an error, a status and Retry-After.
func (d *Dashboard) refuse(w http.ResponseWriter, status int, wait time.Duration, data signinData) {
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	d.render(w, status, "signin.html", data)
}

// retrySeconds is a Retry-After of wait: whole seconds, rounded up, >= 1.
func retrySeconds(wait time.Duration) int {
	return max(1, int((wait+time.Second-1)/time.Second))
}

func waitText(wait time.Duration) string {
	if s := retrySeconds(wait); s < 120 {
		return strconv.Itoa(s) + " seconds"
	}
	return strconv.Itoa(int(math.Ceil(wait.Minutes()))) + " minutes"
}

// checkUser verifies a username and password. An unknown username costs
// the same hashing as a known one. checked is false when no hashing slot
// freed up within hashWait (or the request ended): nothing was checked.
func (d *Dashboard) checkUser(r *http.Request, name, pw string) (p auth.Principal, ok, checked bool) {
	timer := time.NewTimer(d.hashWait)
	defer timer.Stop()
	select {
	case d.hashing <- struct{}{}:
		defer func() { <-d.hashing }()
	case <-timer.C:
		return auth.Principal{}, false, false
	case <-r.Context().Done():
		return auth.Principal{}, false, false
	}
	u, known := d.o.Users[name]
	if !known {
		checkPassword(d.dummyHash(), pw)
		return auth.Principal{}, false, true
	}
	return u.Principal, checkPassword(u.PasswordHash, pw), true
}

// signout ends the session. It needs the session's CSRF token (form field
// csrf or the X-CSRF-Token header) and a same-origin request.
func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site sign-out refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	_ = r.ParseForm()
	if c, err := r.Cookie(d.cookieName()); err == nil {
		if sess, ok := d.sessions.get(c.Value); ok {
			token := r.PostForm.Get("csrf")
			if token == "" {
				token = r.Header.Get(CSRFHeader)
			}
			if !sess.csrfOK(token) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
			d.sessions.delete(c.Value)
			d.log.Info("dashboard: signed out", "principal", sess.p.Name)
		}
	}
	d.setCookie(w, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// sameOrigin reports whether a browser request comes from this origin: its
// Origin header, when sent, names this host; otherwise Sec-Fetch-Site, when
// sent, is same-origin or none (typed in). Requests with neither (not from
// a browser) carry no ambient credentials, so they are let through.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && o != "null" && strings.EqualFold(u.Host, r.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// safeNext keeps a post-sign-in redirect on this site: a plain path that
// starts with a single "/" (not "//" nor "/\"), with no backslash, control
// character or whitespace anywhere (browsers drop tabs and newlines from
// URLs, so "/\t/evil.com" would be "//evil.com"), none after one more
// percent-decoding either, and never back to the sign-in form. Anything
// else is "/".
func safeNext(next string) string {
	if !plainPath(next) || strings.HasPrefix(next, "/signin") {
		return "/"
	}
	if dec, err := url.PathUnescape(next); err != nil || !plainPath(dec) {
		return "/"
	}
	return next
}

func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || !utf8.ValidString(p) {
		return false
	}
	for _, c := range p {
		if c == '\\' || c <= ' ' || c == 0x7f || unicode.IsSpace(c) || unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Opaque == "" && u.User == nil
}
