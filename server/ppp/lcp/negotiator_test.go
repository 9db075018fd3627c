package lcp_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

// counter returns Magic-Numbers 0x10000001, 0x10000002, ...
func counter() func() uint32 {
	n := uint32(0x10000000)
	return func() uint32 { n++; return n }
}

type server struct {
	neg  *lcp.Negotiator
	a    *ppp.Automaton
	sent [][]byte
}

func newServer(t *testing.T, p lcp.Policy) *server {
	t.Helper()
	if p.Magic == nil {
		p.Magic = counter()
	}
	neg, err := lcp.NewNegotiator(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{neg: neg}
	s.a = ppp.NewAutomaton(ppp.ProtoLCP, neg, func(b []byte) { s.sent = append(s.sent, slices.Clone(b)) })
	return s
}

// exchange feeds the server one packet and checks what it sends back.
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

// hexb is shorthand for packets in the transcripts.
func hexb(b ...byte) []byte { return b }

// A Windows PPTP client, byte for byte: it asks for MRU 1400, its
// Magic-Number, PFC, ACFC and CBCP callback; the server rejects the
// callback, the client asks again without it.
func TestWindowsClientTranscript(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	// Our request: Authentication-Protocol CHAP/MS-CHAPv2, Magic-Number,
	// PFC, ACFC.
	want := hexb(0x01, 0x01, 0x00, 0x13,
		0x03, 0x05, 0xc2, 0x23, 0x81,
		0x05, 0x06, 0x10, 0x00, 0x00, 0x01,
		0x07, 0x02,
		0x08, 0x02)
	if len(s.sent) != 1 || !bytes.Equal(s.sent[0], want) {
		t.Fatalf("request [% x]\n want [% x]", s.sent, want)
	}
	ourRequest := s.sent[0]

	s.exchange(t,
		hexb(0x01, 0x00, 0x00, 0x15, 0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x3a, 0x1b, 0x2c, 0x4d, 0x07, 0x02, 0x08, 0x02, 0x0d, 0x03, 0x06),
		hexb(0x04, 0x00, 0x00, 0x07, 0x0d, 0x03, 0x06))
	ack := slices.Clone(ourRequest)
	ack[0] = 0x02
	s.exchange(t, ack)
	if s.a.State() != ppp.AckRcvd {
		t.Fatalf("state %v", s.a.State())
	}
	s.exchange(t,
		hexb(0x01, 0x01, 0x00, 0x12, 0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x3a, 0x1b, 0x2c, 0x4d, 0x07, 0x02, 0x08, 0x02),
		hexb(0x02, 0x01, 0x00, 0x12, 0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x3a, 0x1b, 0x2c, 0x4d, 0x07, 0x02, 0x08, 0x02))
	if s.a.State() != ppp.Opened {
		t.Fatalf("state %v", s.a.State())
	}
	want2 := lcp.Result{
		Auth: lcp.MSCHAPv2, PeerMRU: 1400, MRU: 1500, Magic: 0x10000001, PeerMagic: 0x3a1b2c4d,
		SendPFC: true, SendACFC: true, ReceivePFC: true, ReceiveACFC: true,
	}
	if got := s.neg.Result(); got != want2 {
		t.Errorf("Result = %+v\n want %+v", got, want2)
	}
	// Windows then identifies itself (RFC 1570 section 2.1); that is
	// taken silently.
	s.exchange(t, hexb(0x0c, 0x02, 0x00, 0x12, 0x3a, 0x1b, 0x2c, 0x4d, 'M', 'S', 'R', 'A', 'S', 'V', '5', '.', '2', '0'))
	s.exchange(t, hexb(0x0d, 0x03, 0x00, 0x0c, 0x3a, 0x1b, 0x2c, 0x4d, 0x00, 0x00, 0x0e, 0x10))
	if got := s.neg.Identification(); !slices.Equal(got, []string{"MSRASV5.20"}) {
		t.Errorf("Identification = %q", got)
	}
	// Its echo is answered with our Magic-Number.
	s.exchange(t, hexb(0x09, 0x03, 0x00, 0x08, 0x3a, 0x1b, 0x2c, 0x4d),
		hexb(0x0a, 0x03, 0x00, 0x08, 0x10, 0x00, 0x00, 0x01))
}

// pppdPeer is a Linux pppd-like client: it asks for MRU 1400, a
// Magic-Number, PFC and ACFC, and accepts what the server asks.
func pppdPeer(judge func(*ppp.Verdict)) (*ppp.Automaton, *ppptest.LinkPeer) {
	peer := &ppptest.LinkPeer{Peer: ppptest.Peer{
		Request: func(bool) []byte {
			return lcp.AppendOptions(nil, lcp.MRU(1400), lcp.MagicNumber(0xcafef00d), lcp.PFC{}, lcp.ACFC{})
		},
		Judge: judge,
		Magic: 0xcafef00d,
	}}
	return ppp.NewAutomaton(ppp.ProtoLCP, peer, nil), peer
}

func connect(t *testing.T, s *server, peer *ppp.Automaton) *ppptest.Link {
	t.Helper()
	l := ppptest.NewLink(s.a, peer)
	l.Names = [2]string{"server", "client"}
	s.a.Open()
	peer.Open()
	s.a.Up()
	peer.Up()
	l.Run(1000)
	return l
}

func TestPppdPeer(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	pa, _ := pppdPeer(nil)
	l := connect(t, s, pa)
	if s.a.State() != ppp.Opened || pa.State() != ppp.Opened {
		t.Fatalf("server %v client %v\n%s", s.a.State(), pa.State(), l)
	}
	want := lcp.Result{
		Auth: lcp.MSCHAPv2, PeerMRU: 1400, MRU: 1500, Magic: 0x10000001, PeerMagic: 0xcafef00d,
		SendPFC: true, SendACFC: true, ReceivePFC: true, ReceiveACFC: true,
	}
	if got := s.neg.Result(); got != want {
		t.Errorf("Result = %+v\n want %+v", got, want)
	}
}

// naksAuthWith answers every Authentication-Protocol with a Nak asking
// for want.
func naksAuthWith(want lcp.AuthProtocol) func(*ppp.Verdict) {
	return func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			if o.Type == byte(lcp.OptAuthProtocol) {
				opt, _ := lcp.ParseOption(o)
				if a := opt.(lcp.AuthProtocol); a.Method() != want.Method() || a.Protocol != want.Protocol {
					enc := want.Append(nil)
					v.Nak(ppp.Option{Type: enc[0], Data: enc[2:]})
				}
			}
		}
	}
}

