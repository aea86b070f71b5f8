// Package broadcast is the WebSocket hub behind GET /v1/stream: it pushes
// odds and game changes to analysts.
//
// Protocol (JSON text frames). A client sends
//
//	{"type":"subscribe","topics":["all","sport:soccer","game:g1"],"since":{"g1":42},"epoch":"..."}
//	{"type":"unsubscribe","topics":["game:g1"]}
//
// and receives, for every game a subscription newly covers, a snapshot
//
//	{"type":"snapshot","epoch":"..","gameId":"g1","seq":N,"odds":[latest per provider],"game":{..}}
//
// (with "reset":true when a `since` for that game could not be honoured),
// or, when `since` names a seq still in the game's history ring and the
// epoch matches, the missed messages instead. Then, per change:
//
//	{"type":"odds","epoch":"..","gameId":"g1","seq":N,"odds":{..}}
//	{"type":"game","epoch":"..","gameId":"g1","seq":N,"game":{..}}
//
// seq is per game, dense from 1 within one epoch (one hub lifetime). A bad
// request gets {"type":"error","epoch":"..","message":".."}.
//
// A connection made with ?client=<id> is an AWS reference client: it is
// subscribed to all and gets each odds INSERT as exactly
// {"gameId","away","home","awayOdds","homeOdds","date"}, nothing else.
//
// Every message is encoded once and the same bytes are queued to every
// client. Each client has a writer goroutine and a queue bounded in bytes:
// past Options.QueueBytes its queued odds are conflated to the newest per
// game (a seq gap tells the client; it may resubscribe with since), past
// Options.HardQueueBytes it is closed with StatusPolicyViolation and
// "client too slow". Publish never waits on a client.
//
// The hub knows a game's sport from the game changes it has seen; odds of a
// game whose game change it has not seen reach `all` and `game:` only.
// History is dropped when a game closes.
package broadcast
