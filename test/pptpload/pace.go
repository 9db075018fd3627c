package pptpload

import (
	"time"
)

// Pacer spreads events (session set-ups, packets) evenly at a rate per
// second, in batches: Due says how many are owed at a given time, so a
// sender need not sleep between two packets.
type Pacer struct {
	rate  float64 // per second; 0 is as fast as possible
	start time.Time
	done  uint64
	burst int
}

// NewPacer paces at rate events a second from start. A rate of 0 or less
// means no pacing: Due always returns burst.
func NewPacer(rate float64, start time.Time, burst int) *Pacer {
	if burst < 1 {
		burst = 1
	}
	return &Pacer{rate: rate, start: start, burst: burst}
}

// Due returns how many events are owed at now (at most burst), and marks
// them done.
func (p *Pacer) Due(now time.Time) int {
	if p.rate <= 0 {
		p.done += uint64(p.burst)
		return p.burst
	}
	owed := uint64(now.Sub(p.start).Seconds() * p.rate)
	if owed <= p.done {
		return 0
	}
	n := owed - p.done
	if n > uint64(p.burst) {
		n = uint64(p.burst)
	}
	p.done += n
	return int(n)
}

// Wait returns how long until the next event is owed (0 if one is owed
// now or there is no pacing).
func (p *Pacer) Wait(now time.Time) time.Duration {
	if p.rate <= 0 {
		return 0
	}
	next := p.start.Add(time.Duration(float64(p.done+1) / p.rate * float64(time.Second)))
	if d := next.Sub(now); d > 0 {
		return d
	}
	return 0
}