// A peer that insists on a weak method the Policy refuses: the server
// keeps asking for MS-CHAPv2 and, after Max-Failure Naks, closes LCP with
// a reason that tells the operator what to do.
func TestPeerInsistsOnWeakAuth(t *testing.T) {
	tests := []struct {
		insists lcp.AuthProtocol
		reason  string
	}{
		{lcp.PAP.Option(), "peer insists on PAP, which is refused (enable pptp.auth.pap to allow it)"},
		{lcp.CHAPMD5.Option(), "peer insists on CHAP-MD5, which is refused (enable pptp.auth.chap_md5 to allow it)"},
		{lcp.MSCHAPv1.Option(), "peer insists on MS-CHAPv1, which is refused (enable pptp.auth.mschapv1 to allow it)"},
		{lcp.AuthProtocol{Protocol: ppp.ProtoEAP}, "peer insists on Authentication-Protocol EAP, which is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.insists.String(), func(t *testing.T) {
			s := newServer(t, lcp.DefaultPolicy())
			pa, peer := pppdPeer(naksAuthWith(tt.insists))
			l := connect(t, s, pa)
			if s.a.State() != ppp.Closed {
				t.Fatalf("server %v\n%s", s.a.State(), l)
			}
			var are *lcp.AuthRefusedError
			if !errors.As(s.a.Err(), &are) || s.a.Err().Error() != tt.reason {
				t.Errorf("reason %q, want %q", s.a.Err(), tt.reason)
			}
			// Every request the server sent asked for MS-CHAPv2.
			if peer.Requests != ppp.DefaultMaxFailure {
				t.Errorf("%d requests judged by the peer, want %d\n%s", peer.Requests, ppp.DefaultMaxFailure, l)
			}
			for _, line := range l.Transcript {
				if bytes.Contains([]byte(line), []byte("server→client Configure-Request")) &&
					!bytes.Contains([]byte(line), []byte("03 05 c2 23 81")) {
					t.Errorf("server asked for something else: %s", line)
				}
			}
		})
	}
}

