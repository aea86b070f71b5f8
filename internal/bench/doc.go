// Package bench holds oddsfeed's end-to-end benchmarks: they start the real
// server and drive it over HTTP. Run them with `make bench`; they print
// figures (odds/s, latency percentiles) rather than assert timings.
package bench
