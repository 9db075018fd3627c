package ccp_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

type server struct {
	neg  *ccp.Negotiator
	a    *ppp.Automaton
	sent [][]byte
}

func newServer(p ccp.Policy) *server {
	s := &server{neg: ccp.NewNegotiator(p)}
	s.a = ppp.NewAutomaton(ppp.ProtoCCP, s.neg, func(b []byte) { s.sent = append(s.sent, slices.Clone(b)) })
	return s
}

func (s *server) exchange(t *testing.T, in []byte, want ...[]byte) {
	t.Helper()
	s.sent = nil
	if err := s.a.Receive(in); err != nil {
		t.Fatalf("Receive [% x]: %v", in, err)
	}
	if !slices.EqualFunc(s.sent, want, bytes.Equal) {
		t.Fatalf("after [% x]\n sent %x\n want %x", in, s.sent, want)
	}
}

func mppe(code ppp.Code, id uint8, b ccp.Bits) []byte {
	return ppp.Packet{Code: code, Identifier: id, Data: ccp.MPPE{Bits: b}.Append(nil)}.Append(nil)
}

const hs = ccp.Stateless | ccp.MPPE128

// A Windows client, byte for byte: 128-bit stateless both ways.
func TestWindowsClientTranscript(t *testing.T) {
	s := newServer(ccp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	if want := []byte{0x01, 0x01, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40}; len(s.sent) != 1 || !bytes.Equal(s.sent[0], want) {
		t.Fatalf("our request %x", s.sent)
	}
	s.exchange(t, []byte{0x01, 0x04, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40},
		[]byte{0x02, 0x04, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40})
	s.exchange(t, []byte{0x02, 0x01, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40})
	if s.a.State() != ppp.Opened {
		t.Fatalf("state %v", s.a.State())
	}
	r := s.neg.Result()
	if r != (ccp.Result{Send: hs, Receive: hs}) || !r.Encrypted() || s.neg.Err() != nil {
		t.Errorf("Result %+v err %v", r, s.neg.Err())
	}
	if got := r.Send.String(); got != "128-bit stateless" {
		t.Errorf("String %q", got)
	}
}

// The server judges single requests (RFC 3078 section 2).
func TestServerJudgesRequests(t *testing.T) {
	tests := []struct {
		name   string
		policy ccp.Policy
		in     ccp.Bits
		code   ppp.Code
		nak    ccp.Bits
	}{
		{"128 stateless", ccp.DefaultPolicy(), hs, ppp.ConfigureAck, 0},
		{"all lengths", ccp.DefaultPolicy(), ccp.Stateless | ccp.KeyLengths, ppp.ConfigureNak, hs},
		{"40 only", ccp.DefaultPolicy(), ccp.Stateless | ccp.MPPE40, ppp.ConfigureNak, hs},
		{"56 only", ccp.DefaultPolicy(), ccp.Stateless | ccp.MPPE56, ppp.ConfigureNak, hs},
		{"40 allowed", ccp.Policy{Allow40: true}, ccp.Stateless | ccp.MPPE40, ppp.ConfigureAck, 0},
		{"40 and 56 offered, 56 allowed", ccp.Policy{Allow56: true}, ccp.Stateless | ccp.MPPE40 | ccp.MPPE56, ppp.ConfigureNak, ccp.Stateless | ccp.MPPE56},
		{"stateful refused", ccp.DefaultPolicy(), ccp.MPPE128, ppp.ConfigureNak, hs},
		{"stateful allowed", ccp.Policy{Stateless: ccp.StatelessPreferred}, ccp.MPPE128, ppp.ConfigureAck, 0},
		{"stateful allowed, several lengths", ccp.Policy{Stateless: ccp.StatelessPreferred}, ccp.KeyLengths, ppp.ConfigureNak, ccp.MPPE128},
		{"MPPC dropped", ccp.DefaultPolicy(), hs | ccp.MPPC, ppp.ConfigureNak, hs},
		{"MPPC only", ccp.DefaultPolicy(), ccp.MPPC, ppp.ConfigureNak, hs},
		{"D dropped", ccp.DefaultPolicy(), hs | ccp.Obsolete, ppp.ConfigureNak, hs},
		{"unknown bits dropped", ccp.DefaultPolicy(), hs | 0x00100000, ppp.ConfigureNak, hs},
		{"nothing set", ccp.DefaultPolicy(), 0, ppp.ConfigureNak, hs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(tt.policy)
			s.a.Open()
			s.a.Up()
			want := mppe(tt.code, 5, tt.nak)
			if tt.code == ppp.ConfigureAck {
				want = mppe(tt.code, 5, tt.in)
			}
			s.exchange(t, mppe(ppp.ConfigureRequest, 5, tt.in), want)
		})
	}
}