// With PAP enabled, the server follows the peer's Nak.
func TestPAPAllowed(t *testing.T) {
	s := newServer(t, lcp.Policy{Auth: []lcp.AuthMethod{lcp.MSCHAPv2, lcp.PAP}})
	pa, _ := pppdPeer(naksAuthWith(lcp.PAP.Option()))
	l := connect(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result().Auth != lcp.PAP {
		t.Fatalf("server %v auth %v\n%s", s.a.State(), s.neg.Result().Auth, l)
	}
	// A new negotiation starts again from the preferred method.
	s.a.Close(nil)
	l.Run(100)
	n := len(l.Transcript)
	s.a.Open()
	l.Run(100)
	if !strings.HasPrefix(l.Transcript[n], "server→client Configure-Request") || !strings.Contains(l.Transcript[n], "03 05 c2 23 81") {
		t.Errorf("first request after reopening: %s", l.Transcript[n])
	}
	if s.a.State() != ppp.Opened || s.neg.Result().Auth != lcp.PAP {
		t.Errorf("server %v auth %v\n%s", s.a.State(), s.neg.Result().Auth, l)
	}
}

// A disallowed suggestion moves on to the next allowed method.
func TestNextAllowedMethod(t *testing.T) {
	s := newServer(t, lcp.Policy{Auth: []lcp.AuthMethod{lcp.MSCHAPv2, lcp.MSCHAPv1}})
	pa, _ := pppdPeer(func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			if o.Type == 3 && o.Data[2] == lcp.AlgorithmMSCHAPv2 {
				v.Nak(ppp.Option{Type: 3, Data: []byte{0xc0, 0x23}}) // PAP
			}
		}
	})
	l := connect(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result().Auth != lcp.MSCHAPv1 {
		t.Fatalf("server %v auth %v\n%s", s.a.State(), s.neg.Result().Auth, l)
	}
}

func TestPeerRejectsAuth(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	pa, _ := pppdPeer(func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			if o.Type == 3 {
				v.Reject(o)
			}
		}
	})
	l := connect(t, s, pa)
	if s.a.State() != ppp.Closed || !errors.Is(s.a.Err(), lcp.ErrAuthRejected) {
		t.Fatalf("server %v err %v\n%s", s.a.State(), s.a.Err(), l)
	}
}

// The server judges single requests.
func TestServerJudgesRequests(t *testing.T) {
	tests := []struct {
		name string
		in   []byte // options of the peer's request
		code ppp.Code
		out  []byte
	}{
		{"small MRU naked up", hexb(0x01, 0x04, 0x01, 0x2c), ppp.ConfigureNak, hexb(0x01, 0x04, 0x02, 0x40)},
		{"big MRU acked", hexb(0x01, 0x04, 0x23, 0x28), ppp.ConfigureAck, nil},
		{"ACCM acked", hexb(0x02, 0x06, 0x00, 0x00, 0x00, 0x00), ppp.ConfigureAck, nil},
		{"auth asked of us rejected", hexb(0x01, 0x04, 0x05, 0x78, 0x03, 0x04, 0xc0, 0x23), ppp.ConfigureReject, hexb(0x03, 0x04, 0xc0, 0x23)},
		{"quality protocol rejected", hexb(0x04, 0x08, 0xc0, 0x25, 0, 0, 0, 10), ppp.ConfigureReject, hexb(0x04, 0x08, 0xc0, 0x25, 0, 0, 0, 10)},
		{"multilink rejected", hexb(0x11, 0x04, 0x05, 0xd4, 0x13, 0x03, 0x00), ppp.ConfigureReject, hexb(0x11, 0x04, 0x05, 0xd4, 0x13, 0x03, 0x00)},
		{"bad MRU length rejected", hexb(0x01, 0x03, 0x05), ppp.ConfigureReject, hexb(0x01, 0x03, 0x05)},
		{"duplicate rejected", hexb(0x07, 0x02, 0x07, 0x02), ppp.ConfigureReject, hexb(0x07, 0x02)},
		{"reject wins over nak", hexb(0x01, 0x04, 0x00, 0x40, 0x0d, 0x03, 0x06), ppp.ConfigureReject, hexb(0x0d, 0x03, 0x06)},
		{"zero magic naked", hexb(0x05, 0x06, 0, 0, 0, 0), ppp.ConfigureNak, hexb(0x05, 0x06, 0x10, 0x00, 0x00, 0x02)},
		{"empty acked", nil, ppp.ConfigureAck, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, lcp.DefaultPolicy())
			s.a.Open()
			s.a.Up()
			req := ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 7, Data: tt.in}.Append(nil)
			out := tt.out
			if tt.code == ppp.ConfigureAck {
				out = tt.in
			}
			s.exchange(t, req, ppp.Packet{Code: tt.code, Identifier: 7, Data: out}.Append(nil))
		})
	}
}

