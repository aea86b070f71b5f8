package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

func TestNewKeyAndHash(t *testing.T) {
	k1, h1 := auth.NewKey()
	k2, _ := auth.NewKey()
	if k1 == k2 {
		t.Fatal("two keys are equal")
	}
	if len(k1) != 43 || strings.ContainsAny(k1, "+/=") {
		t.Fatalf("key %q is not 32 bytes of unpadded base64url", k1)
	}
	if h1 != auth.HashKey(k1) || len(h1) != 64 {
		t.Fatalf("hash %q", h1)
	}
}

func TestParseKeyring(t *testing.T) {
	kp, hp := auth.NewKey()
	ka, ha := auth.NewKey()
	kx, hx := auth.NewKey()
	spec := "# providers\n acme:provider:" + hp + " , ana:analyst:" + strings.ToUpper(ha) + "\n\n# admins\nroot:admin:" + hx + "\n"
	k, err := auth.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 3 {
		t.Fatalf("Len = %d", k.Len())
	}
	for key, want := range map[string]auth.Principal{
		kp: {Name: "acme", Role: auth.RoleProvider},
		ka: {Name: "ana", Role: auth.RoleAnalyst},
		kx: {Name: "root", Role: auth.RoleAdmin},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		if got, ok := k.Authenticate(r); !ok || got != want {
			t.Errorf("Authenticate = %v %v, want %v", got, ok, want)
		}
	}
}

func TestParseKeyringErrors(t *testing.T) {
	_, h := auth.NewKey()
	secret, _ := auth.NewKey()
	tests := []struct {
		name, spec, wantPos string
		secrets             []string // must not appear in the error
	}{
		{"two fields", "a:provider:" + h + "\nacme:" + secret, "entry 2", []string{secret, h}},
		{"bad role", "acme:root:" + h, "entry 1", []string{h}},
		{"raw key instead of hash", "x:admin:" + h + ",acme:provider:" + secret, "entry 2", []string{secret, h}},
		{"bad hex", "acme:provider:" + strings.Repeat("z", 64), "entry 1", []string{strings.Repeat("z", 64)}},
		{"bad principal", secret[:20] + "#:provider:" + h, "entry 1", []string{secret[:20], h}},
		{"duplicate hash", "a:provider:" + h + "\n# c\nb:analyst:" + h, "entry 2", []string{h}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.ParseKeyring(tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.wantPos) {
				t.Errorf("error %q does not name %q", err, tt.wantPos)
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q echoes secret material", err)
				}
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	key, hash := auth.NewKey()
	k := auth.NewKeyring()
	k.Add(auth.Principal{Name: "acme", Role: auth.RoleProvider}, hash)
	other, _ := auth.NewKey()
	tests := []struct {
		name   string
		header map[string]string
		query  string
		want   bool
	}{
		{"bearer", map[string]string{"Authorization": "Bearer " + key}, "", true},
		{"bearer lower case", map[string]string{"Authorization": "bearer " + key}, "", true},
		{"x-api-key", map[string]string{"X-API-Key": key}, "", true},
		{"no key", nil, "", false},
		{"wrong key", map[string]string{"Authorization": "Bearer " + other}, "", false},
		{"basic scheme", map[string]string{"Authorization": "Basic " + key}, "", false},
		{"hash as key", map[string]string{"X-API-Key": hash}, "", false},
		{"query token not accepted", nil, "?access_token=" + key, false},
		{"huge key", map[string]string{"X-API-Key": strings.Repeat("a", 10000)}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/feeds"+tt.query, nil)
			for h, v := range tt.header {
				r.Header.Set(h, v)
			}
			p, ok := k.Authenticate(r)
			if ok != tt.want {
				t.Fatalf("ok = %v, want %v", ok, tt.want)
			}
			if ok && p.Name != "acme" {
				t.Fatalf("principal %v", p)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	keys := map[auth.Role]string{}
	k := auth.NewKeyring()
	for _, role := range []auth.Role{auth.RoleProvider, auth.RoleAnalyst, auth.RoleAdmin} {
		key, hash := auth.NewKey()
		keys[role] = key
		k.Add(auth.Principal{Name: string(role) + "1", Role: role}, hash)
	}
	bad, _ := auth.NewKey()
	var seen auth.Principal
	h := auth.Require(k, auth.RoleProvider)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = auth.PrincipalFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	tests := []struct {
		name      string
		key       string
		want      int
		wantName  string
		challenge string
	}{
		{"provider", keys[auth.RoleProvider], 204, "provider1", ""},
		{"admin may do everything", keys[auth.RoleAdmin], 204, "admin1", ""},
		{"analyst forbidden", keys[auth.RoleAnalyst], 403, "", ""},
		{"no key", "", 401, "", `Bearer realm="oddsfeed"`},
		{"bad key", bad, 401, "", `Bearer realm="oddsfeed", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = auth.Principal{}
			r := httptest.NewRequest(http.MethodPost, "/v1/odds", nil)
			if tt.key != "" {
				r.Header.Set("Authorization", "Bearer "+tt.key)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if seen.Name != tt.wantName {
				t.Fatalf("principal %q, want %q", seen.Name, tt.wantName)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if tt.want >= 400 {
				var p struct {
					Status int    `json:"status"`
					Title  string `json:"title"`
				}
				if rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tt.want {
					t.Fatalf("problem %s (%v)", rec.Body, err)
				}
				if tt.key != "" && strings.Contains(rec.Body.String(), tt.key) {
					t.Fatal("the response echoes the key")
				}
			}
		})
	}
}

func TestPrincipalFromEmpty(t *testing.T) {
	if _, ok := auth.PrincipalFrom(httptest.NewRequest(http.MethodGet, "/", nil).Context()); ok {
		t.Fatal("principal in an empty context")
	}
}
