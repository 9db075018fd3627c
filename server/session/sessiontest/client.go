// Package sessiontest is a PPP client for tests of the PPTP server: the
// client side of LCP, MS-CHAPv2 (answers computed with authpolicy/mschapv2,
// the server's authenticator response checked), IPCP and CCP, and MPPE with
// the client's keys. It is built from the same server/ppp packages as the
// server, so it proves the session logic, not interoperability: that is
// the Linux client's job (test/interop).
package sessiontest

import (
	"bytes"
	"net/netip"
	"sync"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
)

// client is the test's PPTP client, built from the same ppp packages:
// three automata with client-side handlers, MS-CHAPv2 with
// authpolicy/mschapv2 and MPPE with the client's keys. Its state is
// guarded by mu; frames from the server arrive through receive.
type Client struct {
	mu       sync.Mutex
	user, pw string
	// Insist, when set, is the only authentication method the client
	// takes: it Naks the server's Authentication-Protocol with it.
	Insist lcp.AuthMethod
	// LMOnly makes an MS-CHAPv1 Response without the Use-NT flag.
	LMOnly          bool
	Mute            bool // send nothing
	IgnoreChallenge bool
	ToServer        func(frame []byte)

	lcp, ipcp, ccp *ppp.Automaton
	ipcpH          *clientIPCP
	ccpH           *clientCCP
	tx             []byte

	authChallenge [16]byte
	peerChallenge [16]byte
	ntResponse    [24]byte
	v1Challenge   [8]byte
	success       bool
	fail          *chap.Failure
	failMsg       string
	terminated    bool
	challenges    int
	lcpCodes      map[ppp.Code]int
	ccpCodes      map[ppp.Code]int

	enc   *mppe.Encrypter
	dec   *mppe.Decrypter
	GotIP chan []byte
}

func NewClient(user, pw string) *Client {
	c := &Client{user: user, pw: pw, GotIP: make(chan []byte, 16), lcpCodes: map[ppp.Code]int{}, ccpCodes: map[ppp.Code]int{}}
	c.peerChallenge = [16]byte{0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0x28, 0x29, 0x5f, 0x2b, 0x3a, 0x33, 0x7c, 0x7e}
	c.lcp = ppp.NewAutomaton(ppp.ProtoLCP, &clientLCP{c: c}, c.sender(ppp.ProtoLCP))
	c.ipcpH = &clientIPCP{}
	c.ipcp = ppp.NewAutomaton(ppp.ProtoIPCP, c.ipcpH, c.sender(ppp.ProtoIPCP))
	c.ccpH = &clientCCP{bits: ccp.MPPE128 | ccp.Stateless}
	c.ccp = ppp.NewAutomaton(ppp.ProtoCCP, c.ccpH, c.sender(ppp.ProtoCCP))
	c.lcp.Notify = func(ev ppp.LayerEvent) {
		if ev == ppp.ThisLayerDown {
			c.ipcp.Down()
			c.ccp.Down()
		}
	}
	c.ccp.Notify = func(ev ppp.LayerEvent) {
		if ev == ppp.ThisLayerUp {
			c.startMPPE()
		}
	}
	return c
}

func (c *Client) sender(proto ppp.Protocol) func([]byte) {
	return func(pkt []byte) { c.send(proto, pkt) }
}

func (c *Client) send(proto ppp.Protocol, pkt []byte) {
	if c.Mute {
		return
	}
	c.tx = ppp.AppendFrame(c.tx[:0], proto, pkt, false, false)
	c.ToServer(c.tx)
}

func (c *Client) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lcp.Up()
	c.lcp.Open()
}

func (c *Client) Receive(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil {
		return
	}
	switch proto {
	case ppp.ProtoLCP:
		if len(info) > 0 {
			c.lcpCodes[ppp.Code(info[0])]++
			c.terminated = c.terminated || ppp.Code(info[0]) == ppp.TerminateRequest
		}
		_ = c.lcp.Receive(info)
	case ppp.ProtoCHAP:
		c.receiveCHAP(info)
	case ppp.ProtoIPCP:
		_ = c.ipcp.Receive(info)
	case ppp.ProtoCCP:
		if len(info) > 0 {
			c.ccpCodes[ppp.Code(info[0])]++
		}
		_ = c.ccp.Receive(info)
	case ppp.ProtoIP:
		if c.method() == lcp.CHAPMD5 || c.method() == lcp.PAP {
			c.GotIP <- append([]byte(nil), info...)
		}
	case ppp.ProtoCompressedDatagram:
		if c.dec == nil {
			return
		}
		pt, err := c.dec.Decrypt(nil, info)
		if err != nil {
			return
		}
		if p, ip, ok := ppp.SplitProtocol(pt); ok && p == ppp.ProtoIP {
			c.GotIP <- ip
		}
	}
}