// Our own MRU: the peer's Nak is followed within bounds, else dropped.
func TestOurMRUNaked(t *testing.T) {
	for _, tt := range []struct {
		nak  uint16
		want []byte // the MRU option of the next request, or nil
	}{
		{1000, hexb(0x01, 0x04, 0x03, 0xe8)},
		{100, nil},
		{1600, nil},
	} {
		s := newServer(t, lcp.Policy{MRU: 1400, PFC: false})
		s.a.Open()
		s.a.Up()
		s.exchange(t, ppp.Packet{Code: ppp.ConfigureNak, Identifier: 1, Data: lcp.MRU(tt.nak).Append(nil)}.Append(nil),
			s.nextRequest(tt.want))
	}
}

// nextRequest is our request number 2 with mru (or none) before the
// fixed options of the default policy without PFC and ACFC.
func (s *server) nextRequest(mru []byte) []byte {
	data := append(slices.Clone(mru), 0x03, 0x05, 0xc2, 0x23, 0x81, 0x05, 0x06, 0x10, 0x00, 0x00, 0x01)
	return ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 2, Data: data}.Append(nil)
}

// Rejected options are not asked for again.
func TestOurOptionsRejected(t *testing.T) {
	s := newServer(t, lcp.Policy{MRU: 1400, PFC: true, ACFC: true})
	s.a.Open()
	s.a.Up()
	s.exchange(t, hexb(0x04, 0x01, 0x00, 0x12, 0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x10, 0x00, 0x00, 0x01, 0x07, 0x02, 0x08, 0x02),
		hexb(0x01, 0x02, 0x00, 0x09, 0x03, 0x05, 0xc2, 0x23, 0x81))
	// Without a Magic-Number, echoes carry zero.
	s.exchange(t, hexb(0x02, 0x02, 0x00, 0x09, 0x03, 0x05, 0xc2, 0x23, 0x81))
	s.exchange(t, hexb(0x01, 0x09, 0x00, 0x04), hexb(0x02, 0x09, 0x00, 0x04))
	if r := s.neg.Result(); r.Magic != 0 || r.ReceivePFC || r.ReceiveACFC || r.MRU != 1500 {
		t.Errorf("Result %+v", r)
	}
	s.exchange(t, hexb(0x09, 0x05, 0x00, 0x08, 1, 2, 3, 4), hexb(0x0a, 0x05, 0x00, 0x08, 0, 0, 0, 0))
}

// RFC 1661 section 6.4: a request carrying our own Magic-Number is Naked
// with another, and nothing else is judged.
func TestMagicCollision(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	s.a.Open()
	s.a.Up()
	s.exchange(t,
		hexb(0x01, 0x05, 0x00, 0x10, 0x03, 0x04, 0xc0, 0x23, 0x05, 0x06, 0x10, 0x00, 0x00, 0x01, 0x07, 0x02),
		hexb(0x03, 0x05, 0x00, 0x0a, 0x05, 0x06, 0x10, 0x00, 0x00, 0x02))
}

// A looped-back link: everything the server sends comes back to it.
func TestLoopedBack(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	var queue [][]byte
	s.a.Send = func(b []byte) { queue = append(queue, slices.Clone(b)) }
	s.a.Open()
	s.a.Up()
	for i := 0; i < 1000 && len(queue) > 0; i++ {
		b := queue[0]
		queue = queue[1:]
		_ = s.a.Receive(b)
	}
	if !errors.Is(s.a.Err(), lcp.ErrLoopedBack) {
		t.Fatalf("state %v err %v", s.a.State(), s.a.Err())
	}
}

