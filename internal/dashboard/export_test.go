package dashboard

import "time"

// Test hooks for the external tests (package dashboard_test).

// HashPasswordIter is HashPassword with a work factor: the tests' users
// hash at MinIterations, so sign-ins are cheap.
var HashPasswordIter = hashPassword

// MinIterations is the lowest work factor ParseUsers accepts.
const MinIterations = minIterations

// SetMaxSessions sets the session table's bound (maxSessions).
func (d *Dashboard) SetMaxSessions(n int) {
	d.sessions.mu.Lock()
	d.sessions.max = n
	d.sessions.mu.Unlock()
}

// SetHashWait sets how long a password sign-in waits for a hashing slot.
func (d *Dashboard) SetHashWait(w time.Duration) { d.hashWait = w }

// FillHashing takes every hashing slot, as slow hashes in progress would;
// release gives them back.
func (d *Dashboard) FillHashing() (release func()) {
	n := cap(d.hashing)
	for range n {
		d.hashing <- struct{}{}
	}
	return func() {
		for range n {
			<-d.hashing
		}
	}
}
