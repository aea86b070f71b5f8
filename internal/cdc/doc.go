// Package cdc is oddsfeed's change data capture: the ChangeSource port that
// the Kinesis shard reader (cdc/kinesis) and the embedded store's change log
// (LogSource) implement, the decoder and encoder of "Kinesis Data Streams for
// DynamoDB" records, the per-item ordering and de-duplication Guard, and the
// Tailer that fans the stream out to consumers (WebSocket broadcast, Postgres
// reporting), each at its own position.
//
// # Delivery
//
// Sources deliver at least once: a batch may be seen twice (a Kinesis record
// written twice, a crash before a checkpoint, a redelivery after an Apply
// error) and, across shards, changes to one item may arrive out of order.
// Consumers that need exactly-once effects persist the item versions they
// applied (reporting does, in Postgres); consumers that only need "never go
// backwards" in memory use a Guard (broadcast does).
package cdc
