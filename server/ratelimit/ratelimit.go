// Package ratelimit keeps one source from starving the others: a token
// bucket per source address (a PPTP client's public address, a RADIUS
// NAS), Rate tokens a second up to Burst, one token per request.
//
// A request that finds its bucket empty is refused and counted; the
// caller drops it (RADIUS: no answer, the NAS retransmits later) or
// refuses it plainly (PPTP: the call is not accepted). Sources share
// nothing, so a flood from one address leaves every other address its
// whole rate: fairness between sources, not a global cap (the front
// doors' in-flight bounds are that).
//
// Memory is bounded: buckets that have refilled are forgotten every
// minute, and past MaxSources addresses the table is emptied (every
// source starts again with a full bucket: lenient, never a lock-out of
// innocent sources). Allow does not allocate once an address has a
// bucket.
package ratelimit

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// MaxSources bounds the addresses tracked at once.
const MaxSources = 1 << 16

// sweepEvery is how often full buckets are forgotten.
const sweepEvery = time.Minute

// Limiter is a token bucket per source address. A nil *Limiter allows
// everything. It is safe for concurrent use.
type Limiter struct {
	rate, burst float64

	mu        sync.Mutex
	buckets   map[netip.Addr]bucket
	lastSweep time.Time

	allowed, refused atomic.Uint64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter of rate requests a second per source, with bursts
// of up to burst (at least 1). A rate of 0 or less returns nil: no limit.
func New(rate float64, burst int) *Limiter {
	if rate <= 0 {
		return nil
	}
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), buckets: map[netip.Addr]bucket{}}
}

// Allow takes a token from a's bucket at now and reports whether there
// was one.
func (l *Limiter) Allow(a netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweepLocked(now)
	}
	b, ok := l.buckets[a]
	if !ok {
		if len(l.buckets) >= MaxSources {
			clear(l.buckets)
		}
		b = bucket{tokens: l.burst, last: now}
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	l.buckets[a] = b
	l.mu.Unlock()
	if allowed {
		l.allowed.Add(1)
	} else {
		l.refused.Add(1)
	}
	return allowed
}

// sweepLocked forgets the buckets that have refilled: a new bucket would
// be the same.
func (l *Limiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for a, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, a)
		}
	}
}

// Refused returns how many requests were refused; Allowed how many were
// not.
func (l *Limiter) Refused() uint64 {
	if l == nil {
		return 0
	}
	return l.refused.Load()
}

// Allowed returns how many requests were allowed.
func (l *Limiter) Allowed() uint64 {
	if l == nil {
		return 0
	}
	return l.allowed.Load()
}

// Sources returns how many addresses have a bucket.
func (l *Limiter) Sources() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
