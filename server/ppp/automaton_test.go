package ppp_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

// wire records what an automaton sends and asks of its timer.
type wire struct {
	sent   [][]byte
	timers []time.Duration
}

func (w *wire) send(b []byte) { w.sent = append(w.sent, slices.Clone(b)) }

func (w *wire) last(t *testing.T) ppp.Packet {
	t.Helper()
	if len(w.sent) == 0 {
		t.Fatal("nothing sent")
	}
	p, err := ppp.ParsePacket(w.sent[len(w.sent)-1])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *wire) codes() []ppp.Code {
	var c []ppp.Code
	for _, b := range w.sent {
		c = append(c, ppp.Code(b[0]))
	}
	return c
}

var mru1400 = ppp.Option{Type: 1, Data: []byte{0x05, 0x78}}

func newTestAutomaton(h ppp.Handler) (*ppp.Automaton, *wire) {
	w := &wire{}
	a := ppp.NewAutomaton(ppp.ProtoLCP, h, w.send)
	a.SetTimer = func(d time.Duration) { w.timers = append(w.timers, d) }
	return a, w
}

func TestOpenSendsConfigureRequest(t *testing.T) {
	peer := &ppptest.Peer{Request: func(bool) []byte { return ppptest.Options(mru1400) }}
	a, w := newTestAutomaton(peer)
	a.Open()
	if !slices.Equal(peer.Events, []string{"tls"}) || a.State() != ppp.Starting {
		t.Fatalf("after Open: %v %v", a.State(), peer.Events)
	}
	a.Up()
	want := []byte{0x01, 0x01, 0x00, 0x08, 0x01, 0x04, 0x05, 0x78}
	if len(w.sent) != 1 || !bytes.Equal(w.sent[0], want) {
		t.Fatalf("sent %x, want %x", w.sent, want)
	}
	if !slices.Equal(w.timers, []time.Duration{3 * time.Second}) || !a.TimerRunning() {
		t.Errorf("timers %v", w.timers)
	}
}

// A retransmission keeps the Identifier and the options; a request
// after a Nak gets a new Identifier.
func TestRetransmissionAndIdentifiers(t *testing.T) {
	mru := uint16(1400)
	peer := &ppptest.Peer{
		Request: func(bool) []byte {
			return ppptest.Options(ppp.Option{Type: 1, Data: []byte{byte(mru >> 8), byte(mru)}})
		},
		ApplyNak: func(n *ppp.Nak) error { mru = 1300; return nil },
	}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	a.Timeout()
	if !bytes.Equal(w.sent[0], w.sent[1]) {
		t.Fatalf("retransmission differs: %x", w.sent)
	}
	if err := a.Receive(pkt(ppp.ConfigureNak, 1, 0x01, 0x04, 0x05, 0x14)); err != nil {
		t.Fatal(err)
	}
	p := w.last(t)
	if p.Code != ppp.ConfigureRequest || p.Identifier != 2 || !bytes.Equal(p.Data, []byte{0x01, 0x04, 0x05, 0x14}) {
		t.Errorf("after Nak sent %v id %d [% x]", p.Code, p.Identifier, p.Data)
	}
	// A second answer to the old request is stale.
	n := len(w.sent)
	if err := a.Receive(pkt(ppp.ConfigureNak, 1, 0x01, 0x04, 0x05, 0x14)); err != nil {
		t.Fatal(err)
	}
	if len(w.sent) != n || peer.Naks != 1 {
		t.Errorf("stale Nak handled")
	}
}

// RFC 1661 section 5.2: a Configure-Ack must match the request exactly.
func TestConfigureAckValidation(t *testing.T) {
	peer := &ppptest.Peer{Request: func(bool) []byte { return ppptest.Options(mru1400) }}
	a, _ := newTestAutomaton(peer)
	a.Open()
	a.Up()
	for _, bad := range [][]byte{
		pkt(ppp.ConfigureAck, 2, 0x01, 0x04, 0x05, 0x78),             // wrong id
		pkt(ppp.ConfigureAck, 1, 0x01, 0x04, 0x05, 0x79),             // changed value
		pkt(ppp.ConfigureAck, 1),                                     // options missing
		pkt(ppp.ConfigureAck, 1, 0x01, 0x04, 0x05, 0x78, 0x07, 0x02), // extra option
	} {
		if err := a.Receive(bad); err != nil {
			t.Fatal(err)
		}
		if a.State() != ppp.ReqSent {
			t.Fatalf("%x moved to %v", bad, a.State())
		}
	}
	if err := a.Receive(pkt(ppp.ConfigureAck, 1, 0x01, 0x04, 0x05, 0x78)); err != nil {
		t.Fatal(err)
	}
	if a.State() != ppp.AckRcvd {
		t.Fatalf("state %v", a.State())
	}
	// A duplicate of the Ack is not a crossed connection.
	if err := a.Receive(pkt(ppp.ConfigureAck, 1, 0x01, 0x04, 0x05, 0x78)); err != nil {
		t.Fatal(err)
	}
	if a.State() != ppp.AckRcvd {
		t.Errorf("duplicate Ack moved to %v", a.State())
	}
}

