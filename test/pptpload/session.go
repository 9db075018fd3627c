package pptpload

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
)

// Failure reasons, as the report counts them.
const (
	ReasonConnect       = "connect"           // no TCP connection to the control port
	ReasonStartControl  = "start-control"     // Start-Control-Connection refused or unanswered
	ReasonCallRefused   = "call-refused"      // Outgoing-Call-Reply other than Connected; RefusedReason adds its codes
	ReasonCallTimeout   = "call-timeout"      // no Outgoing-Call-Reply
	ReasonAuthFailed    = "auth-failed"       // CHAP Failure
	ReasonAuthenticator = "bad-authenticator" // CHAP Success with a wrong authenticator response
	ReasonLCP           = "lcp-closed"        // LCP finished (Terminate, Max-Configure)
	ReasonDisconnected  = "disconnected"      // Call-Disconnect-Notify, or the control connection went
	ReasonTimeout       = "setup-timeout"     // no data phase within the setup timeout
	ReasonNoCallID      = "no-call-id"        // every client Call ID of the source is in use
	ReasonStopControl   = "stop-control"      // the server sent Stop-Control-Connection-Request, then closed
)

// SessionOptions says as whom a session logs in and which MPPE mode it
// asks for.
type SessionOptions struct {
	User, Password string
	// Stateful asks for stateful MPPE both ways (Naks the server's H bit
	// and requests no H bit); otherwise stateless.
	Stateful bool
	// RestartInterval is the PPP Restart timer (default 1s).
	RestartInterval time.Duration
}

// Session is the PPP client of one call: LCP, MS-CHAPv2, IPCP, CCP and
// MPPE over the GRE socket of its source address. Its state is guarded
// by mu; frames from the server arrive through receive, called by the
// socket's reader goroutine.
type Session struct {
	CallID     uint16 // the client's Call ID (GRE packets to us carry it)
	PeerCallID uint16 // the server's Call ID (our GRE packets carry it)

	sock *GRESocket
	opts SessionOptions

	ready chan struct{} // closed at the data phase
	done  chan struct{} // closed at the first failure
	once  sync.Once
	why   atomic.Pointer[string]

	mu struct {
		sync.Mutex
		lcp, ipcp, ccp *ppp.Automaton
		timers         [3]*time.Timer
		magic          uint32
		peerChallenge  [16]byte
		authChallenge  [16]byte
		ntResponse     [24]byte
		sendBits       ccp.Bits // the server's request as we acked it: our encrypter
		recvBits       ccp.Bits // our request as the server acked it: our decrypter
		enc            *mppe.Encrypter
		dec            *mppe.Decrypter
		addr, peer     netip.Addr
		txSeq          uint32
		rxSeq          uint32
		rxAny          bool
		resetSent      time.Time
		started        bool
		early          [][]byte // frames that came before Start
		frame, ctl     []byte   // control frames
		data           []byte   // data packets: GRE header room, PPP, MPPE, IP
		ipID           uint16
	}

	// Counters of the data phase, read by the report.
	TxPackets, RxPackets, RxBytes, RxEchoReplies, RxUDP, DecryptErrors atomic.Uint64
	LCPEchoesAnswered                                                  atomic.Uint64
	// RxUDPBy counts the UDP datagrams received by the first octet of
	// their payload: a storm's window (see StormReport).
	RxUDPBy [windows]atomic.Uint64
}

// greRoom is the room kept in front of a data packet for the longest
// enhanced GRE header (sequence and acknowledgment).
const greRoom = 16

