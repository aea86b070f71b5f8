package dashboard

import (
	"net/http"
	"net/url"
	"strings"

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
// other site can sign a browser in to an account of its choosing.
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
	var p auth.Principal
	var ok bool
	if key := strings.TrimSpace(r.PostForm.Get("apikey")); key != "" {
		data.Method = "apikey"
		p, ok = d.o.Keys.Authenticate(&http.Request{Header: http.Header{"Authorization": {"Bearer " + key}}})
		if ok && p.Role == auth.RoleProvider {
			ok = false
		}
		data.Error = "That API key is not an analyst's or admin's key."
	} else {
		data.Username = strings.TrimSpace(r.PostForm.Get("username"))
		p, ok = d.checkUser(r, data.Username, r.PostForm.Get("password"))
		data.Error = "Wrong username or password."
	}
	if !ok {
		d.log.Info("dashboard: sign-in refused", "method", data.Method, "remote", r.RemoteAddr)
		d.render(w, http.StatusUnauthorized, "signin.html", data)
		return
	}
	if old, err := r.Cookie(d.cookieName()); err == nil {
		d.sessions.delete(old.Value)
	}
	id, _ := d.sessions.create(p)
	d.setCookie(w, id, int(d.o.SessionTTL.Seconds()))
	d.log.Info("dashboard: signed in", "principal", p.Name, "role", p.Role, "method", data.Method)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

// checkUser verifies a username and password. An unknown username costs
// the same hashing as a known one.
func (d *Dashboard) checkUser(r *http.Request, name, pw string) (auth.Principal, bool) {
	select {
	case d.hashing <- struct{}{}:
		defer func() { <-d.hashing }()
	case <-r.Context().Done():
		return auth.Principal{}, false
	}
	u, known := d.o.Users[name]
	if !known {
		checkPassword(d.dummyHash(), pw)
		return auth.Principal{}, false
	}
	return u.Principal, checkPassword(u.PasswordHash, pw)
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

// safeNext keeps a post-sign-in redirect on this site: a path, never a
// scheme-relative or absolute URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/signin") {
		return "/"
	}
	return next
}