func TestOtherOptions(t *testing.T) {
	s := newServer(ccp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	// Deflate, BSD-Compress and a malformed MPPE option are rejected.
	s.exchange(t, []byte{0x01, 0x01, 0x00, 0x0e, 0x1a, 0x04, 0x78, 0x00, 0x15, 0x03, 0x2f, 0x12, 0x03, 0x00},
		[]byte{0x04, 0x01, 0x00, 0x0e, 0x1a, 0x04, 0x78, 0x00, 0x15, 0x03, 0x2f, 0x12, 0x03, 0x00})
	// A second MPPE option is rejected.
	in := append([]byte{0x01, 0x02, 0x00, 0x10}, append(ccp.MPPE{Bits: hs}.Append(nil), ccp.MPPE{Bits: hs}.Append(nil)...)...)
	s.exchange(t, in, mppe(ppp.ConfigureReject, 2, hs))
	// An empty request: MPPE is required, so it is suggested.
	s.exchange(t, []byte{0x01, 0x03, 0x00, 0x04}, mppe(ppp.ConfigureNak, 3, hs))
	// Not required: an empty request is fine.
	s = newServer(ccp.Policy{})
	s.a.Open()
	s.a.Up()
	s.exchange(t, []byte{0x01, 0x03, 0x00, 0x04}, []byte{0x02, 0x03, 0x00, 0x04})
}

// peer is a client whose CCP asks for want and, unless stubborn, takes the
// server's Naks.
func peer(want ccp.Bits, stubborn bool, judge func(*ppp.Verdict)) (*ppp.Automaton, *ppptest.Peer) {
	p := &ppptest.Peer{
		Request: func(bool) []byte {
			if want == 0 {
				return nil
			}
			return ccp.MPPE{Bits: want}.Append(nil)
		},
		Judge: judge,
		ApplyNak: func(n *ppp.Nak) error {
			if o, ok := n.Options.Find(18); ok && !stubborn && !n.Reject {
				opt, _ := ccp.ParseOption(o)
				want = opt.(ccp.MPPE).Bits
			}
			return nil
		},
	}
	return ppp.NewAutomaton(ppp.ProtoCCP, p, nil), p
}

func run(t *testing.T, s *server, pa *ppp.Automaton) *ppptest.Link {
	t.Helper()
	l := ppptest.NewLink(s.a, pa)
	l.Names = [2]string{"server", "client"}
	s.a.Open()
	pa.Open()
	s.a.Up()
	pa.Up()
	l.Run(1000)
	return l
}

// A pppd-like client that offers everything settles on 128-bit stateless.
func TestPppdPeer(t *testing.T) {
	s := newServer(ccp.DefaultPolicy())
	pa, _ := peer(ccp.Stateless|ccp.MPPE128|ccp.MPPE40, false, nil)
	l := run(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result() != (ccp.Result{Send: hs, Receive: hs}) || s.neg.Err() != nil {
		t.Fatalf("server %v %+v %v\n%s", s.a.State(), s.neg.Result(), s.neg.Err(), l)
	}
}

// A client that offers only 40-bit MPPE: Naked with 128-bit Max-Failure
// times, then CCP closes and the session must end, for a reason the
// operator can act on.
func TestPeerOffersOnly40Bit(t *testing.T) {
	s := newServer(ccp.DefaultPolicy())
	pa, p := peer(ccp.Stateless|ccp.MPPE40, true, nil)
	l := run(t, s, pa)
	if s.a.State() != ppp.Closed {
		t.Fatalf("server %v\n%s", s.a.State(), l)
	}
	naks := 0
	for _, line := range l.Transcript {
		if bytes.HasPrefix([]byte(line), []byte("server→client Configure-Nak")) {
			naks++
			if !bytes.Contains([]byte(line), []byte("[12 06 01 00 00 40]")) {
				t.Errorf("Nak %s", line)
			}
		}
	}
	if naks != ppp.DefaultMaxFailure {
		t.Errorf("%d Naks, want %d\n%s", naks, ppp.DefaultMaxFailure, l)
	}
	err := s.neg.Err()
	var re *ccp.RefusedError
	if !errors.Is(err, ccp.ErrMPPERequired) || !errors.As(err, &re) {
		t.Fatalf("Err %v", err)
	}
	const want = "MPPE encryption is required: peer insists on 40-bit MPPE, which is refused (enable pptp.mppe.bits_40 to allow it)"
	if err.Error() != want {
		t.Errorf("Err %q\n want %q", err, want)
	}
	if p.Finished == nil {
		t.Error("client did not see the close")
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		policy ccp.Policy
		offer  ccp.Bits
		reason string
	}{
		{"stateful", ccp.DefaultPolicy(), ccp.MPPE128, "peer insists on stateful MPPE, which is refused (enable pptp.mppe.stateful to allow it)"},
		{"56", ccp.DefaultPolicy(), ccp.MPPE56 | ccp.Stateless, "peer insists on 56-bit MPPE, which is refused (enable pptp.mppe.bits_56 to allow it)"},
		{"40 and 56", ccp.DefaultPolicy(), ccp.MPPE40 | ccp.MPPE56, "peer insists on 40- or 56-bit MPPE, which is refused (enable pptp.mppe.bits_56 or pptp.mppe.bits_40 to allow it)"},
		{"MPPC", ccp.DefaultPolicy(), ccp.MPPC, "peer insists on MPPC compression without MPPE encryption"},
		{"no option", ccp.DefaultPolicy(), 0, "peer does not offer MPPE encryption"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(tt.policy)
			pa, _ := peer(tt.offer, true, nil)
			l := run(t, s, pa)
			if s.a.State() != ppp.Closed || s.a.Err() == nil || s.a.Err().Error() != tt.reason {
				t.Fatalf("server %v reason %q\n want %q\n%s", s.a.State(), s.a.Err(), tt.reason, l)
			}
		})
	}
}

// When the peer Naks our request the server follows an acceptable
// suggestion only.
func TestOurRequestNaked(t *testing.T) {
	s := newServer(ccp.Policy{Required: true, Allow40: true})
	pa, _ := peer(ccp.Stateless|ccp.MPPE40, false, func(v *ppp.Verdict) {
		if o, ok := v.Options.Find(18); ok && !bytes.Equal(o.Data, []byte{1, 0, 0, 0x20}) {
			v.Nak(ppp.Option{Type: 18, Data: []byte{1, 0, 0, 0x20}})
		}
	})
	l := run(t, s, pa)
	want := ccp.Result{Send: ccp.Stateless | ccp.MPPE40, Receive: ccp.Stateless | ccp.MPPE40}
	if s.a.State() != ppp.Opened || s.neg.Result() != want {
		t.Fatalf("server %v %+v\n%s", s.a.State(), s.neg.Result(), l)
	}
	// Without 40-bit allowed the suggestion is not followed, and after
	// Max-Failure Naks CCP closes.
	s = newServer(ccp.DefaultPolicy())
	pa, _ = peer(hs, false, func(v *ppp.Verdict) {
		if o, ok := v.Options.Find(18); ok && !bytes.Equal(o.Data, []byte{1, 0, 0, 0x20}) {
			v.Nak(ppp.Option{Type: 18, Data: []byte{1, 0, 0, 0x20}})
		}
	})
	l = run(t, s, pa)
	if s.a.State() != ppp.Closed || !errors.Is(s.neg.Err(), ccp.ErrMPPERequired) {
		t.Fatalf("server %v %v\n%s", s.a.State(), s.neg.Err(), l)
	}
	if got := s.a.Err().Error(); got != "peer insists on 40-bit MPPE, which is refused (enable pptp.mppe.bits_40 to allow it)" {
		t.Errorf("reason %q", got)
	}
}

func TestPeerRejectsMPPE(t *testing.T) {
	reject := func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			v.Reject(o)
		}
	}
	s := newServer(ccp.DefaultPolicy())
	pa, _ := peer(hs, false, reject)
	l := run(t, s, pa)
	if !errors.Is(s.neg.Err(), ccp.ErrMPPERejected) || !errors.Is(s.neg.Err(), ccp.ErrMPPERequired) {
		t.Fatalf("Err %v\n%s", s.neg.Err(), l)
	}
	// Optional MPPE: the server stops asking and CCP opens without it
	// in that direction.
	s = newServer(ccp.Policy{})
	pa, _ = peer(0, false, reject)
	l = run(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result() != (ccp.Result{}) || s.neg.Err() != nil {
		t.Fatalf("server %v %+v %v\n%s", s.a.State(), s.neg.Result(), s.neg.Err(), l)
	}
}