func newSession(sock *GRESocket, callID uint16, o SessionOptions) *Session {
	if o.RestartInterval == 0 {
		o.RestartInterval = time.Second
	}
	s := &Session{CallID: callID, sock: sock, opts: o, ready: make(chan struct{}), done: make(chan struct{})}
	var b [20]byte
	_, _ = rand.Read(b[:])
	s.mu.magic = binary.BigEndian.Uint32(b[:4]) | 1
	copy(s.mu.peerChallenge[:], b[4:])
	s.mu.lcp = s.automaton(0, ppp.ProtoLCP, &clientLCP{s: s})
	s.mu.ipcp = s.automaton(1, ppp.ProtoIPCP, &clientIPCP{s: s})
	bits := ccp.MPPE128 | ccp.Stateless
	if o.Stateful {
		bits = ccp.MPPE128
	}
	s.mu.ccp = s.automaton(2, ppp.ProtoCCP, &clientCCP{s: s, bits: bits})
	s.mu.lcp.Notify = func(ev ppp.LayerEvent) {
		switch ev {
		case ppp.ThisLayerDown:
			s.mu.ipcp.Down()
			s.mu.ccp.Down()
		case ppp.ThisLayerFinished:
			s.fail(ReasonLCP)
		}
	}
	notify := func(ppp.LayerEvent) { s.checkReadyLocked() }
	s.mu.ipcp.Notify = notify
	s.mu.ccp.Notify = func(ev ppp.LayerEvent) {
		if ev == ppp.ThisLayerUp {
			s.startMPPELocked()
		}
		s.checkReadyLocked()
	}
	return s
}

func (s *Session) automaton(i int, proto ppp.Protocol, h ppp.Handler) *ppp.Automaton {
	a := ppp.NewAutomaton(proto, h, func(pkt []byte) { s.sendControlLocked(proto, pkt) })
	a.RestartInterval = s.opts.RestartInterval
	a.SetTimer = func(d time.Duration) {
		t := s.mu.timers[i]
		switch {
		case d == 0 && t != nil:
			t.Stop()
		case d == 0:
		case t == nil:
			s.mu.timers[i] = time.AfterFunc(d, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				a.Timeout()
			})
		default:
			t.Reset(d)
		}
	}
	return a
}

// Ready is closed when the session reaches the data phase.
func (s *Session) Ready() <-chan struct{} { return s.ready }

// Done is closed when the session fails; Reason says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Reason is the first failure's reason ("" while none).
func (s *Session) Reason() string {
	if p := s.why.Load(); p != nil {
		return *p
	}
	return ""
}

func (s *Session) fail(reason string) {
	s.once.Do(func() {
		s.why.Store(&reason)
		close(s.done)
	})
}

// Start starts LCP, once the server's Call ID is known; the rest follows
// from the server's packets. Frames that came before (the server's first
// Configure-Request may overtake its Outgoing-Call-Reply) are handled
// then.
func (s *Session) Start(peerCallID uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.PeerCallID = peerCallID
	s.mu.started = true
	s.mu.lcp.Up()
	s.mu.lcp.Open()
	early := s.mu.early
	s.mu.early = nil
	for _, f := range early {
		s.receiveLocked(f)
	}
}

// Stop stops the session's timers; the caller clears the call.
func (s *Session) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.mu.timers {
		if t != nil {
			t.Stop()
		}
	}
	s.sock.unregister(s)
}

// Addresses returns the session's own address and the server's, from
// IPCP.
func (s *Session) Addresses() (local, peer netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addr, s.mu.peer
}

// MPPEModes says which mode each direction of MPPE runs in.
func (s *Session) MPPEModes() (send, recv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mode := func(b ccp.Bits) string {
		if b&ccp.Stateless != 0 {
			return "stateless"
		}
		return "stateful"
	}
	return mode(s.mu.sendBits), mode(s.mu.recvBits)
}

func (s *Session) checkReadyLocked() {
	if s.mu.enc != nil && s.mu.ipcp.State() == ppp.Opened && s.mu.ccp.State() == ppp.Opened {
		select {
		case <-s.ready:
		default:
			close(s.ready)
		}
	}
}

// startMPPELocked keys MPPE the client's way round: its send key is the
// server's receive key. Each direction runs in the mode of the request
// that describes its receiver (RFC 1962: a Configure-Request says what
// its sender receives).
func (s *Session) startMPPELocked() {
	hh := mschapv2.HashNTHash(mschapv2.NTHash(s.opts.Password))
	send, recv := mschapv2.MasterSessionKeys(hh, s.mu.ntResponse, false)
	enc, err1 := mppe.NewEncrypter(send, 128, s.mu.sendBits&ccp.Stateless != 0)
	dec, err2 := mppe.NewDecrypter(recv, 128, s.mu.recvBits&ccp.Stateless != 0)
	if err := errors.Join(err1, err2); err != nil {
		s.fail("mppe")
		return
	}
	s.mu.enc, s.mu.dec = enc, dec
}

