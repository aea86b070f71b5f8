package simulate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/feed"
)

// fakeServer answers the games and odds API as the server would for
// ownership: a game's first writer owns it; others' writes are 403, odds
// for unknown games 422.
type fakeServer struct {
	mu     sync.Mutex
	owner  map[string]string // game -> key
	status map[string][]feed.GameStatus
	quoted map[string]map[string]bool // game -> keys that posted odds
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/games/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/games/")
		var g feed.Game
		if err := json.NewDecoder(r.Body).Decode(&g); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		g.ID = id
		if errs := g.Validate(); len(errs) > 0 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		if o, ok := f.owner[id]; ok && o != key {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		f.owner[id] = key
		f.status[id] = append(f.status[id], g.Status)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/odds":
		var body struct{ Odds []feed.Odds }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for _, o := range body.Odds {
			o.Provider = "p"
			if _, ok := f.owner[o.GameID]; !ok || len(o.Validate(time.Now())) > 0 {
				w.WriteHeader(http.StatusUnprocessableEntity)
				return
			}
			if f.quoted[o.GameID] == nil {
				f.quoted[o.GameID] = map[string]bool{}
			}
			f.quoted[o.GameID][key] = true
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"stored": len(body.Odds)})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestLiveThroughTheAPI: Live creates and moves each game on with its
// owner's key and posts every provider's odds for games that exist.
func TestLiveThroughTheAPI(t *testing.T) {
	f := &fakeServer{owner: map[string]string{}, status: map[string][]feed.GameStatus{}, quoted: map[string]map[string]bool{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	providers := make([]Provider, len(DefaultProviders))
	for i, p := range DefaultProviders {
		p.Key = "key-" + p.Name
		providers[i] = p
	}
	res, err := Live(context.Background(), Options{BaseURL: srv.URL, Providers: providers, Games: 6, Rate: 100,
		LiveFor: 2 * time.Second, Duration: 4 * time.Second, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, %d odds, %d game writes, %d corrections, %d late", res.Requests, res.Odds, res.GameWrites, res.Corrections, res.Late)
	if res.Failed > 0 || res.Odds == 0 || res.Dropped > 0 {
		t.Errorf("%d requests failed, %d odds acknowledged, %d dropped", res.Failed, res.Odds, res.Dropped)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	closed, owners, full := 0, map[string]bool{}, 0
	for id, ss := range f.status {
		owners[f.owner[id]] = true
		if ss[len(ss)-1] == feed.StatusClosed {
			closed++
		}
		if len(f.quoted[id]) == len(providers) {
			full++
		}
	}
	if closed == 0 || len(owners) != len(providers) || full == 0 {
		t.Errorf("%d games closed, owners %v, %d games quoted by every provider", closed, owners, full)
	}
}
