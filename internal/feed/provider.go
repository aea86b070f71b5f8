package feed

import "time"

// ProviderState is whether a provider is being heard.
type ProviderState string

// The states of a provider.
const (
	ProviderUp   ProviderState = "up"
	ProviderDown ProviderState = "down"
)

// HeardGranularity is how often a provider's LastHeard is written at most:
// a provider posting ten times a second does not write its liveness item
// ten times a second.
const HeardGranularity = time.Second

// ProviderStatus is the liveness of one provider: an item of its own
// (ProviderKey), written when the provider is heard (odds or a heartbeat,
// at most every HeardGranularity) and when a replica decides it is down.
type ProviderStatus struct {
	Provider  string        `json:"provider"`
	State     ProviderState `json:"status"`
	LastHeard time.Time     `json:"lastHeard"`
	// DownAt is when the provider was last marked down (zero: never).
	// Its quotes received before DownAt stay suspended, even after it is
	// heard again, until it quotes again (clients judge it: a quote whose
	// receivedAt is before its provider's downAt; docs/protocol.md).
	DownAt time.Time `json:"downAt,omitzero"`
	// DecidedBy names the replica that marked it down.
	DecidedBy string `json:"decidedBy,omitempty"`
	// Version is set by the store: 1 on creation, +1 per change.
	Version int64 `json:"version"`
}

// Heard is the rule both adapters record a provider being heard at by:
// next is the status to store when write is true. A provider that is down
// comes up; one that is up has LastHeard moved forward at most once per
// HeardGranularity; a provider never heard is created up.
func Heard(cur ProviderStatus, found bool, provider string, at time.Time) (next ProviderStatus, write bool) {
	if !found {
		return ProviderStatus{Provider: provider, State: ProviderUp, LastHeard: at, Version: 1}, true
	}
	if cur.State == ProviderUp && at.Sub(cur.LastHeard) < HeardGranularity {
		return cur, false
	}
	if cur.State == ProviderDown && at.Before(cur.DownAt) {
		return cur, false
	}
	next = cur
	next.State, next.Version = ProviderUp, cur.Version+1
	if at.After(cur.LastHeard) {
		next.LastHeard = at
	}
	return next, true
}

// MarkDown is the rule a replica marks a provider down by: only when it is
// up and nothing was heard since lastHeard (the LastHeard the replica
// judged silent), so a provider heard in the meantime stays up.
func MarkDown(cur ProviderStatus, found bool, lastHeard, at time.Time, by string) (next ProviderStatus, write bool) {
	if !found || cur.State != ProviderUp || !cur.LastHeard.Equal(lastHeard) {
		return cur, false
	}
	next = cur
	next.State, next.DownAt, next.DecidedBy, next.Version = ProviderDown, at, by, cur.Version+1
	return next, true
}

// Lease is a time-limited claim, by one replica, to a job only one replica
// may do at a time (deciding provider liveness). It is an item (LeaseKey)
// written conditionally: absent, expired, or already its holder's.
type Lease struct {
	Name    string    `json:"name"`
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}