// RFC 1661 section 5.4: a Configure-Reject may only list options we sent.
func TestConfigureRejectValidation(t *testing.T) {
	peer := &ppptest.Peer{Request: func(bool) []byte {
		return ppptest.Options(mru1400, ppp.Option{Type: 7, Data: []byte{}})
	}}
	a, _ := newTestAutomaton(peer)
	a.Open()
	a.Up()
	for _, bad := range [][]byte{
		pkt(ppp.ConfigureReject, 1, 0x08, 0x02),             // not sent
		pkt(ppp.ConfigureReject, 1, 0x01, 0x04, 0x05, 0xdc), // value changed
		pkt(ppp.ConfigureReject, 1, 0x01, 0x04, 0x05),       // malformed
	} {
		_ = a.Receive(bad)
		if peer.Naks != 0 {
			t.Fatalf("%x handled", bad)
		}
	}
	if err := a.Receive(pkt(ppp.ConfigureReject, 1, 0x07, 0x02)); err != nil {
		t.Fatal(err)
	}
	if peer.Naks != 1 {
		t.Error("valid Reject not handled")
	}
}

// RFC 1661 section 4.6, Max-Failure: after five Naks, Naks of options the
// peer sent become Rejects and suggestions are dropped.
func TestMaxFailureTurnsNakIntoReject(t *testing.T) {
	var exhausted []bool
	peer := &ppptest.Peer{Judge: func(v *ppp.Verdict) {
		exhausted = append(exhausted, v.Exhausted())
		v.Nak(ppp.Option{Type: 1, Data: []byte{0x05, 0xdc}}) // the peer's MRU
		v.Nak(ppp.Option{Type: 0x42, Data: []byte{}})        // a suggestion
	}}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	for i := range 6 {
		if err := a.Receive(pkt(ppp.ConfigureRequest, uint8(10+i), 0x01, 0x04, 0x05, 0x78, 0x07, 0x02)); err != nil {
			t.Fatal(err)
		}
		p := w.last(t)
		want := ppp.ConfigureNak
		if i == 5 {
			want = ppp.ConfigureReject
		}
		if p.Code != want || p.Identifier != uint8(10+i) {
			t.Fatalf("request %d answered %v id %d", i, p.Code, p.Identifier)
		}
		if i == 5 && !bytes.Equal(p.Data, []byte{0x01, 0x04, 0x05, 0x78}) {
			t.Errorf("converted Reject [% x]", p.Data)
		}
	}
	if !slices.Equal(exhausted, []bool{false, false, false, false, false, true}) {
		t.Errorf("Exhausted sequence %v", exhausted)
	}
}

// A Configure-Ack we send resets the failure count.
func TestFailuresResetByAck(t *testing.T) {
	nak := true
	var failures []int
	peer := &ppptest.Peer{Judge: func(v *ppp.Verdict) {
		failures = append(failures, v.Failures())
		if nak {
			v.Nak(mru1400)
		}
	}}
	a, _ := newTestAutomaton(peer)
	a.Open()
	a.Up()
	req := pkt(ppp.ConfigureRequest, 1, 0x01, 0x04, 0x05, 0xdc)
	_ = a.Receive(req)
	_ = a.Receive(req)
	nak = false
	_ = a.Receive(req)
	nak = true
	_ = a.Receive(req)
	if !slices.Equal(failures, []int{0, 1, 2, 0}) {
		t.Errorf("failures %v", failures)
	}
}

var errNoGood = errors.New("peer insists on something")

