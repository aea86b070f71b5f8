// Package broadcast is the WebSocket hub behind GET /v1/stream: it pushes
// odds (quotes of every market), market statuses, game changes and
// providers' liveness to analysts.
//
// Protocol (JSON text frames). Every connection first gets
//
//	{"type":"providers","epoch":"..","seq":N,"providers":[every provider's liveness]}
//
// and then, whatever it subscribes to, each change of a provider's
// liveness as {"type":"provider","epoch":"..","seq":N+1,"provider":{..}}
// (the hub's provider seq, dense, its own counter; status.go). A client
// sends
//
//	{"type":"subscribe","topics":["all","sport:soccer","game:g1"],"since":{"g1":42},"epoch":"...",
//	 "sinceTime":{"g1":"2026-11-23T12:00:00.123456789Z"}}
//	{"type":"unsubscribe","topics":["game:g1"]}
//
// and receives, for every game a subscription newly covers, a snapshot
//
//	{"type":"snapshot","epoch":"..","gameId":"g1","seq":N,"odds":[latest per provider, market and period],
//	 "markets":[the game's market statuses],"game":{..}}
//
// (with "reset":true when a `since` or `sinceTime` for that game could not
// be honoured), or, when `since` names a seq still in the game's history
// ring and the epoch matches, the missed messages instead.
//
// sinceTime (optional, per game) is the observedAt of the newest odds the
// client has. When the ring cannot replay since (another epoch: the server
// restarted; or too old), the reset snapshot also carries
//
//	"missed":[every odds of the game observed after sinceTime, oldest first]
//
// read from the feed store, so a reconnecting client misses nothing, even
// across a restart. At most Options.MissedLimit (5000) are sent, the newest;
// "truncated":true says some (the oldest) were left out, or that the store
// could not be read: the REST odds listing has them. Odds of the game
// published after the snapshot follow live; a live copy of an odds already
// in missed (or in a snapshot read from the store before the stream
// delivered it) is not sent again (for Options.DedupeWindow): the client gets
// {"type":"seen","epoch":"..","gameId":"g1","seq":N} in its place. Games named in sinceTime are covered by `all`
// even when this hub has not seen them yet. Then, per change:
//
//	{"type":"odds","epoch":"..","gameId":"g1","seq":N,"odds":{..},"late":true,"correction":true}
//	{"type":"market","epoch":"..","gameId":"g1","seq":N,"market":{..}}
//	{"type":"game","epoch":"..","gameId":"g1","seq":N,"game":{..}}
//
// seq is per game, dense within one epoch (one hub lifetime), from 1 or
// from above the seqs of the games dropped from memory (prune.go). A bad
// request gets {"type":"error","epoch":"..","message":".."}. Every odds
// version the stream delivers is pushed once, in the order it arrives:
// "late" (omitted when false) marks one older than the newest the hub had
// for its series (feed.Odds.QuoteID: game, provider, market, period), which
// is not the current price; "correction" marks a version after the first of
// the same (game, provider, market, period, observedAt). Every market
// status version is pushed once too, with its game's seq.
// docs/protocol.md is the protocol for client authors.
//
// A connection made with ?client=<id> is an AWS reference client: it is
// subscribed to all and gets each version of a full-game spread as exactly
// {"gameId","away","home","awayOdds","homeOdds","date"} (date: the item's
// CREATED, epoch seconds), nothing else.
//
// Every message is encoded once and the same bytes are queued to every
// client. Each client has a writer goroutine and a queue bounded in bytes:
// past Options.QueueBytes its queued odds are conflated to the newest per
// series (a seq gap tells the client; it may resubscribe with since), past
// Options.HardQueueBytes it is closed with StatusPolicyViolation and
// "client too slow". Publish never waits on a client.
//
// The hub knows a game's sport from the game changes it has seen; odds of a
// game whose game change it has not seen reach `all` and `game:` only.
// History is dropped when a game closes; idle games are dropped from memory
// (prune.go), keeping seqs unique within the epoch.
//
// Limits (limits.go): topics per connection and per principal, and streams
// per principal (the auth.Principal of the request context); a token
// bucket of requests per connection (a flooding one is closed with
// StatusPolicyViolation); the store reads and the bytes of replays and
// missed odds of one subscribe, checked before any store work (past them,
// snapshots are "truncated"). A stream is closed when its credential
// expires (auth.Principal.Expires) or its dashboard session ends
// (CloseSession).
package broadcast
