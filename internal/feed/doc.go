// Package feed holds oddsfeed's domain: games and odds, their validation, the
// single-table key scheme shared by every store adapter, the mapping between
// domain values and stored items, and the Change type that change data capture
// produces. It depends on nothing else in the module.
package feed
