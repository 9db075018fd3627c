package control

import (
	"errors"
	"testing"
	"time"
)

func TestCallTableSkipsZeroAndInUse(t *testing.T) {
	tb := newCallTable(10, time.Minute)
	tb.next = 0xFFFE
	now := time.Unix(1000, 0)
	var got []uint16
	for range 3 {
		c := &Call{}
		if err := tb.add(c, now); err != nil {
			t.Fatal(err)
		}
		got = append(got, c.ID)
	}
	if want := []uint16{0xFFFE, 0xFFFF, 1}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("IDs %v, want %v: 0 is never handed out", got, want)
	}

	// The cursor comes round to an ID in use: it is skipped.
	tb.next = 0xFFFF
	c := &Call{}
	if err := tb.add(c, now); err != nil {
		t.Fatal(err)
	}
	if c.ID != 2 {
		t.Fatalf("got %d, want 2 (0xFFFF and 1 are in use)", c.ID)
	}
}

// A freed Call ID stays out of use for the quarantine, even when the
// cursor comes round to it.
func TestCallTableQuarantine(t *testing.T) {
	tb := newCallTable(10, time.Minute)
	t0 := time.Unix(1000, 0)
	tb.next = 500
	old := &Call{}
	if err := tb.add(old, t0); err != nil {
		t.Fatal(err)
	}
	tb.remove(old, t0)

	tb.next = 500
	c := &Call{}
	if err := tb.add(c, t0.Add(59*time.Second)); err != nil {
		t.Fatal(err)
	}
	if c.ID == 500 {
		t.Fatal("Call ID 500 handed out 59s after it was freed")
	}

	tb.next = 500
	c = &Call{}
	if err := tb.add(c, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c.ID != 500 {
		t.Fatalf("got %d, want 500 once the quarantine is over", c.ID)
	}

	// remove of a call that is not (or no longer) the holder of its ID
	// leaves the holder alone.
	tb.remove(old, t0.Add(time.Minute))
	if tb.byID[500] != c {
		t.Fatal("a stale remove freed a live call's ID")
	}
}

func TestCallTableLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := newCallTable(2, time.Minute)
	for range 2 {
		if err := tb.add(&Call{}, now); err != nil {
			t.Fatal(err)
		}
	}
	var le limitError
	if err := tb.add(&Call{}, now); !errors.As(err, &le) || le.max != 2 {
		t.Fatalf("third call: %v, want the limit", err)
	}
	if tb.len() != 2 {
		t.Fatalf("len %d", tb.len())
	}

	// Every ID freed a moment ago: none to give.
	tb = newCallTable(10, time.Minute)
	for id := 1; id <= 0xFFFF; id++ {
		tb.freed[uint16(id)] = now
	}
	if err := tb.add(&Call{}, now.Add(time.Second)); err != errNoCallID {
		t.Fatalf("got %v, want errNoCallID", err)
	}
	// add prunes what has served its time.
	if err := tb.add(&Call{}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if len(tb.freed) > 4*tb.max {
		t.Fatalf("%d freed IDs remembered after their quarantine", len(tb.freed))
	}
}

func TestLogLimiter(t *testing.T) {
	l := logLimiter{burst: 3, every: time.Second}
	now := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := l.allow(now); !ok {
			t.Fatalf("line %d of the burst held back", i)
		}
	}
	for range 5 {
		if ok, _ := l.allow(now); ok {
			t.Fatal("line past the burst let through")
		}
	}
	ok, suppressed := l.allow(now.Add(time.Second))
	if !ok || suppressed != 5 {
		t.Fatalf("after a second: %v, %d suppressed; want true, 5", ok, suppressed)
	}
}

func TestStateNames(t *testing.T) {
	for s, want := range map[connState]string{
		stateIdle: "Idle", stateEstablished: "Established", stateWaitStopReply: "Wait-Stop-Reply",
		stateClosed: "Closed", 9: "connState(9)",
	} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
	for s, want := range map[callState]string{
		callWaitReply: "Wait-Reply", callEstablished: "Established", callCleared: "Cleared", 7: "callState(7)",
	} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * time.Second: "60s", 90 * time.Second: "90s", 150 * time.Millisecond: "150ms", 1500 * time.Millisecond: "1.5s",
	} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q, want %q", d, got, want)
		}
	}
}
