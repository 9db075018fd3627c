package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func TestBucket(t *testing.T) {
	l := New(2, 3) // 2/s, bursts of 3
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if !l.Allow(a, t0) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.Allow(a, t0) {
		t.Fatal("a fourth request at once was allowed")
	}
	if !l.Allow(b, t0) {
		t.Fatal("another source was refused: sources must not share a bucket")
	}
	if l.Allow(a, t0.Add(400*time.Millisecond)) {
		t.Error("allowed after 0.4 s at 2/s (0.8 tokens)")
	}
	if !l.Allow(a, t0.Add(500*time.Millisecond)) {
		t.Error("refused after 0.5 s at 2/s (1 token)")
	}
	// A long pause refills to the burst, no further.
	later := t0.Add(time.Hour)
	n := 0
	for l.Allow(a, later) {
		n++
	}
	if n != 3 {
		t.Errorf("after an hour %d requests allowed at once, want the burst of 3", n)
	}
	if l.Refused() != 3 || l.Allowed() != 8 {
		t.Errorf("refused %d allowed %d", l.Refused(), l.Allowed())
	}
}

// One source flooding leaves another its whole rate.
func TestFairness(t *testing.T) {
	l := New(100, 100)
	flood, nas := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := t0
	got := 0
	for i := range 10_000 {
		now = now.Add(100 * time.Microsecond) // 10,000 requests/s from flood
		l.Allow(flood, now)
		if i%100 == 0 && l.Allow(nas, now) { // 100/s from the NAS
			got++
		}
	}
	if got != 100 {
		t.Errorf("the quiet NAS got %d of 100 requests through a flood from another", got)
	}
}

func TestNilAndOff(t *testing.T) {
	var l *Limiter
	if !l.Allow(netip.MustParseAddr("192.0.2.1"), t0) || l.Refused() != 0 {
		t.Error("a nil limiter refused")
	}
	if New(0, 10) != nil {
		t.Error("rate 0 is not off")
	}
}

func TestMemoryBounded(t *testing.T) {
	l := New(1, 1)
	for i := range MaxSources + 10 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(a, t0)
	}
	if n := l.Sources(); n > MaxSources {
		t.Errorf("%d sources tracked, want at most %d", n, MaxSources)
	}
	l.Allow(netip.MustParseAddr("192.0.2.1"), t0.Add(2*time.Minute))
	if n := l.Sources(); n != 1 {
		t.Errorf("after the sweep %d sources tracked, want 1", n)
	}
}

func TestAllowDoesNotAllocate(t *testing.T) {
	l := New(1e9, 1e9)
	a := netip.MustParseAddr("192.0.2.1")
	l.Allow(a, t0)
	if n := testing.AllocsPerRun(1000, func() { l.Allow(a, t0) }); n != 0 {
		t.Errorf("Allow allocates %v times", n)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(1e9, 1e9)
	a := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	for b.Loop() {
		l.Allow(a, now)
	}
}
