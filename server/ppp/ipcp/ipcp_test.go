package ipcp_test

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

var (
	local = netip.MustParseAddr("10.8.0.1")
	dns1  = netip.MustParseAddr("10.0.0.53")
	dns2  = netip.MustParseAddr("10.0.0.54")
	wins1 = netip.MustParseAddr("10.0.0.60")
)

// pool hands out 10.8.0.2, 10.8.0.3, ... and records releases.
type pool struct {
	next     byte
	size     int
	released []netip.Addr
	taken    map[netip.Addr]bool
}

func (p *pool) allocate() (netip.Addr, bool) {
	if p.size == 0 {
		return netip.Addr{}, false
	}
	p.size--
	p.next++
	return netip.AddrFrom4([4]byte{10, 8, 0, 1 + p.next}), true
}

func (p *pool) release(a netip.Addr) { p.released = append(p.released, a) }

func (p *pool) accept(a netip.Addr) bool {
	if p.taken[a] {
		return false
	}
	return netip.MustParsePrefix("10.8.0.0/24").Contains(a)
}

func policy(p *pool) ipcp.Policy {
	return ipcp.Policy{
		LocalAddress: local,
		Allocate:     p.allocate,
		Release:      p.release,
		DNS:          []netip.Addr{dns1, dns2},
		WINS:         []netip.Addr{wins1},
	}
}

type server struct {
	neg  *ipcp.Negotiator
	a    *ppp.Automaton
	sent [][]byte
}