// A Handler's failure closes the layer with its reason.
func TestVerdictFailCloses(t *testing.T) {
	peer := &ppptest.Peer{Judge: func(v *ppp.Verdict) { v.Fail(errNoGood) }}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	_ = a.Receive(pkt(ppp.ConfigureRequest, 5, 0x01, 0x04, 0x05, 0xdc))
	if a.State() != ppp.Closing || w.last(t).Code != ppp.TerminateRequest {
		t.Fatalf("state %v, sent %v", a.State(), w.codes())
	}
	_ = a.Receive(pkt(ppp.TerminateAck, w.last(t).Identifier))
	if a.State() != ppp.Closed || !errors.Is(peer.Finished, errNoGood) || !errors.Is(a.Err(), errNoGood) {
		t.Errorf("state %v, finished %v, err %v", a.State(), peer.Finished, a.Err())
	}
}

func TestNakErrorCloses(t *testing.T) {
	peer := &ppptest.Peer{
		Request:  func(bool) []byte { return ppptest.Options(mru1400) },
		ApplyNak: func(*ppp.Nak) error { return errNoGood },
	}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	_ = a.Receive(pkt(ppp.ConfigureNak, 1, 0x01, 0x04, 0x05, 0xdc))
	if a.State() != ppp.Closing || w.last(t).Code != ppp.TerminateRequest {
		t.Fatalf("state %v, sent %v", a.State(), w.codes())
	}
	// No Terminate-Ack: Max-Terminate Terminate-Requests, then tlf.
	a.Timeout()
	a.Timeout()
	if a.State() != ppp.Closed || !errors.Is(peer.Finished, errNoGood) {
		t.Errorf("state %v finished %v", a.State(), peer.Finished)
	}
	if got := w.codes(); !slices.Equal(got, []ppp.Code{ppp.ConfigureRequest, ppp.TerminateRequest, ppp.TerminateRequest}) {
		t.Errorf("sent %v", got)
	}
	if w.timers[len(w.timers)-1] != 0 || a.TimerRunning() {
		t.Error("timer not stopped")
	}
}

// Nak counts consecutive Configure-Naks of our requests.
func TestNakCount(t *testing.T) {
	var counts []int
	peer := &ppptest.Peer{
		Request:  func(bool) []byte { return ppptest.Options(mru1400) },
		ApplyNak: func(n *ppp.Nak) error { counts = append(counts, n.Count); return nil },
	}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	for range 3 {
		_ = a.Receive(pkt(ppp.ConfigureNak, w.last(t).Identifier, 0x01, 0x04, 0x05, 0xdc))
	}
	_ = a.Receive(pkt(ppp.ConfigureAck, w.last(t).Identifier, 0x01, 0x04, 0x05, 0x78))
	if !slices.Equal(counts, []int{1, 2, 3}) {
		t.Errorf("counts %v", counts)
	}
}

// Without an answer: Max-Configure requests, then TO- and tlf.
func TestConfigureTimeout(t *testing.T) {
	peer := &ppptest.Peer{}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	for a.TimerRunning() {
		a.Timeout()
	}
	if len(w.sent) != ppp.DefaultMaxConfigure {
		t.Errorf("sent %d Configure-Requests, want %d", len(w.sent), ppp.DefaultMaxConfigure)
	}
	var te *ppp.TimeoutError
	if a.State() != ppp.Stopped || !errors.As(peer.Finished, &te) || te.Count != 10 || te.Code != ppp.ConfigureRequest {
		t.Errorf("state %v finished %v", a.State(), peer.Finished)
	}
	if got := peer.Finished.Error(); got != "LCP: peer answered none of 10 Configure-Requests" {
		t.Errorf("reason %q", got)
	}
	// A stale timer after the stop does nothing.
	a.Timeout()
	if len(w.sent) != ppp.DefaultMaxConfigure {
		t.Error("stale timeout sent")
	}
}

// The peer's Terminate-Request in Opened: tld, zrc, sta, then after one
// timeout tlf with the peer's text as the reason.
func TestPeerTerminates(t *testing.T) {
	peer := &ppptest.Peer{}
	a, w := newTestAutomaton(peer)
	open(t, a, w)
	_ = a.Receive(pkt(ppp.TerminateRequest, 77, []byte("User request")...))
	if a.State() != ppp.Stopping || w.last(t).Code != ppp.TerminateAck || w.last(t).Identifier != 77 {
		t.Fatalf("state %v sent %v", a.State(), w.codes())
	}
	a.Timeout()
	if a.State() != ppp.Stopped || !slices.Equal(peer.Events, []string{"tls", "tlu", "tld", "tlf"}) {
		t.Fatalf("state %v events %v", a.State(), peer.Events)
	}
	if got := peer.Finished.Error(); got != `LCP: peer sent Terminate-Request "User request"` {
		t.Errorf("reason %q", got)
	}
}