func (c *Client) receiveCHAP(info []byte) {
	if len(info) == 0 {
		return
	}
	switch chap.Code(info[0]) {
	case chap.CodeChallenge:
		c.challenges++
		if c.IgnoreChallenge {
			return
		}
		if c.method() != lcp.MSCHAPv2 {
			c.answerLegacy(info)
			return
		}
		ch, err := chap.ParseChallenge(info)
		if err != nil {
			return
		}
		c.authChallenge = ch.Value
		c.ntResponse = mschapv2.GenerateNTResponse(ch.Value, c.peerChallenge, c.user, mschapv2.NTHash(c.pw))
		r := chap.Response{Identifier: ch.Identifier, PeerChallenge: c.peerChallenge, NTResponse: c.ntResponse, Name: c.user}
		c.send(ppp.ProtoCHAP, r.Append(nil))
	case chap.CodeSuccess:
		if c.method() != lcp.MSCHAPv2 {
			c.success = true
			c.ipcp.Up()
			c.ipcp.Open()
			if c.method() == lcp.MSCHAPv1 {
				c.ccp.Up()
				c.ccp.Open()
			}
			return
		}
		s, err := chap.ParseSuccess(info)
		if err != nil {
			return
		}
		c.success = mschapv2.CheckAuthenticatorResponse(mschapv2.NTHash(c.pw), c.ntResponse, c.peerChallenge, c.authChallenge, c.user, s.AuthenticatorResponse)
		if c.success {
			c.ipcp.Up()
			c.ipcp.Open()
			c.ccp.Up()
			c.ccp.Open()
		}
	case chap.CodeFailure:
		if _, _, msg, err := chap.ParseMessage(info); err == nil {
			c.failMsg = msg
		}
		f, err := chap.ParseFailure(info)
		if err == nil {
			c.fail = &f
		}
	}
}

// method is the authentication method the client agrees to.
func (c *Client) method() lcp.AuthMethod {
	if c.Insist == 0 {
		return lcp.MSCHAPv2
	}
	return c.Insist
}

// answerLegacy answers an MS-CHAPv1 or CHAP-MD5 Challenge.
func (c *Client) answerLegacy(info []byte) {
	id, value, _, err := chap.ParseChallengeValue(info)
	if err != nil {
		return
	}
	switch c.method() {
	case lcp.MSCHAPv1:
		if len(value) != chap.V1ChallengeLen {
			return
		}
		c.v1Challenge = [8]byte(value)
		r := chap.V1Response{Identifier: id, NTResponse: mschapv2.NTResponseV1(c.v1Challenge, mschapv2.NTHash(c.pw)), Flags: 1, Name: c.user}
		if c.LMOnly {
			r.Flags = 0
		}
		c.send(ppp.ProtoCHAP, r.Append(nil))
	case lcp.CHAPMD5:
		r := chap.MD5Response{Identifier: id, Value: authpolicy.CHAPMD5Sum(id, []byte(c.pw), value), Name: c.user}
		c.send(ppp.ProtoCHAP, r.Append(nil))
	}
}

// startMPPE keys the client the other way round: its Send key is the
// server's Recv key. After MS-CHAPv1 both are the one start key.
func (c *Client) startMPPE() {
	hh := mschapv2.HashNTHash(mschapv2.NTHash(c.pw))
	send, recv := mschapv2.MasterSessionKeys(hh, c.ntResponse, false)
	if c.method() == lcp.MSCHAPv1 {
		send = mschapv2.MSCHAPv1StartKey(hh, c.v1Challenge)
		recv = send
	}
	var err error
	stateless := !c.ccpH.stateful
	if c.enc, err = mppe.NewEncrypter(send, 128, stateless); err != nil {
		panic(err)
	}
	if c.dec, err = mppe.NewDecrypter(recv, 128, stateless); err != nil {
		panic(err)
	}
}

func (c *Client) SendIP(ip []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		c.send(ppp.ProtoIP, ip)
		return
	}
	pt := append([]byte{0x00, 0x21}, ip...)
	c.send(ppp.ProtoCompressedDatagram, c.enc.Encrypt(nil, pt))
}

func (c *Client) DataReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.method() == lcp.CHAPMD5 || c.method() == lcp.PAP {
		return c.success && c.ipcp.State() == ppp.Opened
	}
	return c.enc != nil && c.ipcp.State() == ppp.Opened && c.ccp.State() == ppp.Opened
}

// FailureMessage is the Message of the server's CHAP Failure, as text.
func (c *Client) FailureMessage() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failMsg
}

func (c *Client) SuccessOK() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.success
}

func (c *Client) Failure() (chap.Failure, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail == nil {
		return chap.Failure{}, false
	}
	return *c.fail, true
}

func (c *Client) GotTerminate() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.terminated
}

func (c *Client) Addresses() (addr, dns netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ipcpH.addr, c.ipcpH.dns
}

// clientLCP accepts the server's options, MS-CHAPv2 included, or Naks
// the Authentication-Protocol with the method Insist names.
type clientLCP struct{ c *Client }

