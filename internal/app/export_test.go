package app

import (
	"net/http"

	"github.com/oddsfeed/oddsfeed/internal/broadcast"
	"github.com/oddsfeed/oddsfeed/internal/cdc"
)

// HubMetricsHandler is a /metrics handler wired to hub as the server wires
// its own (registerPipeline), with no change stream consumers: for tests
// that need hub options the server does not expose (small queue bounds).
func HubMetricsHandler(hub *broadcast.Hub) http.Handler {
	m := newMetrics()
	m.registerPipeline(&pipeline{tailer: cdc.NewTailer(nil, cdc.TailerOptions{}), hub: hub})
	return m.handler()
}
