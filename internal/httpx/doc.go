// Package httpx holds the HTTP plumbing every oddsfeed handler shares: RFC
// 9457 problem details (application/problem+json), a JSON writer, the one
// table that maps error kinds to HTTP statuses, and a size-limited request
// body reader.
package httpx