// CloseMessage puts its message into every Terminate-Request, cut to the
// peer's MRU; Close sends them empty; a new Open forgets the message.
func TestCloseMessage(t *testing.T) {
	peer := &ppptest.Peer{}
	a, w := newTestAutomaton(peer)
	open(t, a, w)
	a.CloseMessage(errors.New("killed"), "killed by the operator: left")
	if p := w.last(t); p.Code != ppp.TerminateRequest || string(p.Data) != "killed by the operator: left" {
		t.Fatalf("sent %v %q", p.Code, p.Data)
	}
	a.Timeout() // the retransmission carries it too
	if p := w.last(t); p.Code != ppp.TerminateRequest || string(p.Data) != "killed by the operator: left" {
		t.Fatalf("retransmitted %v %q", p.Code, p.Data)
	}
	if got := peer.Finished; got != nil {
		t.Fatalf("finished early: %v", got)
	}

	a2, w2 := newTestAutomaton(&ppptest.Peer{})
	a2.MRU = 10
	open(t, a2, w2)
	a2.CloseMessage(nil, "a message longer than the MRU")
	if p := w2.last(t); len(p.Data) != 10-4 {
		t.Fatalf("%d bytes of data in a 10-byte MRU: %q", len(p.Data), p.Data)
	}

	a3, w3 := newTestAutomaton(&ppptest.Peer{})
	open(t, a3, w3)
	a3.Close(nil)
	if p := w3.last(t); p.Code != ppp.TerminateRequest || len(p.Data) != 0 {
		t.Fatalf("Close sent %v %q", p.Code, p.Data)
	}
}

// open brings a to Opened with empty options on both sides.
func open(t *testing.T, a *ppp.Automaton, w *wire) {
	t.Helper()
	a.Open()
	a.Up()
	_ = a.Receive(pkt(ppp.ConfigureAck, w.last(t).Identifier))
	_ = a.Receive(pkt(ppp.ConfigureRequest, 200))
	if a.State() != ppp.Opened {
		t.Fatalf("not opened: %v", a.State())
	}
}

func TestEchoReply(t *testing.T) {
	peer := &ppptest.LinkPeer{Peer: ppptest.Peer{Magic: 0x11223344}}
	a, w := newTestAutomaton(peer)
	// Not yet Opened: Echo-Requests are discarded.
	a.Open()
	a.Up()
	n := len(w.sent)
	_ = a.Receive(pkt(ppp.EchoRequest, 3, 0xaa, 0xbb, 0xcc, 0xdd))
	if len(w.sent) != n || len(peer.Echoes) != 0 {
		t.Fatal("echo answered before Opened")
	}
	_ = a.Receive(pkt(ppp.ConfigureAck, w.last(t).Identifier))
	_ = a.Receive(pkt(ppp.ConfigureRequest, 200))
	_ = a.Receive(pkt(ppp.EchoRequest, 3, 0xaa, 0xbb, 0xcc, 0xdd, 'p', 'i', 'n', 'g'))
	want := []byte{0x0a, 0x03, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44, 'p', 'i', 'n', 'g'}
	if !bytes.Equal(w.sent[len(w.sent)-1], want) {
		t.Errorf("reply [% x], want [% x]", w.sent[len(w.sent)-1], want)
	}
	_ = a.Receive(pkt(ppp.EchoReply, 4, 0xaa, 0xbb, 0xcc, 0xdd))
	_ = a.Receive(pkt(ppp.DiscardRequest, 5, 0xaa, 0xbb, 0xcc, 0xdd))
	if len(peer.Echoes) != 3 || peer.Echoes[1].Code != ppp.EchoReply {
		t.Errorf("echoes %v", peer.Echoes)
	}
	if err := a.Receive(pkt(ppp.EchoRequest, 3, 0xaa)); !errors.Is(err, ppp.ErrShortData) {
		t.Errorf("short echo: %v", err)
	}
}

