package app

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oddsfeed/oddsfeed/internal/feed"
	"github.com/oddsfeed/oddsfeed/internal/store"
)

// metrics holds the server's Prometheus registry and the instruments the
// request path updates; the rest (CDC, WebSocket, sync) is read from the
// modules' own stats at scrape time, so the hot paths carry no extra work.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	odds     *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oddsfeed_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oddsfeed_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
		odds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oddsfeed_odds_written_total", Help: "Odds items posted, by outcome (stored, duplicate, conflict, not_stored).",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.odds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// middleware counts and times every request. It runs before
// authentication, so no label value comes from what a client sends: the
// route is the pattern of a route the request matched (never the raw
// path) or "unmatched", the method one of the standard ones or "other",
// the status a valid code or "other".
func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern() // from the router's own patterns
		}
		method := "other"
		if knownMethods[r.Method] {
			method = r.Method
		}
		status := "other"
		if c := ww.Status(); c >= 100 && c <= 599 {
			status = strconv.Itoa(c)
		}
		m.requests.WithLabelValues(route, method, status).Inc()
		m.latency.WithLabelValues(route, status).Observe(time.Since(start).Seconds())
	})
}

// knownMethods are the methods that are label values as they are.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodOptions: true, http.MethodConnect: true, http.MethodTrace: true,
}

// countingStore counts the outcomes of PutOdds for the odds_written metric.
type countingStore struct {
	store.FeedStore
	odds *prometheus.CounterVec
}

func (c countingStore) PutOdds(ctx context.Context, odds []feed.Odds) ([]store.Outcome, error) {
	out, err := c.FeedStore.PutOdds(ctx, odds)
	var n [4]float64
	for _, o := range out {
		if int(o) < len(n) {
			n[o]++
		}
	}
	for o, v := range n {
		if v > 0 {
			c.odds.WithLabelValues(store.Outcome(o).String()).Add(v)
		}
	}
	return out, err
}

// funcCollector turns a function that reads current values into metrics
// at scrape time.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (f funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range f.descs {
		ch <- d
	}
}

func (f funcCollector) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

// registerPipeline exports the CDC consumers', the hub's and the reporting
// sync's state.
func (m *metrics) registerPipeline(p *pipeline) {
	var (
		batches  = prometheus.NewDesc("oddsfeed_cdc_batches_total", "Change batches applied, by consumer.", []string{"consumer"}, nil)
		changes  = prometheus.NewDesc("oddsfeed_cdc_changes_total", "Changes applied, by consumer.", []string{"consumer"}, nil)
		filtered = prometheus.NewDesc("oddsfeed_cdc_filtered_total", "Duplicate or older changes dropped by the ordering guard, by consumer.", []string{"consumer"}, nil)
		bad      = prometheus.NewDesc("oddsfeed_cdc_bad_records_total", "Records that could not be decoded, by consumer.", []string{"consumer"}, nil)
		failures = prometheus.NewDesc("oddsfeed_cdc_apply_errors_total", "Failed applies (retried), by consumer.", []string{"consumer"}, nil)
		failing  = prometheus.NewDesc("oddsfeed_cdc_failing", "1 while a consumer's last apply failed and is being retried, by consumer.", []string{"consumer"}, nil)
		lag      = prometheus.NewDesc("oddsfeed_cdc_lag_milliseconds", "MillisBehindLatest of the last batch, by consumer and shard.", []string{"consumer", "shard"}, nil)
		clients  = prometheus.NewDesc("oddsfeed_websocket_clients", "Connected WebSocket clients.", nil, nil)
		sent     = prometheus.NewDesc("oddsfeed_websocket_messages_sent_total", "Messages queued to WebSocket clients.", nil, nil)
		confl    = prometheus.NewDesc("oddsfeed_websocket_conflated_total", "Odds messages dropped for slow clients by conflation.", nil, nil)
		slow     = prometheus.NewDesc("oddsfeed_websocket_slow_closed_total", "Clients closed for being too slow.", nil, nil)
		dropped  = prometheus.NewDesc("oddsfeed_websocket_dropped_total", "Queued messages discarded because their client was closed.", nil, nil)
		dead     = prometheus.NewDesc("oddsfeed_sync_dead_letters", "Unresolved dead letters of the reporting sync.", nil, nil)
	)
	m.reg.MustRegister(funcCollector{
		descs: []*prometheus.Desc{batches, changes, filtered, bad, failures, failing, lag, clients, sent, confl, slow, dropped, dead},
		collect: func(ch chan<- prometheus.Metric) {
			for _, c := range p.tailer.Stats() {
				ch <- prometheus.MustNewConstMetric(batches, prometheus.CounterValue, float64(c.Batches), c.Name)
				ch <- prometheus.MustNewConstMetric(changes, prometheus.CounterValue, float64(c.Changes), c.Name)
				ch <- prometheus.MustNewConstMetric(filtered, prometheus.CounterValue, float64(c.Filtered), c.Name)
				ch <- prometheus.MustNewConstMetric(bad, prometheus.CounterValue, float64(c.Bad), c.Name)
				ch <- prometheus.MustNewConstMetric(failures, prometheus.CounterValue, float64(c.Failures), c.Name)
				isFailing := 0.0
				if c.Failing {
					isFailing = 1
				}
				ch <- prometheus.MustNewConstMetric(failing, prometheus.GaugeValue, isFailing, c.Name)
				for shard, s := range c.Sources {
					ch <- prometheus.MustNewConstMetric(lag, prometheus.GaugeValue, float64(s.MillisBehindLatest), c.Name, shard)
				}
			}
			hs := p.hub.Stats()
			ch <- prometheus.MustNewConstMetric(clients, prometheus.GaugeValue, float64(hs.Clients))
			ch <- prometheus.MustNewConstMetric(sent, prometheus.CounterValue, float64(hs.Sent))
			ch <- prometheus.MustNewConstMetric(confl, prometheus.CounterValue, float64(hs.Conflated))
			ch <- prometheus.MustNewConstMetric(slow, prometheus.CounterValue, float64(hs.SlowClosed))
			ch <- prometheus.MustNewConstMetric(dropped, prometheus.CounterValue, float64(hs.Dropped))
			if p.rep != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if st, err := p.rep.reports.Pipeline(ctx); err == nil {
					ch <- prometheus.MustNewConstMetric(dead, prometheus.GaugeValue, float64(st.UnresolvedDeadLetters))
				}
			}
		},
	})
}
