// Package reporting keeps the Postgres reporting schema in step with the feed
// store and serves the analysts' reports from it.
//
//   - Migrate runs the goose migrations embedded from the top-level
//     migrations directory.
//   - Sync is the cdc.Consumer that applies each change batch in one
//     transaction with its shard's checkpoint: set-based, forward-only
//     upserts (by item version and observation time), so replays and
//     out-of-order deliveries change nothing. A record that cannot be
//     applied is isolated by splitting the batch and parked in dead_letters;
//     Replay re-applies parked records. Each shard is synced by one replica
//     at a time (a session-level advisory lock).
//   - Partitions keeps the day partitions of odds_ticks: created ahead and on
//     demand, dropped after the retention period. Ticks observed before the
//     oldest day kept (backdated odds) go to the one archive partition
//     instead, emptied by the next maintenance run (archive.go).
//   - Retention (Partitions.Expire, expire.go): quotes are kept for the
//     retention, by observation time. Each maintenance run (every
//     MaintainInterval: a quarter of the retention, 250ms to 1h) drops the
//     day partitions that ended before the cutoff, then deletes the rows
//     older than it left in the cutoff's day partition and the archive, and
//     the latest_odds rows whose newest quote is older, in batches (at most
//     DefaultExpireBatch rows a statement, no long locks). So a retention
//     shorter than a day works (the server's default is the odds TTL when
//     that is shorter than 720h). Only quotes expire: market status
//     history, settlements and provider outages are not odds, and nothing
//     deletes them.
//   - Backfill loads a whole feed store through a Scanner, resumably.
//   - Reports serves the reports HTTP API from sqlc queries (package db,
//     generated from the top-level sql directory; never edit it by hand).
//
// Versions: a provider's correction of an odds is the item's next version
// (a MODIFY change); odds_ticks keeps one row per version (its key ends with
// the version), so a correction is inserted, never overwrites, and any
// delivery order of the versions ends with the same rows. latest_odds moves
// forward by (observed_at, observed_ns, version). Line movement and movers
// read the newest version of each observation; provider volume counts every
// version.
//
// Markets: odds_ticks and latest_odds hold quotes of every market and
// period (columns market, period, line, draw_odds, over_odds, under_odds;
// migration 00005 made the existing rows full-game spreads); latest_odds
// keeps one row per game, provider, market and period. The TYPE=MARKET
// items (feed.MarketStatus) become markets (current, by version),
// market_status_history (one row per version) and settlements (one row per
// version that settled or cancelled, ended by the next version: a rollback
// or a cancellation); the TYPE=PROVIDER items (feed.ProviderStatus) become
// provider_outages, keyed by the item's DownAt and ended at the earliest
// LastHeard of the versions after it, so any delivery order gives the same
// rows (marketrows.go, sql/markets.sql). TYPE=LEASE changes are skipped.
// The market reports (marketreports.go): time suspended per game, market
// and reason; provider outages; settlement summary; margin per market type
// and provider.
//
// Deletions: a TTL expiry (Change.Expired) never deletes report rows (the
// retention above does, on its own clock). A
// user's REMOVE of odds deletes the tick, all its versions (and refreshes
// latest_odds from the ticks left); a user's REMOVE of a game (or of a
// market status) marks it deleted (deleted_at),
// keeping its version so that an older change arriving late cannot bring it
// back.
package reporting
