package auth_test

import (
	"net/http/httptest"
	"testing"

	"github.com/oddsfeed/oddsfeed/internal/auth"
)

// TestTraderRole: trader is a role of the keyring; it passes the routes
// that list it (and no others).
func TestTraderRole(t *testing.T) {
	key, hash := auth.NewKey()
	k, err := auth.ParseKeyring("tess:trader:" + hash)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	p, ok := k.Authenticate(r)
	if !ok || p.Role != auth.RoleTrader || p.Name != "tess" || !p.Role.Valid() {
		t.Fatalf("%+v %v", p, ok)
	}
	if !p.Role.Allows(auth.RoleAnalyst, auth.RoleTrader) || p.Role.Allows(auth.RoleAnalyst) || p.Role.Allows(auth.RoleProvider) {
		t.Fatal("trader allowed where it is not listed, or refused where it is")
	}
	if _, err := auth.ParseKeyring("x:dealer:" + hash); err == nil || err.Error() != "parse keyring: entry 1: role must be one of provider, analyst, trader, admin" {
		t.Fatalf("unknown role: %v", err)
	}
}
