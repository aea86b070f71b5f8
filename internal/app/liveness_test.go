package app_test

import (
	"maps"
	"strings"
	"testing"
	"time"
)

// TestLivenessTwoReplicas runs two replicas on one DynamoDB table: exactly
// one decides providers' liveness at a time, every silence is decided once,
// both replicas' clients are told, and when the deciding replica stops the
// other takes over.
func TestLivenessTwoReplicas(t *testing.T) {
	k := newKeys()
	vars := backends(t, k)["aws"]
	provisionStream(t, vars)
	delete(vars, "ODDSFEED_DEV_BRIDGE")
	runBridge(t, vars)
	vars["ODDSFEED_PROVIDER_TIMEOUT"] = "1s"
	base, logs, stop := map[string]string{}, map[string]*syncBuffer{}, map[string]func() error{}
	for _, name := range []string{"replicaA", "replicaB"} {
		v := maps.Clone(vars)
		v["ODDSFEED_REPLICA_ID"], v["ODDSFEED_DATA_DIR"] = name, t.TempDir()
		base[name], logs[name], stop[name] = runServeLogged(t, v)
	}
	// Both replicas read the stream (from LATEST) before anything is posted.
	for name, b := range base {
		eventually(t, 30*time.Second, name+" ready", func() bool { return client{t, b, ""}.do("GET", "/readyz", nil, nil) == 200 })
	}
	var conns = map[string]func(what string, match func(liveFrame) bool) liveFrame{}
	for name, b := range base {
		c := dial(t, b, "", k.analyst)
		conns[name] = func(what string, match func(liveFrame) bool) liveFrame {
			return readUntil(t, c, 15*time.Second, name+": "+what, match)
		}
	}
	state := func(s string) func(liveFrame) bool {
		return func(f liveFrame) bool {
			return f.Type == "provider" && f.Provider.Provider == "acme" && f.Provider.Status == s
		}
	}
	var providers struct{ Providers []providerJSON }
	deciders := map[string]bool{}
	for cycle := range 3 {
		// Heard on either replica; then silent until one decides.
		client{t, base[[]string{"replicaA", "replicaB"}[cycle%2]], k.provider}.want(200, "POST", "/v1/heartbeat", nil, nil)
		for name, read := range conns {
			read("acme up", state("up"))
			down := read("acme down", state("down"))
			if name == "replicaA" {
				deciders[down.Provider.DecidedBy] = true
			}
		}
	}
	client{t, base["replicaA"], k.analyst}.want(200, "GET", "/v1/providers", nil, &providers)
	if len(providers.Providers) != 1 || providers.Providers[0].Version != 6 || providers.Providers[0].Status != "down" {
		t.Fatalf("after 3 silences: %+v, want version 6 (up, down, up, down, up, down)", providers.Providers)
	}
	if len(deciders) != 1 {
		t.Fatalf("silences decided by %v, want one replica", deciders)
	}
	var holder, other string
	for name := range deciders {
		holder = name
	}
	other = map[string]string{"replicaA": "replicaB", "replicaB": "replicaA"}[holder]
	const decides = "this replica decides providers' liveness"
	if strings.Contains(logs[other].String(), decides) {
		t.Fatalf("%s decided too while %s held the lease:\n%s", other, holder, logs[other].String())
	}
	if n := strings.Count(logs[holder].String(), `"msg":"liveness: provider down"`); n != 3 {
		t.Fatalf("%s logged %d decisions, want 3", holder, n)
	}

	// The deciding replica stops: the other takes the lease over and
	// decides the next silence.
	if err := stop[holder](); err != nil {
		t.Fatal(err)
	}
	client{t, base[other], k.provider}.want(200, "POST", "/v1/heartbeat", nil, nil)
	conns[other]("acme up after the takeover", state("up"))
	down := conns[other]("acme down after the takeover", state("down"))
	if down.Provider.DecidedBy != other {
		t.Fatalf("after %s stopped, decided by %q, want %s", holder, down.Provider.DecidedBy, other)
	}
}
