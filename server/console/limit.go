package console

import (
	"math"
	"sync"
	"time"
)

// maxFailKeys bounds the addresses or names a failLimiter tracks at once.
const maxFailKeys = 1 << 16

// failLimiter is a token bucket per key (a client address, an account
// name) that only failures take from: rate tokens a second, up to burst.
// Unlike ratelimit.Limiter it is keyed by string and can be asked
// whether a key may try without taking a token, since only a failed
// sign-in counts.
//
// Memory is bounded as in ratelimit: refilled buckets are forgotten, and
// past maxFailKeys the table is emptied (lenient: every key starts again
// with a full bucket).
type failLimiter struct {
	rate, burst float64

	mu        sync.Mutex
	buckets   map[string]failBucket
	lastSweep time.Time
}

type failBucket struct {
	tokens float64
	last   time.Time
}

func newFailLimiter(rate float64, burst int) *failLimiter {
	return &failLimiter{rate: rate, burst: float64(max(burst, 1)), buckets: map[string]failBucket{}}
}

// bucketLocked returns key's bucket refilled to now.
func (l *failLimiter) bucketLocked(key string, now time.Time) failBucket {
	b, ok := l.buckets[key]
	if !ok {
		return failBucket{tokens: l.burst, last: now}
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	return b
}

// wait returns how long key must wait before it may try again: 0 when
// it may try now.
func (l *failLimiter) wait(key string, now time.Time) time.Duration {
	if l.rate == 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	if b.tokens >= 1 {
		return 0
	}
	secs := (1 - b.tokens) / l.rate
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// fail takes a token from key's bucket: a failed attempt.
func (l *failLimiter) fail(key string, now time.Time) {
	if l.rate == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= time.Minute {
		l.sweepLocked(now)
	}
	if _, ok := l.buckets[key]; !ok && len(l.buckets) >= maxFailKeys {
		clear(l.buckets)
	}
	b := l.bucketLocked(key, now)
	b.tokens = max(b.tokens-1, 0)
	l.buckets[key] = b
}

// sweepLocked forgets the buckets that have refilled.
func (l *failLimiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
