package ingest

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// limiter is a token bucket per provider, counted in odds items. The bucket
// map is a sync.Map (read-mostly: one entry per provider) and each bucket has
// its own mutex, so providers never contend with each other.
type limiter struct {
	rate    float64
	burst   float64
	now     func() time.Time
	buckets sync.Map // provider -> *bucket
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now}
}

// take spends n tokens of key's bucket. When there are not enough it spends
// nothing and returns how long until there will be. A request bigger than
// the bucket costs the whole bucket, so it can pass when the bucket is full.
func (l *limiter) take(key string, n int) (bool, time.Duration) {
	cost := math.Min(float64(n), l.burst)
	v, ok := l.buckets.Load(key)
	if !ok {
		v, _ = l.buckets.LoadOrStore(key, &bucket{tokens: l.burst, last: l.now()})
	}
	b := v.(*bucket)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := l.now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= cost {
		b.tokens -= cost
		return true, 0
	}
	return false, time.Duration((cost - b.tokens) / l.rate * float64(time.Second))
}

// retryAfterSeconds formats a wait as whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}