// An NCP has no echo: LCP-only codes are Code-Rejected.
func TestNCPRejectsLCPCodes(t *testing.T) {
	peer := &ppptest.Peer{}
	w := &wire{}
	a := ppp.NewAutomaton(ppp.ProtoIPCP, peer, w.send)
	open(t, a, w)
	for _, c := range []ppp.Code{ppp.ProtocolReject, ppp.EchoRequest, ppp.DiscardRequest, ppp.ResetRequest} {
		_ = a.Receive(pkt(c, 8, 0, 0, 0, 0))
		p := w.last(t)
		if p.Code != ppp.CodeReject || !bytes.Equal(p.Data, []byte{byte(c), 8, 0, 8, 0, 0, 0, 0}) {
			t.Errorf("%v answered %v [% x]", c, p.Code, p.Data)
		}
	}
	if a.State() != ppp.Opened {
		t.Errorf("state %v", a.State())
	}
}

// Code-Reject of a code the protocol can do without is RXJ+ and is
// remembered; of an essential code RXJ-.
func TestCodeReject(t *testing.T) {
	peer := &ppptest.LinkPeer{}
	a, w := newTestAutomaton(peer)
	open(t, a, w)
	_ = a.Receive(pkt(ppp.CodeReject, 1, byte(ppp.EchoRequest), 1, 0, 8, 0, 0, 0, 0))
	if a.State() != ppp.Opened || !a.CodeRejected(ppp.EchoRequest) || a.CodeRejected(ppp.DiscardRequest) {
		t.Fatalf("state %v", a.State())
	}
	_ = a.Receive(pkt(ppp.CodeReject, 2, byte(ppp.TerminateAck), 1, 0, 4))
	var re *ppp.RejectedError
	if a.State() != ppp.Stopping || !errors.As(a.Err(), &re) || re.Code != ppp.TerminateAck {
		t.Fatalf("state %v err %v", a.State(), a.Err())
	}
	if got := a.Err().Error(); got != "LCP: peer sent Code-Reject for Terminate-Ack" {
		t.Errorf("reason %q", got)
	}
	if err := a.Receive(pkt(ppp.CodeReject, 3)); !errors.Is(err, ppp.ErrShortData) {
		t.Errorf("empty Code-Reject: %v", err)
	}
}

// RFC 1661 section 5.7: Protocol-Reject only in Opened; of another
// protocol it is passed on, of LCP itself it is catastrophic.
func TestProtocolRejectReceived(t *testing.T) {
	peer := &ppptest.LinkPeer{}
	a, w := newTestAutomaton(peer)
	a.Open()
	a.Up()
	_ = a.Receive(pkt(ppp.ProtocolReject, 1, 0x80, 0xfd))
	if len(peer.ProtocolRejects) != 0 {
		t.Fatal("Protocol-Reject accepted before Opened")
	}
	_ = a.Receive(pkt(ppp.ConfigureAck, w.last(t).Identifier))
	_ = a.Receive(pkt(ppp.ConfigureRequest, 200))
	_ = a.Receive(pkt(ppp.ProtocolReject, 1, 0x80, 0xfd, 0x01, 0x01, 0x00, 0x04))
	if !slices.Equal(peer.ProtocolRejects, []ppp.Protocol{ppp.ProtoCCP}) || a.State() != ppp.Opened {
		t.Fatalf("rejects %v state %v", peer.ProtocolRejects, a.State())
	}
	_ = a.Receive(pkt(ppp.ProtocolReject, 2, 0xc0, 0x21))
	if a.State() != ppp.Stopping {
		t.Errorf("state %v", a.State())
	}
	if err := a.Receive(pkt(ppp.ProtocolReject, 3, 0xc0)); !errors.Is(err, ppp.ErrShortData) {
		t.Errorf("short: %v", err)
	}
}

// The session passes a Protocol-Reject of an NCP on to its automaton.
func TestProtocolRejected(t *testing.T) {
	peer := &ppptest.Peer{}
	w := &wire{}
	a := ppp.NewAutomaton(ppp.ProtoCCP, peer, w.send)
	a.Open()
	a.Up()
	a.ProtocolRejected()
	if a.State() != ppp.Stopped || peer.Finished == nil {
		t.Fatalf("state %v", a.State())
	}
	if got := peer.Finished.Error(); got != "CCP: peer sent Protocol-Reject: it does not speak CCP" {
		t.Errorf("reason %q", got)
	}
}

