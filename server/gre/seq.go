package gre

// SeqLess reports whether sequence number a comes before b in serial
// number arithmetic (RFC 1982 with SERIAL_BITS = 32): b is after a when
// it is at most 2^31 - 1 ahead of it, counting modulo 2^32. Numbers
// exactly 2^31 apart are unordered: neither is less.
func SeqLess(a, b uint32) bool {
	d := b - a
	return d != 0 && d < 1<<31
}

// DefaultMaxGap is the Window's MaxGap when the field is zero.
const DefaultMaxGap = 64

// Verdict is what a Window decides for one received sequence number.
type Verdict uint8

const (
	// InOrder: the number after the last one delivered (or the first
	// packet of the session). Deliver.
	InOrder Verdict = iota + 1
	// Ahead: later than expected by at most MaxGap. Deliver; the numbers
	// skipped are counted as lost. If one of them arrives after all it is
	// Old.
	Ahead
	// Old: not after the last number delivered (a duplicate, or a packet
	// overtaken by a later one). Drop.
	Old
	// FarAhead: more than MaxGap ahead and not confirmed by the previous
	// far-ahead packet. Drop, and remember the number: if the next
	// far-ahead packet follows it closely, the Window resynchronises.
	FarAhead
	// Resync: far ahead, but within MaxGap after the previous FarAhead
	// packet: the peer really moved on (a long outage). Deliver and
	// continue from here.
	Resync
)

var verdictNames = [...]string{
	InOrder:  "in-order",
	Ahead:    "ahead",
	Old:      "old",
	FarAhead: "far-ahead",
	Resync:   "resync",
}

// String returns the verdict's name.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) && verdictNames[v] != "" {
		return verdictNames[v]
	}
	return "Verdict(?)"
}

// Deliver reports whether the packet is to be passed up to PPP.
func (v Verdict) Deliver() bool { return v == InOrder || v == Ahead || v == Resync }

// WindowStats counts a Window's verdicts.
type WindowStats struct {
	Delivered uint64 // InOrder, Ahead and Resync packets
	Lost      uint64 // sequence numbers skipped by Ahead and Resync packets
	Old       uint64 // duplicates and late packets dropped
	FarAhead  uint64 // unconfirmed far-ahead packets dropped
	Resyncs   uint64 // times the Window jumped to a confirmed far-ahead number
}

// Window decides, for each data packet received on one call, whether it
// is delivered to PPP (RFC 2637 section 4.2 leaves the receive policy to
// the implementation; section 4.4 asks that it tolerate loss).
//
// Packets are delivered in increasing sequence order only: a packet that
// arrives after a later one was delivered is dropped as Old, never
// delivered late. This is what the Linux kernel's pptp driver does, and it
// is the right thing in front of MPPE: stateful MPPE cannot decrypt a
// packet out of order at all, and stateless MPPE (RFC 3078 section 8)
// discards a packet whose coherency count went backwards. PPP itself
// tolerates loss and every protocol above it copes with a dropped packet
// better than with a reordered one that MPPE would discard anyway.
//
// The zero Window is ready to use; it accepts the first number it sees.
// A Window is not safe for concurrent use: each call's receive path owns
// its own.
type Window struct {
	// MaxGap is how far ahead of the expected number a packet may be and
	// still be delivered at once; zero means DefaultMaxGap. A packet
	// further ahead is delivered only when a second one confirms the jump,
	// so one corrupt or forged number cannot make the Window drop the
	// real packets that follow it as Old.
	MaxGap uint32

	last          uint32 // last number delivered
	started       bool   // last is valid
	candidate     uint32 // last FarAhead number
	haveCandidate bool
	stats         WindowStats
}

// Admit decides on the sequence number of a received data packet and, if
// the packet is to be delivered, advances the window past it. gap is the
// count of sequence numbers skipped by an Ahead or Resync packet, zero
// otherwise.
func (w *Window) Admit(seq uint32) (v Verdict, gap uint32) {
	if !w.started {
		w.started = true
		w.last = seq
		w.stats.Delivered++
		return InOrder, 0
	}
	if !SeqLess(w.last, seq) {
		w.stats.Old++
		return Old, 0
	}
	maxGap := w.MaxGap
	if maxGap == 0 {
		maxGap = DefaultMaxGap
	}
	gap = seq - w.last - 1
	switch {
	case gap == 0:
		v = InOrder
	case gap <= maxGap:
		v = Ahead
	case w.haveCandidate && SeqLess(w.candidate, seq) && seq-w.candidate <= maxGap:
		v = Resync
		w.haveCandidate = false
		w.stats.Resyncs++
	default:
		w.candidate, w.haveCandidate = seq, true
		w.stats.FarAhead++
		return FarAhead, 0
	}
	w.last = seq
	w.stats.Delivered++
	w.stats.Lost += uint64(gap)
	return v, gap
}

// Last returns the last sequence number delivered, and false before the
// first packet.
func (w *Window) Last() (uint32, bool) { return w.last, w.started }

// Stats returns the counts of the verdicts so far.
func (w *Window) Stats() WindowStats { return w.stats }

// AckTracker keeps what the receive side owes the peer: the highest
// sequence number delivered in order, and whether it has been
// acknowledged yet (RFC 2637 section 4.2: acknowledgments are cumulative
// and may be piggy-backed on a data packet going the other way).
//
// The caller reports each delivered packet with Delivered, and takes the
// acknowledgment either with Piggyback when it sends a data packet to the
// peer, or with Take when nothing was sent for a short while (an
// acknowledgment-only packet: S bit clear, A bit set, no payload).
//
// The zero AckTracker owes nothing. It is not safe for concurrent use.
type AckTracker struct {
	ack     uint32
	valid   bool
	pending bool
}

// Delivered records that the data packet seq was delivered. A number not
// after the one already recorded changes nothing (acknowledgments never
// go backwards).
func (a *AckTracker) Delivered(seq uint32) {
	if a.valid && !SeqLess(a.ack, seq) {
		return
	}
	a.ack, a.valid, a.pending = seq, true, true
}

// Pending reports whether an acknowledgment is owed.
func (a *AckTracker) Pending() bool { return a.pending }

// Take returns the number to acknowledge and clears the debt; ok is
// false when nothing is owed.
func (a *AckTracker) Take() (ack uint32, ok bool) {
	if !a.pending {
		return 0, false
	}
	a.pending = false
	return a.ack, true
}

// Piggyback sets h's acknowledgment to the owed number, if any, and
// clears the debt. It leaves h alone when nothing is owed.
func (a *AckTracker) Piggyback(h *Header) {
	if ack, ok := a.Take(); ok {
		h.AcknowledgmentPresent = true
		h.AcknowledgmentNumber = ack
	}
}