// However CCP ends, a required MPPE makes it the session's end.
func TestErrOnAnyFinish(t *testing.T) {
	s := newServer(ccp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	if s.neg.Err() != nil {
		t.Fatal("Err while negotiating")
	}
	s.a.ProtocolRejected()
	var re *ppp.RejectedError
	if err := s.neg.Err(); !errors.Is(err, ccp.ErrMPPERequired) || !errors.As(err, &re) {
		t.Errorf("after Protocol-Reject: %v", err)
	}
	s = newServer(ccp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	for s.a.TimerRunning() {
		s.a.Timeout()
	}
	var te *ppp.TimeoutError
	if err := s.neg.Err(); !errors.As(err, &te) {
		t.Errorf("after timeout: %v", err)
	}
	// Optional MPPE never ends the session.
	s = newServer(ccp.Policy{})
	s.a.Open()
	s.a.Up()
	s.a.ProtocolRejected()
	if s.neg.Err() != nil {
		t.Errorf("optional: %v", s.neg.Err())
	}
}

func TestResetRequest(t *testing.T) {
	s := newServer(ccp.Policy{Stateless: ccp.StatelessPreferred})
	var requests, acks int
	s.neg.OnResetRequest = func() { requests++ }
	s.neg.OnResetAck = func() { acks++ }
	s.a.Open()
	s.a.Up()
	// Not Opened: taken, not answered.
	s.exchange(t, []byte{0x0e, 0x07, 0x00, 0x04})
	s.exchange(t, mppe(ppp.ConfigureAck, 1, hs))
	s.exchange(t, mppe(ppp.ConfigureRequest, 1, ccp.MPPE128), mppe(ppp.ConfigureAck, 1, ccp.MPPE128))
	if s.a.State() != ppp.Opened || s.neg.Result().Send != ccp.MPPE128 {
		t.Fatalf("state %v %+v", s.a.State(), s.neg.Result())
	}
	s.exchange(t, []byte{0x0e, 0x07, 0x00, 0x04}, []byte{0x0f, 0x07, 0x00, 0x04})
	if requests != 1 {
		t.Errorf("OnResetRequest called %d times", requests)
	}
	req := s.neg.ResetRequest()
	if got := req.Append(nil); !bytes.Equal(got, []byte{0x0e, 0x01, 0x00, 0x04}) {
		t.Errorf("Reset-Request [% x]", got)
	}
	s.exchange(t, []byte{0x0f, 0x09, 0x00, 0x04}) // stale
	s.exchange(t, []byte{0x0f, 0x01, 0x00, 0x04})
	s.exchange(t, []byte{0x0f, 0x01, 0x00, 0x04}) // duplicate
	if acks != 1 {
		t.Errorf("OnResetAck called %d times", acks)
	}
	// A peer that Code-Rejects Reset-Ack gets no more of them.
	s.exchange(t, []byte{0x07, 0x01, 0x00, 0x08, 0x0f, 0x07, 0x00, 0x04})
	s.exchange(t, []byte{0x0e, 0x08, 0x00, 0x04})
	if requests != 2 || s.a.State() != ppp.Opened {
		t.Errorf("requests %d state %v", requests, s.a.State())
	}
	// Other codes are unknown to CCP.
	s.exchange(t, []byte{0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0}, []byte{0x07, 0x02, 0x00, 0x0c, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0})
}

func TestOptionVectors(t *testing.T) {
	tests := []struct {
		enc []byte
		opt ccp.Option
		str string
	}{
		{[]byte{0x12, 0x06, 0x01, 0x00, 0x00, 0x40}, ccp.MPPE{Bits: hs}, "MPPE 128-bit stateless"},
		{[]byte{0x12, 0x06, 0x00, 0x00, 0x00, 0xe0}, ccp.MPPE{Bits: ccp.KeyLengths}, "MPPE 40-bit 56-bit 128-bit stateful"},
		{[]byte{0x12, 0x06, 0x00, 0x00, 0x00, 0x01}, ccp.MPPE{Bits: ccp.MPPC}, "MPPE MPPC"},
		{[]byte{0x12, 0x06, 0x01, 0x10, 0x00, 0x10}, ccp.MPPE{Bits: ccp.Stateless | ccp.Obsolete | 0x00100000}, "MPPE H D 0x00100000"},
		{[]byte{0x12, 0x06, 0x00, 0x00, 0x00, 0x00}, ccp.MPPE{}, "MPPE none"},
		{[]byte{0x1a, 0x04, 0x78, 0x00}, ccp.Unknown{Option: ppp.Option{Type: 26, Data: []byte{0x78, 0x00}}}, "Deflate [78 00]"},
	}
	for _, tt := range tests {
		if got := tt.opt.Append(nil); !bytes.Equal(got, tt.enc) {
			t.Errorf("%v: Append [% x]", tt.opt, got)
		}
		opts, err := ccp.ParseOptions(tt.enc)
		if err != nil || len(opts) != 1 || opts[0].String() != tt.str {
			t.Errorf("[% x]: %v %v", tt.enc, opts, err)
		}
	}
	for _, b := range [][]byte{{0x12, 0x05, 1, 0, 0}, {0x12, 0x07, 1, 0, 0, 0x40, 0}} {
		if _, err := ccp.ParseOptions(b); !errors.Is(err, ccp.ErrOptionLength) {
			t.Errorf("[% x]: %v", b, err)
		}
	}
	for b, want := range map[ccp.Bits]int{hs: 128, ccp.MPPE56 | ccp.MPPE40: 56, ccp.MPPE40: 40, ccp.MPPC: 0} {
		if b.KeyBits() != want {
			t.Errorf("%v KeyBits %d", b, b.KeyBits())
		}
	}
}

// Under StatefulPreferred (pptp.mppe.stateful) a pppd with mppe-stateful,
// which asks for stateless but takes stateful when Naked, gets a stateful
// request acknowledged (the server encrypts stateful); a peer that cannot
// do stateful keeps stateless.
func TestStatefulPreferred(t *testing.T) {
	pol := ccp.Policy{Required: true, Stateless: ccp.StatefulPreferred}
	s := newServer(pol)
	pa, _ := peer(hs, false, nil)
	l := run(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result() != (ccp.Result{Send: ccp.MPPE128, Receive: hs}) || s.neg.Err() != nil {
		t.Fatalf("willing peer: server %v %+v %v\n%s", s.a.State(), s.neg.Result(), s.neg.Err(), l)
	}

	s = newServer(pol)
	statelessOnly := func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			if opt, err := ccp.ParseOption(o); err == nil && opt.(ccp.MPPE).Bits&ccp.Stateless == 0 {
				v.Nak(ppp.Option{Type: 18, Data: ccp.MPPE{Bits: opt.(ccp.MPPE).Bits | ccp.Stateless}.Append(nil)[2:]})
			}
		}
	}
	pa, _ = peer(hs, true, statelessOnly)
	l = run(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result() != (ccp.Result{Send: hs, Receive: hs}) || s.neg.Err() != nil {
		t.Fatalf("stateless-only peer: server %v %+v %v\n%s", s.a.State(), s.neg.Result(), s.neg.Err(), l)
	}
}

// With weaker lengths allowed our request offers them all, so that a
// client that takes only one of them (pppd's require-mppe-40) can Nak
// down to it rather than hang up; a peer that Acks several lengths uses
// the one it asked for itself.
func TestRequestOffersEveryAllowedLength(t *testing.T) {
	p := ccp.Policy{Required: true, Allow40: true, Allow56: true}
	s := newServer(p)
	s.a.Open()
	s.a.Up()
	all := ccp.Stateless | ccp.MPPE128 | ccp.MPPE56 | ccp.MPPE40
	if len(s.sent) != 1 || !bytes.Equal(s.sent[0], mppe(ppp.ConfigureRequest, 1, all)) {
		t.Fatalf("our request %x", s.sent)
	}
	// pppd with require-mppe-40: Naks our request down to 40-bit.
	s = newServer(p)
	pa, _ := peer(ccp.Stateless|ccp.MPPE40, false, func(v *ppp.Verdict) {
		if o, ok := v.Options.Find(18); ok && !bytes.Equal(o.Data, []byte{1, 0, 0, 0x20}) {
			v.Nak(ppp.Option{Type: 18, Data: []byte{1, 0, 0, 0x20}})
		}
	})
	l := run(t, s, pa)
	want40 := ccp.Result{Send: ccp.Stateless | ccp.MPPE40, Receive: ccp.Stateless | ccp.MPPE40}
	if s.a.State() != ppp.Opened || s.neg.Result() != want40 {
		t.Fatalf("server %v %+v\n%s", s.a.State(), s.neg.Result(), l)
	}
	// A peer that Acks all our lengths and asks for 56-bit itself.
	s = newServer(p)
	pa, _ = peer(ccp.Stateless|ccp.MPPE56, false, nil)
	l = run(t, s, pa)
	want56 := ccp.Result{Send: ccp.Stateless | ccp.MPPE56, Receive: ccp.Stateless | ccp.MPPE56}
	if s.a.State() != ppp.Opened || s.neg.Result() != want56 {
		t.Fatalf("server %v %+v\n%s", s.a.State(), s.neg.Result(), l)
	}
	// The default policy still asks for 128-bit alone.
	s = newServer(ccp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	if !bytes.Equal(s.sent[0], mppe(ppp.ConfigureRequest, 1, hs)) {
		t.Fatalf("default request %x", s.sent)
	}
}