func newServer(t *testing.T, p ipcp.Policy) *server {
	t.Helper()
	neg, err := ipcp.NewNegotiator(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{neg: neg}
	s.a = ppp.NewAutomaton(ppp.ProtoIPCP, neg, func(b []byte) { s.sent = append(s.sent, slices.Clone(b)) })
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

func pkt(code ppp.Code, id uint8, opts ...ipcp.Option) []byte {
	return ppp.Packet{Code: code, Identifier: id, Data: ipcp.AppendOptions(nil, opts...)}.Append(nil)
}

func addr(kind ipcp.OptionType, a string) ipcp.Address {
	return ipcp.Address{Kind: kind, Addr: netip.MustParseAddr(a)}
}

var vj = ipcp.IPCompressionProtocol{Protocol: 0x002d, Data: []byte{0x0f, 0x01}}

// A Windows client, byte for byte: it asks for its address, two DNS and
// two WINS servers and Van Jacobson compression, all with 0.0.0.0.
func TestWindowsClientTranscript(t *testing.T) {
	p := &pool{size: 10}
	s := newServer(t, policy(p))
	s.a.Open()
	s.a.Up()
	if want := []byte{0x01, 0x01, 0x00, 0x0a, 0x03, 0x06, 10, 8, 0, 1}; len(s.sent) != 1 || !bytes.Equal(s.sent[0], want) {
		t.Fatalf("our request %x", s.sent)
	}
	// Round 1: compression and the second WINS server are rejected.
	s.exchange(t, []byte{
		0x01, 0x01, 0x00, 0x28,
		0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01,
		0x03, 0x06, 0, 0, 0, 0,
		0x81, 0x06, 0, 0, 0, 0,
		0x82, 0x06, 0, 0, 0, 0,
		0x83, 0x06, 0, 0, 0, 0,
		0x84, 0x06, 0, 0, 0, 0,
	}, []byte{0x04, 0x01, 0x00, 0x10, 0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01, 0x84, 0x06, 0, 0, 0, 0})
	// Round 2: the rest is Naked with real values.
	s.exchange(t, []byte{
		0x01, 0x02, 0x00, 0x1c,
		0x03, 0x06, 0, 0, 0, 0,
		0x81, 0x06, 0, 0, 0, 0,
		0x82, 0x06, 0, 0, 0, 0,
		0x83, 0x06, 0, 0, 0, 0,
	}, []byte{
		0x03, 0x02, 0x00, 0x1c,
		0x03, 0x06, 10, 8, 0, 2,
		0x81, 0x06, 10, 0, 0, 53,
		0x82, 0x06, 10, 0, 0, 60,
		0x83, 0x06, 10, 0, 0, 54,
	})
	s.exchange(t, []byte{0x02, 0x01, 0x00, 0x0a, 0x03, 0x06, 10, 8, 0, 1})
	// Round 3: acknowledged.
	s.exchange(t, []byte{
		0x01, 0x03, 0x00, 0x1c,
		0x03, 0x06, 10, 8, 0, 2,
		0x81, 0x06, 10, 0, 0, 53,
		0x82, 0x06, 10, 0, 0, 60,
		0x83, 0x06, 10, 0, 0, 54,
	}, []byte{
		0x02, 0x03, 0x00, 0x1c,
		0x03, 0x06, 10, 8, 0, 2,
		0x81, 0x06, 10, 0, 0, 53,
		0x82, 0x06, 10, 0, 0, 60,
		0x83, 0x06, 10, 0, 0, 54,
	})
	if s.a.State() != ppp.Opened {
		t.Fatalf("state %v", s.a.State())
	}
	want := ipcp.Result{
		PeerAddress:  netip.MustParseAddr("10.8.0.2"),
		LocalAddress: local,
		DNS:          [2]netip.Addr{dns1, dns2},
		WINS:         [2]netip.Addr{wins1},
	}
	if got := s.neg.Result(); got != want {
		t.Errorf("Result %+v\n want %+v", got, want)
	}
	if p.size != 9 || s.neg.Address() != want.PeerAddress {
		t.Errorf("allocated %d, holds %v", 10-p.size, s.neg.Address())
	}
}

// linuxPeer is a pppd client with noipdefault and usepeerdns: it asks
// for an address and two DNS servers with 0.0.0.0, or with proposal, and
// takes what it is Naked with unless stubborn.
func linuxPeer(proposal netip.Addr, stubborn bool) (*ppp.Automaton, *ppptest.Peer) {
	want := []ipcp.Option{
		ipcp.Address{Kind: ipcp.OptIPAddress, Addr: proposal},
		addr(ipcp.OptPrimaryDNS, "0.0.0.0"),
		addr(ipcp.OptSecondaryDNS, "0.0.0.0"),
	}
	peer := &ppptest.Peer{
		Request: func(bool) []byte { return ipcp.AppendOptions(nil, want...) },
		ApplyNak: func(n *ppp.Nak) error {
			opts, _ := ipcp.ParseOptions(n.Options)
			for _, o := range opts {
				for i, w := range want {
					if w.Type() == o.Type() {
						if n.Reject {
							want = slices.Delete(want, i, i+1)
						} else if !stubborn || o.Type() != ipcp.OptIPAddress {
							want[i] = o
						}
						break
					}
				}
			}
			return nil
		},
	}
	return ppp.NewAutomaton(ppp.ProtoIPCP, peer, nil), peer
}

func run(t *testing.T, s *server, peer *ppp.Automaton) *ppptest.Link {
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

func TestLinuxPeer(t *testing.T) {
	p := &pool{size: 1}
	s := newServer(t, policy(p))
	pa, _ := linuxPeer(netip.IPv4Unspecified(), false)
	l := run(t, s, pa)
	if s.a.State() != ppp.Opened || pa.State() != ppp.Opened {
		t.Fatalf("server %v client %v\n%s", s.a.State(), pa.State(), l)
	}
	want := ipcp.Result{PeerAddress: netip.MustParseAddr("10.8.0.2"), LocalAddress: local, DNS: [2]netip.Addr{dns1, dns2}}
	if got := s.neg.Result(); got != want {
		t.Errorf("Result %+v", got)
	}
}

// A client proposing its own address keeps it when the policy allows and
// the address is free; the pool is not touched.
func TestAcceptPeerAddress(t *testing.T) {
	p := &pool{size: 5}
	pol := policy(p)
	pol.AcceptPeerAddress = p.accept
	s := newServer(t, pol)
	pa, _ := linuxPeer(netip.MustParseAddr("10.8.0.77"), false)
	l := run(t, s, pa)
	if s.a.State() != ppp.Opened || s.neg.Result().PeerAddress != netip.MustParseAddr("10.8.0.77") || p.size != 5 {
		t.Fatalf("server %v %+v pool %d\n%s", s.a.State(), s.neg.Result(), p.size, l)
	}
}

// Without the setting the client's proposal is Naked with a pool address,
// and a client that takes it gets it.
func TestProposalRefused(t *testing.T) {
	for _, tt := range []struct {
		name   string
		accept bool
		prop   string
	}{
		{"not allowed", false, "10.8.0.77"},
		{"taken", true, "10.8.0.99"},
		{"outside the pool", true, "192.168.1.5"},
		{"our own address", true, "10.8.0.1"},
		{"multicast", true, "224.0.0.1"},
		{"loopback", true, "127.0.0.1"},
		{"broadcast", true, "255.255.255.255"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &pool{size: 5, taken: map[netip.Addr]bool{netip.MustParseAddr("10.8.0.99"): true}}
			pol := policy(p)
			if tt.accept {
				pol.AcceptPeerAddress = p.accept
			}
			s := newServer(t, pol)
			pa, _ := linuxPeer(netip.MustParseAddr(tt.prop), false)
			l := run(t, s, pa)
			if s.a.State() != ppp.Opened || s.neg.Result().PeerAddress != netip.MustParseAddr("10.8.0.2") {
				t.Fatalf("server %v %+v\n%s", s.a.State(), s.neg.Result(), l)
			}
		})
	}
}

// A client that insists on a refused address: after Max-Failure Naks
// IPCP closes, saying what to enable.
func TestPeerInsistsOnAddress(t *testing.T) {
	p := &pool{size: 5}
	s := newServer(t, policy(p))
	pa, _ := linuxPeer(netip.MustParseAddr("10.8.0.77"), true)
	l := run(t, s, pa)
	var are *ipcp.AddressRefusedError
	if s.a.State() != ppp.Closed || !errors.As(s.a.Err(), &are) {
		t.Fatalf("server %v err %v\n%s", s.a.State(), s.a.Err(), l)
	}
	const want = "peer insists on address 10.8.0.77 instead of 10.8.0.2, which is refused (enable pptp.accept_client_address to allow it)"
	if got := s.a.Err().Error(); got != want {
		t.Errorf("reason %q", got)
	}
	if p.size != 4 {
		t.Errorf("pool used %d", 5-p.size)
	}
}

func TestPoolExhausted(t *testing.T) {
	s := newServer(t, policy(&pool{}))
	pa, _ := linuxPeer(netip.IPv4Unspecified(), false)
	l := run(t, s, pa)
	if s.a.State() != ppp.Closed || !errors.Is(s.a.Err(), ipcp.ErrNoAddress) {
		t.Fatalf("server %v err %v\n%s", s.a.State(), s.a.Err(), l)
	}
}

// RFC 1332 section 3.3: a request without IP-Address gets one suggested.
func TestMissingAddressSuggested(t *testing.T) {
	p := &pool{size: 1}
	s := newServer(t, policy(p))
	s.a.Open()
	s.a.Up()
	s.exchange(t, pkt(ppp.ConfigureRequest, 1, addr(ipcp.OptPrimaryDNS, "10.0.0.53")),
		pkt(ppp.ConfigureNak, 1, addr(ipcp.OptIPAddress, "10.8.0.2")))
	// A peer that never takes the hint: IPCP closes after Max-Failure.
	for i := range 5 {
		s.sent = nil
		_ = s.a.Receive(pkt(ppp.ConfigureRequest, uint8(2+i), addr(ipcp.OptPrimaryDNS, "10.0.0.53")))
	}
	if s.a.State() != ppp.Closing || !errors.Is(s.a.Err(), ipcp.ErrNoPeerAddress) {
		t.Errorf("state %v err %v", s.a.State(), s.a.Err())
	}
}

// A client first given a pool address, then granted one of its own: the
// pool address goes back.
func TestSwitchReleases(t *testing.T) {
	p := &pool{size: 5}
	pol := policy(p)
	pol.AcceptPeerAddress = p.accept
	s := newServer(t, pol)
	s.a.Open()
	s.a.Up()
	s.exchange(t, pkt(ppp.ConfigureRequest, 1, addr(ipcp.OptIPAddress, "0.0.0.0")),
		pkt(ppp.ConfigureNak, 1, addr(ipcp.OptIPAddress, "10.8.0.2")))
	s.exchange(t, pkt(ppp.ConfigureRequest, 2, addr(ipcp.OptIPAddress, "10.8.0.50")),
		pkt(ppp.ConfigureAck, 2, addr(ipcp.OptIPAddress, "10.8.0.50")))
	if !slices.Equal(p.released, []netip.Addr{netip.MustParseAddr("10.8.0.2")}) || s.neg.Address() != netip.MustParseAddr("10.8.0.50") {
		t.Errorf("released %v holds %v", p.released, s.neg.Address())
	}
}

// A fixed address (RADIUS Framed-IP-Address) wins over the pool and over
// the client's wishes.
func TestFixedAddress(t *testing.T) {
	p := &pool{size: 5}
	pol := policy(p)
	pol.Address = netip.MustParseAddr("10.9.9.9")
	pol.AcceptPeerAddress = p.accept
	s := newServer(t, pol)
	s.a.Open()
	s.a.Up()
	s.exchange(t, pkt(ppp.ConfigureRequest, 1, addr(ipcp.OptIPAddress, "10.8.0.50")),
		pkt(ppp.ConfigureNak, 1, addr(ipcp.OptIPAddress, "10.9.9.9")))
	s.exchange(t, pkt(ppp.ConfigureRequest, 2, addr(ipcp.OptIPAddress, "10.9.9.9")),
		pkt(ppp.ConfigureAck, 2, addr(ipcp.OptIPAddress, "10.9.9.9")))
	if p.size != 5 {
		t.Error("pool used")
	}
}

func TestServerJudgesRequests(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		code ppp.Code
		out  []byte
	}{
		{"DNS naked", []byte{0x03, 0x06, 10, 8, 0, 2, 0x81, 0x06, 8, 8, 8, 8}, ppp.ConfigureNak, []byte{0x81, 0x06, 10, 0, 0, 53}},
		{"WINS not configured rejected", []byte{0x03, 0x06, 10, 8, 0, 2, 0x84, 0x06, 0, 0, 0, 0}, ppp.ConfigureReject, []byte{0x84, 0x06, 0, 0, 0, 0}},
		{"IP-Addresses rejected", []byte{0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x06, 10, 8, 0, 2}, ppp.ConfigureReject, []byte{0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"VJ rejected", []byte{0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01, 0x03, 0x06, 10, 8, 0, 2}, ppp.ConfigureReject, []byte{0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01}},
		{"bad length rejected", []byte{0x03, 0x05, 10, 8, 0, 0x81, 0x06, 10, 0, 0, 53}, ppp.ConfigureReject, []byte{0x03, 0x05, 10, 8, 0}},
		{"duplicate rejected", []byte{0x03, 0x06, 10, 8, 0, 2, 0x03, 0x06, 10, 8, 0, 2}, ppp.ConfigureReject, []byte{0x03, 0x06, 10, 8, 0, 2}},
		{"unknown rejected", []byte{0x03, 0x06, 10, 8, 0, 2, 0x90, 0x02}, ppp.ConfigureReject, []byte{0x90, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pool{size: 1}
			s := newServer(t, policy(p))
			s.a.Open()
			s.a.Up()
			// The client's address is assigned first.
			_ = s.a.Receive(pkt(ppp.ConfigureRequest, 1, addr(ipcp.OptIPAddress, "0.0.0.0")))
			s.exchange(t, ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 9, Data: tt.in}.Append(nil),
				ppp.Packet{Code: tt.code, Identifier: 9, Data: tt.out}.Append(nil))
		})
	}
}

// Our own address: a Nak is ignored until Max-Failure, a Reject stops
// sending it.
func TestOurAddress(t *testing.T) {
	s := newServer(t, policy(&pool{size: 1}))
	s.a.Open()
	s.a.Up()
	ours := pkt(ppp.ConfigureRequest, 2, addr(ipcp.OptIPAddress, "10.8.0.1"))
	s.exchange(t, pkt(ppp.ConfigureNak, 1, addr(ipcp.OptIPAddress, "192.168.0.1")), ours)
	s.exchange(t, pkt(ppp.ConfigureReject, 2, addr(ipcp.OptIPAddress, "10.8.0.1")), pkt(ppp.ConfigureRequest, 3))
}

func TestPolicyValidation(t *testing.T) {
	alloc := func() (netip.Addr, bool) { return netip.Addr{}, false }
	for _, p := range []ipcp.Policy{
		{},
		{Allocate: alloc, LocalAddress: netip.MustParseAddr("::1")},
		{Address: netip.MustParseAddr("0.0.0.0")},
		{Allocate: alloc, DNS: []netip.Addr{dns1, dns1, dns1}},
		{Allocate: alloc, WINS: []netip.Addr{netip.MustParseAddr("fe80::1")}},
	} {
		if _, err := ipcp.NewNegotiator(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestOptionVectors(t *testing.T) {
	tests := []struct {
		enc []byte
		opt ipcp.Option
		str string
	}{
		{[]byte{0x03, 0x06, 10, 8, 0, 2}, addr(ipcp.OptIPAddress, "10.8.0.2"), "IP-Address 10.8.0.2"},
		{[]byte{0x81, 0x06, 10, 0, 0, 53}, addr(ipcp.OptPrimaryDNS, "10.0.0.53"), "Primary-DNS-Address 10.0.0.53"},
		{[]byte{0x82, 0x06, 0, 0, 0, 0}, addr(ipcp.OptPrimaryNBNS, "0.0.0.0"), "Primary-NBNS-Address 0.0.0.0"},
		{[]byte{0x83, 0x06, 1, 1, 1, 1}, addr(ipcp.OptSecondaryDNS, "1.1.1.1"), "Secondary-DNS-Address 1.1.1.1"},
		{[]byte{0x84, 0x06, 1, 2, 3, 4}, addr(ipcp.OptSecondaryNBNS, "1.2.3.4"), "Secondary-NBNS-Address 1.2.3.4"},
		{[]byte{0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01}, vj, "IP-Compression-Protocol Van-Jacobson [0f 01]"},
		{[]byte{0x01, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8},
			ipcp.IPAddresses{Source: netip.MustParseAddr("1.2.3.4"), Destination: netip.MustParseAddr("5.6.7.8")}, "IP-Addresses 1.2.3.4 5.6.7.8"},
		{[]byte{0x90, 0x03, 0x01}, ipcp.Unknown{Option: ppp.Option{Type: 0x90, Data: []byte{1}}}, "option 144 [01]"},
	}
	for _, tt := range tests {
		if got := tt.opt.Append(nil); !bytes.Equal(got, tt.enc) {
			t.Errorf("%v: Append [% x]", tt.opt, got)
		}
		opts, err := ipcp.ParseOptions(tt.enc)
		if err != nil || len(opts) != 1 || opts[0].String() != tt.str || !bytes.Equal(opts[0].Append(nil), tt.enc) {
			t.Errorf("[% x]: %v %v", tt.enc, opts, err)
		}
	}
	for _, b := range [][]byte{
		{0x03, 0x05, 1, 2, 3},
		{0x81, 0x07, 1, 2, 3, 4, 5},
		{0x01, 0x06, 1, 2, 3, 4},
		{0x02, 0x03, 0x00},
	} {
		if _, err := ipcp.ParseOptions(b); !errors.Is(err, ipcp.ErrOptionLength) {
			t.Errorf("[% x]: %v", b, err)
		}
	}
}