// sendControlLocked sends one control packet (LCP, CHAP, IPCP, CCP) in a
// GRE data packet. pkt must not alias the session's control buffers.
func (s *Session) sendControlLocked(proto ppp.Protocol, pkt []byte) {
	s.mu.frame = ppp.AppendFrame(s.mu.frame[:0], proto, pkt, false, false)
	h := gre.Header{CallID: s.PeerCallID, SequencePresent: true, SequenceNumber: s.mu.txSeq,
		AcknowledgmentPresent: s.mu.rxAny, AcknowledgmentNumber: s.mu.rxSeq}
	s.mu.txSeq++
	s.mu.ctl = gre.AppendPacket(s.mu.ctl[:0], h, s.mu.frame)
	_ = s.sock.send(s.mu.ctl)
}

// receive takes one GRE packet's PPP frame from the server.
func (s *Session) receive(h gre.Header, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.SequencePresent {
		s.mu.rxSeq, s.mu.rxAny = h.SequenceNumber, true
	}
	if !s.mu.started {
		if len(s.mu.early) < 8 {
			s.mu.early = append(s.mu.early, append([]byte(nil), frame...))
		}
		return
	}
	s.receiveLocked(frame)
}

func (s *Session) receiveLocked(frame []byte) {
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil {
		return
	}
	switch proto {
	case ppp.ProtoCompressedDatagram:
		s.receiveDataLocked(info)
	case ppp.ProtoLCP:
		_ = s.mu.lcp.Receive(info)
	case ppp.ProtoCHAP:
		s.receiveCHAPLocked(info)
	case ppp.ProtoIPCP:
		_ = s.mu.ipcp.Receive(info)
	case ppp.ProtoCCP:
		s.receiveCCPLocked(info)
	}
}

func (s *Session) receiveDataLocked(info []byte) {
	if s.mu.dec == nil {
		return
	}
	pt, err := s.mu.dec.Decrypt(info[:0], info)
	if err != nil {
		s.DecryptErrors.Add(1)
		if errors.Is(err, mppe.ErrNeedReset) && time.Since(s.mu.resetSent) > 100*time.Millisecond {
			s.mu.resetSent = time.Now()
			s.sendControlLocked(ppp.ProtoCCP, ppp.Packet{Code: ppp.ResetRequest, Identifier: uint8(s.mu.txSeq)}.Append(nil))
		}
		return
	}
	p, ip, ok := ppp.SplitProtocol(pt)
	if !ok || p != ppp.ProtoIP {
		return
	}
	s.RxPackets.Add(1)
	s.RxBytes.Add(uint64(len(ip)))
	switch classify(ip) {
	case kindEchoReply:
		s.RxEchoReplies.Add(1)
	case kindUDP:
		s.RxUDP.Add(1)
		if len(ip) > ipv4HeaderLen+udpHeaderLen && int(ip[ipv4HeaderLen+udpHeaderLen]) < len(s.RxUDPBy) {
			s.RxUDPBy[ip[ipv4HeaderLen+udpHeaderLen]].Add(1)
		}
	}
}

func (s *Session) receiveCCPLocked(info []byte) {
	if len(info) > 0 {
		switch ppp.Code(info[0]) {
		case ppp.ResetRequest:
			if s.mu.enc != nil {
				s.mu.enc.ResetRequest()
			}
			id := uint8(0)
			if len(info) > 1 {
				id = info[1]
			}
			s.sendControlLocked(ppp.ProtoCCP, ppp.Packet{Code: ppp.ResetAck, Identifier: id}.Append(nil))
			return
		case ppp.ResetAck:
			return
		}
	}
	_ = s.mu.ccp.Receive(info)
}