func TestEchoKeepalive(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	pa, peer := pppdPeer(nil)
	l := connect(t, s, pa)
	if s.a.State() != ppp.Opened {
		t.Fatalf("not opened\n%s", l)
	}
	p := s.neg.EchoRequest()
	if got := p.Append(nil); !bytes.Equal(got, hexb(0x09, 0x01, 0x00, 0x08, 0x10, 0x00, 0x00, 0x01)) {
		t.Errorf("Echo-Request [% x]", got)
	}
	s.neg.EchoRequest()
	if s.neg.EchoOutstanding() != 2 {
		t.Errorf("outstanding %d", s.neg.EchoOutstanding())
	}
	s.a.SendPacket(s.neg.EchoRequest())
	l.Run(10)
	if s.neg.EchoOutstanding() != 0 || len(peer.Echoes) != 1 {
		t.Errorf("after reply: outstanding %d, peer saw %d", s.neg.EchoOutstanding(), len(peer.Echoes))
	}
	if s.neg.LoopedBack() {
		t.Error("looped back")
	}
	// Our own Magic-Number coming back.
	_ = s.a.Receive(hexb(0x0a, 0x09, 0x00, 0x08, 0x10, 0x00, 0x00, 0x01))
	if !s.neg.LoopedBack() {
		t.Error("own magic not seen")
	}
}

func TestProtocolRejectForwarded(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	var got []ppp.Protocol
	s.neg.ProtocolRejected = func(p ppp.Protocol) { got = append(got, p) }
	pa, _ := pppdPeer(nil)
	connect(t, s, pa)
	s.a.Send = func(b []byte) { s.sent = append(s.sent, slices.Clone(b)) }
	_ = s.a.Receive(hexb(0x08, 0x11, 0x00, 0x0a, 0x80, 0xfd, 0x01, 0x01, 0x00, 0x04))
	if !slices.Equal(got, []ppp.Protocol{ppp.ProtoCCP}) {
		t.Errorf("forwarded %v", got)
	}
	// CCP's Reset-Request is unknown to LCP.
	s.exchange(t, hexb(0x0e, 0x01, 0x00, 0x04), hexb(0x07, 0x02, 0x00, 0x08, 0x0e, 0x01, 0x00, 0x04))
}

// A peer that Naks MS-CHAPv2 asking for MS-CHAPv2 cannot be satisfied;
// the server does not fall back to a weaker method for it.
func TestPeerNaksWithSameMethod(t *testing.T) {
	s := newServer(t, lcp.Policy{Auth: []lcp.AuthMethod{lcp.MSCHAPv2, lcp.PAP}})
	pa, _ := pppdPeer(func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			if o.Type == 3 {
				v.Nak(o)
			}
		}
	})
	l := connect(t, s, pa)
	if s.a.State() != ppp.Closed || s.a.Err() == nil || s.a.Err().Error() != "peer keeps refusing MS-CHAPv2 although it asks for it" {
		t.Fatalf("server %v err %v\n%s", s.a.State(), s.a.Err(), l)
	}
	if strings.Contains(l.String(), "03 04 c0 23") {
		t.Errorf("fell back to PAP\n%s", l)
	}
}

func TestPolicyValidation(t *testing.T) {
	for _, p := range []lcp.Policy{
		{Auth: []lcp.AuthMethod{0}},
		{MinMRU: 1500, MaxMRU: 1000},
		{MRU: 100},
		{MRU: 2000},
	} {
		if _, err := lcp.NewNegotiator(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// pppd Naks an Authentication-Protocol it will not do, and after its own
// max-failure Rejects it: the cause still names what it asked for.
func TestPeerNaksThenRejectsAuth(t *testing.T) {
	s := newServer(t, lcp.DefaultPolicy())
	naks := 0
	pa, _ := pppdPeer(func(v *ppp.Verdict) {
		for o := range v.Options.All() {
			if o.Type != 3 {
				continue
			}
			if naks < 2 {
				naks++
				v.Nak(ppp.Option{Type: 3, Data: []byte{0xc2, 0x23, lcp.AlgorithmMD5}})
			} else {
				v.Reject(o)
			}
		}
	})
	l := connect(t, s, pa)
	err := s.a.Err()
	var refused *lcp.AuthRefusedError
	if s.a.State() != ppp.Closed || !errors.As(err, &refused) || !refused.Rejected || !errors.Is(err, lcp.ErrAuthRejected) {
		t.Fatalf("server %v err %v\n%s", s.a.State(), err, l)
	}
	if want := "peer insists on CHAP-MD5, which is refused (enable pptp.auth.chap_md5 to allow it), and then rejected the Authentication-Protocol option"; err.Error() != want {
		t.Errorf("cause %q, want %q", err, want)
	}
}