func (h *clientLCP) AppendConfigureRequest(dst []byte, _ bool) []byte {
	return lcp.MagicNumber(0x0badcafe).Append(dst)
}

func (h *clientLCP) ReceiveConfigureRequest(v *ppp.Verdict) {
	for o := range v.Options.All() {
		if lcp.OptionType(o.Type) != lcp.OptAuthProtocol || h.c.Insist == 0 {
			continue
		}
		want := h.c.Insist.Option()
		data := append([]byte{byte(want.Protocol >> 8), byte(want.Protocol)}, want.Data...)
		if !bytes.Equal(o.Data, data) {
			v.Nak(ppp.Option{Type: o.Type, Data: data})
		}
	}
}

func (h *clientLCP) ReceiveConfigureNak(*ppp.Nak) error { return nil }
func (h *clientLCP) ThisLayerUp()                       {}
func (h *clientLCP) ThisLayerDown()                     {}
func (h *clientLCP) ThisLayerStarted()                  {}
func (h *clientLCP) ThisLayerFinished(error)            {}

// clientIPCP asks for an address and a DNS server and takes what the
// server Naks with.
type clientIPCP struct{ addr, dns netip.Addr }

func (h *clientIPCP) AppendConfigureRequest(dst []byte, _ bool) []byte {
	zero := netip.AddrFrom4([4]byte{})
	addr, dns := h.addr, h.dns
	if !addr.IsValid() {
		addr = zero
	}
	if !dns.IsValid() {
		dns = zero
	}
	return ipcp.AppendOptions(dst, ipcp.Address{Kind: ipcp.OptIPAddress, Addr: addr}, ipcp.Address{Kind: ipcp.OptPrimaryDNS, Addr: dns})
}

func (h *clientIPCP) ReceiveConfigureRequest(*ppp.Verdict) {}

func (h *clientIPCP) ReceiveConfigureNak(n *ppp.Nak) error {
	for o := range n.Options.All() {
		opt, err := ipcp.ParseOption(o)
		if err != nil {
			continue
		}
		if a, ok := opt.(ipcp.Address); ok && !n.Reject {
			switch a.Kind {
			case ipcp.OptIPAddress:
				h.addr = a.Addr
			case ipcp.OptPrimaryDNS:
				h.dns = a.Addr
			}
		}
	}
	return nil
}

func (h *clientIPCP) ThisLayerUp()            {}
func (h *clientIPCP) ThisLayerDown()          {}
func (h *clientIPCP) ThisLayerStarted()       {}
func (h *clientIPCP) ThisLayerFinished(error) {}

// clientCCP requests 128-bit stateless MPPE and accepts the server's.
type clientCCP struct {
	bits     ccp.Bits
	stateful bool // Nak the server's H bit
}

func (h *clientCCP) AppendConfigureRequest(dst []byte, _ bool) []byte {
	return ccp.MPPE{Bits: h.bits}.Append(dst)
}

func (h *clientCCP) ReceiveConfigureRequest(v *ppp.Verdict) {
	if !h.stateful {
		return
	}
	for o := range v.Options.All() {
		if ccp.OptionType(o.Type) == ccp.OptMPPE && len(o.Data) == 4 && o.Data[0]&0x01 != 0 {
			v.Nak(ppp.Option{Type: o.Type, Data: []byte{0, 0, 0, byte(ccp.MPPE128)}})
		}
	}
}

func (h *clientCCP) ReceiveConfigureNak(n *ppp.Nak) error {
	for o := range n.Options.All() {
		if opt, err := ccp.ParseOption(o); err == nil {
			if m, ok := opt.(ccp.MPPE); ok && !n.Reject {
				h.bits = m.Bits
			}
		}
	}
	return nil
}

func (h *clientCCP) ThisLayerUp()            {}
func (h *clientCCP) ThisLayerDown()          {}
func (h *clientCCP) ThisLayerStarted()       {}
func (h *clientCCP) ThisLayerFinished(error) {}

func (c *Client) Codes(proto ppp.Protocol, code ppp.Code) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if proto == ppp.ProtoCCP {
		return c.ccpCodes[code]
	}
	return c.lcpCodes[code]
}

func (c *Client) SendEchoRequest() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.send(ppp.ProtoLCP, ppp.AppendEcho(nil, ppp.EchoRequest, 7, 0x0badcafe, []byte("ping")))
}

// loseIP encrypts a packet and throws it away, as a lossy network would.
func (c *Client) LoseIP(ip []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enc.Encrypt(nil, append([]byte{0x00, 0x21}, ip...))
}

func (c *Client) ChallengeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.challenges
}

// WantStatefulMPPE makes the client ask for 128-bit stateful MPPE instead of
// stateless.
func (c *Client) WantStatefulMPPE() {
	c.ccpH.bits = ccp.MPPE128
	c.ccpH.stateful = true
}