func (s *Session) receiveCHAPLocked(info []byte) {
	if len(info) == 0 {
		return
	}
	switch chap.Code(info[0]) {
	case chap.CodeChallenge:
		ch, err := chap.ParseChallenge(info)
		if err != nil {
			return
		}
		s.mu.authChallenge = ch.Value
		s.mu.ntResponse = mschapv2.GenerateNTResponse(ch.Value, s.mu.peerChallenge, s.opts.User, mschapv2.NTHash(s.opts.Password))
		r := chap.Response{Identifier: ch.Identifier, PeerChallenge: s.mu.peerChallenge, NTResponse: s.mu.ntResponse, Name: s.opts.User}
		s.sendControlLocked(ppp.ProtoCHAP, r.Append(nil))
	case chap.CodeSuccess:
		m, err := chap.ParseSuccess(info)
		if err != nil || !mschapv2.CheckAuthenticatorResponse(mschapv2.NTHash(s.opts.Password), s.mu.ntResponse, s.mu.peerChallenge, s.mu.authChallenge, s.opts.User, m.AuthenticatorResponse) {
			s.fail(ReasonAuthenticator)
			return
		}
		s.mu.ipcp.Up()
		s.mu.ipcp.Open()
		s.mu.ccp.Up()
		s.mu.ccp.Open()
	case chap.CodeFailure:
		s.fail(ReasonAuthFailed)
	}
}

// SendIP sends one IPv4 packet, built by fill into the session's buffer,
// MPPE-encrypted in place. It reports false before the data phase.
// fill gets a slice of n octets and the session's own and peer
// addresses.
func (s *Session) SendIP(n int, fill func(ip []byte, local, peer netip.Addr, id uint16)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.enc == nil {
		return false
	}
	// [GRE room 16][ff 03 00 fd][MPPE header 2][00 21][IP packet n]
	const pppOff, mppeOff, ptOff = greRoom, greRoom + 4, greRoom + 6
	need := ptOff + 2 + n
	if cap(s.mu.data) < need {
		s.mu.data = make([]byte, need, need+64)
	}
	b := s.mu.data[:need]
	b[pppOff], b[pppOff+1], b[pppOff+2], b[pppOff+3] = 0xff, 0x03, 0x00, 0xfd
	b[ptOff], b[ptOff+1] = 0x00, 0x21
	s.mu.ipID++
	fill(b[ptOff+2:], s.mu.addr, s.mu.peer, s.mu.ipID)
	pkt := s.mu.enc.Encrypt(b[mppeOff:mppeOff], b[ptOff:need])
	frame := b[pppOff : mppeOff+len(pkt)]
	h := gre.Header{CallID: s.PeerCallID, SequencePresent: true, SequenceNumber: s.mu.txSeq,
		AcknowledgmentPresent: s.mu.rxAny, AcknowledgmentNumber: s.mu.rxSeq, PayloadLength: uint16(len(frame))}
	s.mu.txSeq++
	start := pppOff - h.Len()
	h.Append(b[start:start])
	if s.sock.send(b[start:pppOff+len(frame)]) == nil {
		s.TxPackets.Add(1)
	}
	return true
}

// clientLCP asks for a Magic-Number only and takes the server's options,
// Naking any authentication protocol but MS-CHAPv2. It answers
// Echo-Requests (the automaton does, as a LinkHandler's).
type clientLCP struct{ s *Session }

func (h *clientLCP) AppendConfigureRequest(dst []byte, _ bool) []byte {
	return lcp.MagicNumber(h.s.mu.magic).Append(dst)
}

func (h *clientLCP) ReceiveConfigureRequest(v *ppp.Verdict) {
	want := lcp.MSCHAPv2.Option().Append(nil)
	for o := range v.Options.All() {
		if lcp.OptionType(o.Type) == lcp.OptAuthProtocol && !bytes.Equal(ppp.AppendOption(nil, o.Type, o.Data...), want) {
			v.Nak(ppp.Option{Type: o.Type, Data: want[2:]})
		}
	}
}

