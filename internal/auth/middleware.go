package auth

import (
	"context"
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/httpx"
)

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// PrincipalFrom returns the principal Require put in the request context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Allows reports whether a principal of role r may use a route open to
// roles. Admin may use every route.
func (r Role) Allows(roles ...Role) bool {
	if r == RoleAdmin {
		return true
	}
	for _, want := range roles {
		if r == want {
			return true
		}
	}
	return false
}

// Authenticator finds the principal of a request: API keys (Keyring), the
// dashboard's session cookies.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, bool)
}

// Require authenticates every request against k and admits only principals
// with one of roles (admin always). No key or an unknown key gets 401 with
// "WWW-Authenticate: Bearer"; a known key of another role gets 403. Both are
// problem+json. The admitted principal is in the request context
// (PrincipalFrom).
func Require(k *Keyring, roles ...Role) func(http.Handler) http.Handler {
	return RequireAny([]Authenticator{k}, roles...)
}

// RequireAny is Require with several authenticators: the first that knows
// the request decides (403 when its principal's role is not allowed).
func RequireAny(auths []Authenticator, roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var p Principal
			ok := false
			for _, a := range auths {
				if p, ok = a.Authenticate(r); ok {
					break
				}
			}
			if !ok {
				challenge := `Bearer realm="oddsfeed"`
				detail := "an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)"
				if presentedKey(r) != "" || r.Header.Get("Authorization") != "" {
					challenge = `Bearer realm="oddsfeed", error="invalid_token"`
					detail = "the API key is not valid"
				}
				w.Header().Set("WWW-Authenticate", challenge)
				httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeUnauthorized, Status: http.StatusUnauthorized, Detail: detail})
				return
			}
			if !p.Role.Allows(roles...) {
				httpx.WriteProblem(w, r, httpx.Problem{Type: httpx.TypeForbidden, Status: http.StatusForbidden,
					Detail: "the " + string(p.Role) + " role may not use this endpoint"})
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}
