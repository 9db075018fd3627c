package gre_test

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
)

func TestSeqLess(t *testing.T) {
	cases := []struct {
		a, b uint32
		want bool
	}{
		{0, 1, true},
		{1, 0, false},
		{5, 5, false},
		{0xffffffff, 0, true}, // wraps
		{0, 0xffffffff, false},
		{0xfffffff0, 0x10, true},
		{0, 0x7fffffff, true}, // the furthest b can be ahead
		{0x7fffffff, 0, false},
		{0, 0x80000000, false}, // exactly half way round: unordered
		{0x80000000, 0, false},
		{0x80000001, 0, true}, // 0 is 2^31-1 ahead of 0x80000001
	}
	for _, c := range cases {
		if got := gre.SeqLess(c.a, c.b); got != c.want {
			t.Errorf("SeqLess(%#x, %#x) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestWindow walks a Window through sequences of received numbers and
// checks each verdict. Rows of one case run against one Window.
func TestWindow(t *testing.T) {
	type step struct {
		seq  uint32
		want gre.Verdict
		gap  uint32
	}
	cases := []struct {
		name   string
		maxGap uint32
		steps  []step
		stats  gre.WindowStats
	}{
		{
			name:  "in order from any first number",
			steps: []step{{100, gre.InOrder, 0}, {101, gre.InOrder, 0}, {102, gre.InOrder, 0}},
			stats: gre.WindowStats{Delivered: 3},
		},
		{
			name:  "duplicate dropped",
			steps: []step{{1, gre.InOrder, 0}, {2, gre.InOrder, 0}, {2, gre.Old, 0}, {3, gre.InOrder, 0}},
			stats: gre.WindowStats{Delivered: 3, Old: 1},
		},
		{
			name: "loss: the gap is counted, the late packet is dropped",
			steps: []step{
				{10, gre.InOrder, 0},
				{13, gre.Ahead, 2}, // 11 and 12 lost
				{11, gre.Old, 0},   // 11 was only late: still dropped, never delivered out of order
				{14, gre.InOrder, 0},
			},
			stats: gre.WindowStats{Delivered: 3, Lost: 2, Old: 1},
		},
		{
			name: "reordering of two packets",
			steps: []step{
				{1, gre.InOrder, 0}, {3, gre.Ahead, 1}, {2, gre.Old, 0}, {4, gre.InOrder, 0},
			},
			stats: gre.WindowStats{Delivered: 3, Lost: 1, Old: 1},
		},
		{
			name:  "wrap around 2^32",
			steps: []step{{0xfffffffe, gre.InOrder, 0}, {0xffffffff, gre.InOrder, 0}, {0, gre.InOrder, 0}, {2, gre.Ahead, 1}, {0xffffffff, gre.Old, 0}},
			stats: gre.WindowStats{Delivered: 4, Lost: 1, Old: 1},
		},
		{
			name:   "gap of exactly MaxGap is delivered",
			maxGap: 8,
			steps:  []step{{0, gre.InOrder, 0}, {9, gre.Ahead, 8}},
			stats:  gre.WindowStats{Delivered: 2, Lost: 8},
		},
		{
			name:   "one forged far-ahead number changes nothing",
			maxGap: 8,
			steps: []step{
				{0, gre.InOrder, 0},
				{1_000_000, gre.FarAhead, 0},
				{1, gre.InOrder, 0}, // the genuine stream goes on
				{2, gre.InOrder, 0},
			},
			stats: gre.WindowStats{Delivered: 3, FarAhead: 1},
		},
		{
			name:   "a confirmed jump resynchronises (long outage)",
			maxGap: 8,
			steps: []step{
				{0, gre.InOrder, 0},
				{500, gre.FarAhead, 0}, // dropped, remembered
				{501, gre.Resync, 500}, // confirmed: 1..500 lost (500 itself was dropped)
				{502, gre.InOrder, 0},
				{500, gre.Old, 0},
			},
			stats: gre.WindowStats{Delivered: 3, Lost: 500, FarAhead: 1, Resyncs: 1, Old: 1},
		},
		{
			name:   "confirmation must be within MaxGap of the candidate",
			maxGap: 8,
			steps: []step{
				{0, gre.InOrder, 0},
				{500, gre.FarAhead, 0},
				{600, gre.FarAhead, 0}, // not near 500: becomes the new candidate
				{605, gre.Resync, 604},
			},
			stats: gre.WindowStats{Delivered: 2, Lost: 604, FarAhead: 2, Resyncs: 1},
		},
		{
			name:   "a candidate behind the new one does not confirm",
			maxGap: 8,
			steps: []step{
				{0, gre.InOrder, 0},
				{500, gre.FarAhead, 0},
				{499, gre.FarAhead, 0},
				{500, gre.Resync, 499},
			},
			stats: gre.WindowStats{Delivered: 2, Lost: 499, FarAhead: 2, Resyncs: 1},
		},
		{
			name: "default MaxGap is 64",
			steps: []step{
				{0, gre.InOrder, 0},
				{65, gre.Ahead, 64},
				{65 + 66, gre.FarAhead, 0},
			},
			stats: gre.WindowStats{Delivered: 2, Lost: 64, FarAhead: 1},
		},
		{
			name: "half way round the number space is old, not ahead",
			steps: []step{
				{0, gre.InOrder, 0},
				{0x80000000, gre.Old, 0},
				{1, gre.InOrder, 0},
			},
			stats: gre.WindowStats{Delivered: 2, Old: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := gre.Window{MaxGap: c.maxGap}
			if _, ok := w.Last(); ok {
				t.Fatal("zero Window reports a last number")
			}
			for i, s := range c.steps {
				v, gap := w.Admit(s.seq)
				if v != s.want || gap != s.gap {
					t.Fatalf("step %d: Admit(%d) = %v, gap %d; want %v, gap %d", i, s.seq, v, gap, s.want, s.gap)
				}
				if v.Deliver() {
					if last, ok := w.Last(); !ok || last != s.seq {
						t.Fatalf("step %d: Last = %d, %v after delivering %d", i, last, ok, s.seq)
					}
				}
			}
			if got := w.Stats(); got != c.stats {
				t.Errorf("Stats = %+v, want %+v", got, c.stats)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	deliver := map[gre.Verdict]bool{gre.InOrder: true, gre.Ahead: true, gre.Old: false, gre.FarAhead: false, gre.Resync: true}
	for v, want := range deliver {
		if v.Deliver() != want {
			t.Errorf("%v.Deliver() = %v", v, !want)
		}
		if s := v.String(); s == "" || s == "Verdict(?)" {
			t.Errorf("verdict %d has no name", v)
		}
	}
	if gre.Verdict(0).Deliver() {
		t.Error("zero Verdict delivers")
	}
}

func TestAckTracker(t *testing.T) {
	var a gre.AckTracker
	if a.Pending() {
		t.Fatal("zero AckTracker owes an acknowledgment")
	}
	if _, ok := a.Take(); ok {
		t.Fatal("Take on zero AckTracker")
	}
	h := gre.Header{CallID: 1}
	a.Piggyback(&h)
	if h.AcknowledgmentPresent {
		t.Fatal("Piggyback with nothing owed set the A bit")
	}

	a.Delivered(5)
	a.Delivered(6)
	if !a.Pending() {
		t.Fatal("not pending after Delivered")
	}
	a.Piggyback(&h)
	if !h.AcknowledgmentPresent || h.AcknowledgmentNumber != 6 {
		t.Fatalf("Piggyback: %+v, want ack 6", h)
	}
	if a.Pending() {
		t.Fatal("still pending after Piggyback")
	}

	a.Delivered(4) // older: acknowledgments never go backwards
	if a.Pending() {
		t.Fatal("an older number made an acknowledgment pending")
	}
	if _, ok := a.Take(); ok {
		t.Fatal("Take after Piggyback")
	}

	var w gre.AckTracker // across the wrap of 2^32
	w.Delivered(0xfffffffe)
	w.Delivered(0xffffffff)
	w.Delivered(0)
	w.Delivered(0xfffffffd) // older than 0 in serial arithmetic
	if ack, ok := w.Take(); !ok || ack != 0 {
		t.Fatalf("Take = %d, %v; want 0 after the wrap", ack, ok)
	}
	if _, ok := w.Take(); ok {
		t.Fatal("Take twice")
	}
}

// The Window and AckTracker run per received packet.
func TestWindowAllocations(t *testing.T) {
	var w gre.Window
	var a gre.AckTracker
	seq := uint32(0)
	n := testing.AllocsPerRun(1000, func() {
		seq++
		if v, _ := w.Admit(seq); v.Deliver() {
			a.Delivered(seq)
		}
		a.Take()
	})
	if n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}

func BenchmarkWindowAdmit(b *testing.B) {
	var w gre.Window
	var a gre.AckTracker
	seq := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		if seq%16 == 0 {
			seq++ // one loss in 16
		}
		if v, _ := w.Admit(seq); v.Deliver() {
			a.Delivered(seq)
		}
	}
}