func (h *clientLCP) ReceiveConfigureNak(*ppp.Nak) error { return nil }
func (h *clientLCP) ThisLayerUp()                       {}
func (h *clientLCP) ThisLayerDown()                     {}
func (h *clientLCP) ThisLayerStarted()                  {}
func (h *clientLCP) ThisLayerFinished(error)            {}
func (h *clientLCP) MagicNumber() uint32                { return h.s.mu.magic }
func (h *clientLCP) ReceiveEcho(p ppp.Packet) {
	if p.Code == ppp.EchoRequest {
		h.s.LCPEchoesAnswered.Add(1)
	}
}
func (h *clientLCP) ReceiveProtocolReject(proto ppp.Protocol, _ []byte) {
	switch proto {
	case ppp.ProtoIPCP:
		h.s.mu.ipcp.ProtocolRejected()
	case ppp.ProtoCCP:
		h.s.mu.ccp.ProtocolRejected()
	}
}

// clientIPCP asks for an address (and takes the server's Nak), and
// acknowledges the server's request, keeping its address.
type clientIPCP struct{ s *Session }

func (h *clientIPCP) AppendConfigureRequest(dst []byte, _ bool) []byte {
	addr := h.s.mu.addr
	if !addr.IsValid() {
		addr = netip.AddrFrom4([4]byte{})
	}
	return ipcp.AppendOptions(dst, ipcp.Address{Kind: ipcp.OptIPAddress, Addr: addr})
}

func (h *clientIPCP) ReceiveConfigureRequest(v *ppp.Verdict) {
	for o := range v.Options.All() {
		opt, err := ipcp.ParseOption(o)
		if err != nil {
			v.Reject(o)
			continue
		}
		if a, ok := opt.(ipcp.Address); ok && a.Kind == ipcp.OptIPAddress {
			h.s.mu.peer = a.Addr
			continue
		}
		v.Reject(o)
	}
}

func (h *clientIPCP) ReceiveConfigureNak(n *ppp.Nak) error {
	for o := range n.Options.All() {
		opt, err := ipcp.ParseOption(o)
		if err != nil {
			continue
		}
		if a, ok := opt.(ipcp.Address); ok && !n.Reject && a.Kind == ipcp.OptIPAddress {
			h.s.mu.addr = a.Addr
		}
	}
	return nil
}

func (h *clientIPCP) ThisLayerUp()            {}
func (h *clientIPCP) ThisLayerDown()          {}
func (h *clientIPCP) ThisLayerStarted()       {}
func (h *clientIPCP) ThisLayerFinished(error) {}

// clientCCP requests 128-bit MPPE in the session's mode and takes the
// server's Nak; it acknowledges the server's MPPE request, Naking its H
// bit when stateful, and rejects every other compression.
type clientCCP struct {
	s    *Session
	bits ccp.Bits
}

func (h *clientCCP) AppendConfigureRequest(dst []byte, _ bool) []byte {
	h.s.mu.recvBits = h.bits
	return ccp.MPPE{Bits: h.bits}.Append(dst)
}

func (h *clientCCP) ReceiveConfigureRequest(v *ppp.Verdict) {
	for o := range v.Options.All() {
		opt, err := ccp.ParseOption(o)
		m, ok := opt.(ccp.MPPE)
		if err != nil || !ok {
			v.Reject(o)
			continue
		}
		if h.s.opts.Stateful && m.Bits&ccp.Stateless != 0 {
			v.Nak(ppp.Option{Type: o.Type, Data: ccp.MPPE{Bits: m.Bits &^ ccp.Stateless}.Append(nil)[2:]})
			continue
		}
		h.s.mu.sendBits = m.Bits
	}
}

func (h *clientCCP) ReceiveConfigureNak(n *ppp.Nak) error {
	for o := range n.Options.All() {
		if opt, err := ccp.ParseOption(o); err == nil {
			if m, ok := opt.(ccp.MPPE); ok && !n.Reject {
				h.bits = m.Bits
				if !h.s.opts.Stateful {
					h.bits |= ccp.Stateless // ask again: a server that prefers stateful gives in
				}
			}
		}
	}
	return nil
}

func (h *clientCCP) ThisLayerUp()            {}
func (h *clientCCP) ThisLayerDown()          {}
func (h *clientCCP) ThisLayerStarted()       {}
func (h *clientCCP) ThisLayerFinished(error) {}