// Code-Rejects are truncated to the peer's MRU.
func TestCodeRejectTruncated(t *testing.T) {
	a, w := newTestAutomaton(&ppptest.Peer{})
	a.MRU = 16
	open(t, a, w)
	_ = a.Receive(pkt(0x77, 1, make([]byte, 100)...))
	if got := w.last(t); got.Code != ppp.CodeReject || got.Len() != 16 {
		t.Errorf("Code-Reject of %d octets", got.Len())
	}
}

type extension struct {
	ppptest.Peer
	got []ppp.Code
}

func (e *extension) ReceiveExtension(a *ppp.Automaton, p ppp.Packet) bool {
	if p.Code != ppp.ResetRequest {
		return false
	}
	e.got = append(e.got, p.Code)
	a.SendPacket(ppp.Packet{Code: ppp.ResetAck, Identifier: p.Identifier})
	return true
}

func TestExtension(t *testing.T) {
	h := &extension{}
	w := &wire{}
	a := ppp.NewAutomaton(ppp.ProtoCCP, h, w.send)
	open(t, a, w)
	_ = a.Receive(pkt(ppp.ResetRequest, 9))
	if p := w.last(t); p.Code != ppp.ResetAck || p.Identifier != 9 {
		t.Errorf("sent %v", p.Code)
	}
	_ = a.Receive(pkt(ppp.ResetAck, 9))
	if p := w.last(t); p.Code != ppp.CodeReject {
		t.Errorf("unknown extension code answered %v", p.Code)
	}
}

// Calls into the automaton from its own callbacks run after the current
// event.
func TestReentrantClose(t *testing.T) {
	peer := &ppptest.Peer{}
	a, w := newTestAutomaton(peer)
	a.Notify = func(ev ppp.LayerEvent) {
		if ev == ppp.ThisLayerUp {
			a.Close(errNoGood)
		}
	}
	a.Open()
	a.Up()
	_ = a.Receive(pkt(ppp.ConfigureAck, w.last(t).Identifier))
	_ = a.Receive(pkt(ppp.ConfigureRequest, 200))
	// Opened was reached, then the queued Close ran.
	if a.State() != ppp.Closing || !slices.Equal(peer.Events, []string{"tls", "tlu", "tld"}) {
		t.Errorf("state %v events %v", a.State(), peer.Events)
	}
	if !errors.Is(a.Err(), errNoGood) {
		t.Errorf("err %v", a.Err())
	}
}

// The first reason wins: the peer's Terminate-Request crossing ours does
// not hide why we closed.
func TestFirstReasonWins(t *testing.T) {
	peer := &ppptest.Peer{}
	a, w := newTestAutomaton(peer)
	open(t, a, w)
	a.Close(errNoGood)
	_ = a.Receive(pkt(ppp.TerminateRequest, 50, []byte("bye")...))
	_ = a.Receive(pkt(ppp.TerminateAck, w.codesID(ppp.TerminateRequest)))
	if a.State() != ppp.Closed || !errors.Is(peer.Finished, errNoGood) {
		t.Errorf("state %v finished %v", a.State(), peer.Finished)
	}
	a.Open()
	if a.Err() != nil {
		t.Errorf("Open kept %v", a.Err())
	}
}

// codesID returns the Identifier of the last packet of code c sent.
func (w *wire) codesID(c ppp.Code) uint8 {
	for _, b := range slices.Backward(w.sent) {
		if ppp.Code(b[0]) == c {
			return b[1]
		}
	}
	return 0
}

func TestMalformedIsReported(t *testing.T) {
	a, w := newTestAutomaton(&ppptest.Peer{})
	open(t, a, w)
	n := len(w.sent)
	for _, b := range [][]byte{
		{0x01},
		{0x01, 0x01, 0x00, 0x09, 0x01},
		{0x01, 0x01, 0x00, 0x06, 0x01, 0x05},
		{0x03, 0x01, 0x00, 0x05, 0x01},
	} {
		if err := a.Receive(b); err == nil && b[0] != 0x03 {
			t.Errorf("[% x] accepted", b)
		}
	}
	if len(w.sent) != n || a.State() != ppp.Opened {
		t.Errorf("malformed packets acted on: %v", w.codes()[n:])
	}
}
