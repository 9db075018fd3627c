package lcp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Defaults of Policy.
const (
	// DefaultMinMRU is the smallest MRU a peer may declare: 576 octets,
	// the datagram every IPv4 host must accept (RFC 791). A smaller one
	// is Naked up to it.
	DefaultMinMRU = 576
	// DefaultMaxMRU is the largest MRU we take when the peer Naks ours.
	DefaultMaxMRU = ppp.DefaultMRU
	// DefaultLoopbackLimit is how many times our own Magic-Number may
	// come back before the link is declared looped back; pppd's
	// lcp-max-loopback default is the same.
	DefaultLoopbackLimit = 10
)

// Policy is the server's LCP configuration.
type Policy struct {
	// Auth lists the authentication methods the server may ask the
	// peer for, most preferred first. Empty means MS-CHAPv2 only.
	Auth []AuthMethod
	// MRU is the Maximum-Receive-Unit we ask for; 0 asks for nothing,
	// leaving the default of 1500.
	MRU uint16
	// MinMRU is the smallest MRU the peer may declare, and the
	// smallest we take when it Naks ours; 0 means DefaultMinMRU.
	MinMRU uint16
	// MaxMRU is the largest MRU we take when the peer Naks ours; 0
	// means DefaultMaxMRU. A peer may declare a larger MRU of its own:
	// that only bounds what we send, and the session sends at most its
	// MTU anyway.
	MaxMRU uint16
	// PFC and ACFC ask the peer to compress the frames it sends us.
	// Whatever they say, frames are accepted compressed or not, and
	// the peer's own requests for them are always acknowledged.
	PFC, ACFC bool
	// LoopbackLimit is DefaultLoopbackLimit when 0.
	LoopbackLimit int
	// Magic returns a random Magic-Number; nil uses math/rand/v2. Zero
	// results are drawn again.
	Magic func() uint32
}

// DefaultPolicy asks for MS-CHAPv2, a Magic-Number, PFC and ACFC, as pppd
// does.
func DefaultPolicy() Policy {
	return Policy{Auth: []AuthMethod{MSCHAPv2}, PFC: true, ACFC: true}
}

// Result is what LCP agreed, valid from This-Layer-Up.
type Result struct {
	// Auth is the authentication method the peer accepted.
	Auth AuthMethod
	// PeerMRU is the peer's MRU: the largest Information field we may
	// send (1500 when it declared none).
	PeerMRU uint16
	// MRU is ours as the peer accepted it (1500 when we asked none).
	MRU uint16
	// Magic is our Magic-Number and PeerMagic the peer's; 0 when not
	// negotiated.
	Magic, PeerMagic uint32
	// SendPFC and SendACFC say that the peer asked for compressed
	// frames and we may send them (the acfc and pfc of
	// ppp.AppendFrame).
	SendPFC, SendACFC bool
	// ReceivePFC and ReceiveACFC say that the peer accepted ours and may
	// compress what it sends us.
	ReceivePFC, ReceiveACFC bool
}

// wishes is what we put in our Configure-Request.
type wishes struct {
	mru       uint16 // 0: not asked
	auth      AuthMethod
	magic     uint32 // 0: not asked
	pfc, acfc bool
}

// peerOptions is what the peer asked for in a request we acknowledged.
type peerOptions struct {
	mru       uint16
	magic     uint32
	pfc, acfc bool
}

// Negotiator is the server's LCP: a ppp.LinkHandler for the automaton,
// with the Policy's settings. It also answers Identification and
// Time-Remaining (RFC 1570) and keeps the state of the echo keepalive.
// Like the automaton, it belongs to the session goroutine.
type Negotiator struct {
	// ProtocolRejected, if set, is told of each protocol the peer
	// rejects with Protocol-Reject; the session passes it on to that
	// protocol's automaton (ppp.Automaton.ProtocolRejected).
	ProtocolRejected func(proto ppp.Protocol)

	policy Policy
	want   wishes
	peer   peerOptions
	result Result
	up     bool

	nakMagic uint32 // the Magic-Number we last suggested to the peer
	loops    int
	// insisted is the last Authentication-Protocol the peer suggested in
	// a Configure-Nak that the Policy refuses; a Configure-Reject that
	// follows names it.
	insisted *AuthProtocol

	echoID          uint8
	echoOutstanding int
	echoBuf         [4]byte
	loopedBack      bool

	identification []string
}

var (
	_ ppp.LinkHandler = (*Negotiator)(nil)
	_ ppp.Extension   = (*Negotiator)(nil)
)

// NewNegotiator checks p and returns a Negotiator for it.
func NewNegotiator(p Policy) (*Negotiator, error) {
	if len(p.Auth) == 0 {
		p.Auth = []AuthMethod{MSCHAPv2}
	}
	for _, m := range p.Auth {
		if m < MSCHAPv2 || m > PAP {
			return nil, fmt.Errorf("lcp: unknown authentication method %v", m)
		}
	}
	if p.MinMRU == 0 {
		p.MinMRU = DefaultMinMRU
	}
	if p.MaxMRU == 0 {
		p.MaxMRU = DefaultMaxMRU
	}
	if p.MinMRU > p.MaxMRU {
		return nil, fmt.Errorf("lcp: MinMRU %d above MaxMRU %d", p.MinMRU, p.MaxMRU)
	}
	if p.MRU != 0 && (p.MRU < p.MinMRU || p.MRU > p.MaxMRU) {
		return nil, fmt.Errorf("lcp: MRU %d outside %d..%d", p.MRU, p.MinMRU, p.MaxMRU)
	}
	if p.LoopbackLimit == 0 {
		p.LoopbackLimit = DefaultLoopbackLimit
	}
	if p.Magic == nil {
		p.Magic = rand.Uint32
	}
	p.Auth = slices.Clone(p.Auth)
	n := &Negotiator{policy: p}
	n.want.auth = p.Auth[0]
	return n, nil
}

func (n *Negotiator) reset() {
	n.want = wishes{mru: n.policy.MRU, auth: n.policy.Auth[0], magic: n.newMagic(), pfc: n.policy.PFC, acfc: n.policy.ACFC}
	n.loops = 0
	n.nakMagic = 0
}

func (n *Negotiator) newMagic() uint32 {
	for {
		if m := n.policy.Magic(); m != 0 {
			return m
		}
	}
}

// Result returns what was agreed. It is valid while the layer is up.
func (n *Negotiator) Result() Result { return n.result }

// AppendConfigureRequest implements ppp.Handler: MRU when asked,
// Authentication-Protocol, Magic-Number, PFC and ACFC, in type order.
func (n *Negotiator) AppendConfigureRequest(dst []byte, restart bool) []byte {
	if restart {
		n.reset()
	}
	if n.want.mru != 0 {
		dst = MRU(n.want.mru).Append(dst)
	}
	dst = n.want.auth.Option().Append(dst)
	if n.want.magic != 0 {
		dst = MagicNumber(n.want.magic).Append(dst)
	}
	if n.want.pfc {
		dst = PFC{}.Append(dst)
	}
	if n.want.acfc {
		dst = ACFC{}.Append(dst)
	}
	return dst
}

// ReceiveConfigureRequest implements ppp.Handler. It acknowledges MRU
// (Naking one below MinMRU), ACCM (ignored), Magic-Number, PFC and ACFC,
// and rejects everything else, including an Authentication-Protocol:
// the server does not authenticate itself to clients. An option sent
// twice or with a wrong length is rejected.
func (n *Negotiator) ReceiveConfigureRequest(v *ppp.Verdict) {
	// RFC 1661 section 6.4: our own Magic-Number may mean a looped-back
	// link. Answer with a Nak of it alone, so that on a loop our Nak
	// comes back to us and proves it.
	if o, ok := v.Options.Find(byte(OptMagicNumber)); ok && len(o.Data) == 4 && n.want.magic != 0 &&
		binary.BigEndian.Uint32(o.Data) == n.want.magic {
		n.loops++
		if n.loops >= n.policy.LoopbackLimit {
			v.Fail(ErrLoopedBack)
			return
		}
		n.nakMagic = n.newMagic()
		v.Nak(ppp.Option{Type: byte(OptMagicNumber), Data: binary.BigEndian.AppendUint32(nil, n.nakMagic)})
		return
	}
	var p peerOptions
	var seen [256]bool
	for o := range v.Options.All() {
		if seen[o.Type] {
			v.Reject(o)
			continue
		}
		seen[o.Type] = true
		opt, err := ParseOption(o)
		if err != nil {
			v.Reject(o)
			continue
		}
		switch x := opt.(type) {
		case MRU:
			if uint16(x) < n.policy.MinMRU {
				v.Nak(ppp.Option{Type: byte(OptMRU), Data: binary.BigEndian.AppendUint16(nil, n.policy.MinMRU)})
				continue
			}
			p.mru = uint16(x)
		case ACCM:
			// Asynchronous links only; nothing to do over GRE.
		case MagicNumber:
			if x == 0 {
				// "A Magic-Number of zero is illegal and MUST
				// always be Nak'd" (RFC 1661 section 6.4).
				v.Nak(ppp.Option{Type: byte(OptMagicNumber), Data: binary.BigEndian.AppendUint32(nil, n.newMagic())})
				continue
			}
			p.magic = uint32(x)
		case PFC:
			p.pfc = true
		case ACFC:
			p.acfc = true
		default:
			v.Reject(o)
		}
	}
	if v.Good() {
		n.peer = p
	}
}

// ReceiveConfigureNak implements ppp.Handler.
//
// A Configure-Reject of the Authentication-Protocol ends LCP
// (ErrAuthRejected, or an *AuthRefusedError with Rejected set when the
// peer had Naked it with a method the Policy refuses); of other options it
// stops asking for them. A
// Configure-Nak of the Authentication-Protocol switches to the method the
// peer suggests if the Policy allows it, else to the next allowed method,
// else keeps asking; after Max-Failure Naks in a row it ends LCP with an
// *AuthRefusedError naming what the peer insists on.
func (n *Negotiator) ReceiveConfigureNak(nk *ppp.Nak) error {
	for o := range nk.Options.All() {
		opt, err := ParseOption(o)
		if err != nil {
			continue
		}
		if nk.Reject {
			switch opt.(type) {
			case MRU:
				n.want.mru = 0
			case AuthProtocol:
				if n.insisted != nil {
					// pppd turns its Naks into a Reject after its own
					// max-failure: the cause is still what it asked.
					return &AuthRefusedError{Insisted: *n.insisted, Rejected: true}
				}
				return ErrAuthRejected
			case MagicNumber:
				n.want.magic = 0
			case PFC:
				n.want.pfc = false
			case ACFC:
				n.want.acfc = false
			}
			continue
		}
		switch x := opt.(type) {
		case MRU:
			if uint16(x) >= n.policy.MinMRU && uint16(x) <= n.policy.MaxMRU {
				n.want.mru = uint16(x)
			} else {
				n.want.mru = 0 // fall back to the default of 1500
			}
		case AuthProtocol:
			if err := n.authNaked(x, nk); err != nil {
				return err
			}
		case MagicNumber:
			// RFC 1661 section 6.4: our own suggestion coming back
			// makes a loop likelier; either way choose anew.
			if n.nakMagic != 0 && uint32(x) == n.nakMagic {
				n.loops++
				if n.loops >= n.policy.LoopbackLimit {
					return ErrLoopedBack
				}
			}
			n.want.magic = n.newMagic()
		}
	}
	return nil
}

func (n *Negotiator) authNaked(suggested AuthProtocol, nk *ppp.Nak) error {
	m := suggested.Method()
	if m != 0 && m != n.want.auth && slices.Contains(n.policy.Auth, m) {
		n.want.auth = m
		return nil
	}
	if !slices.Contains(n.policy.Auth, m) || m == 0 {
		n.insisted = &AuthProtocol{Protocol: suggested.Protocol, Data: bytes.Clone(suggested.Data)}
	}
	// A suggestion we cannot follow: try the next method we may offer,
	// unless the peer Naks us with the very method we offered.
	if i := slices.Index(n.policy.Auth, n.want.auth); m != n.want.auth && i >= 0 && i+1 < len(n.policy.Auth) {
		n.want.auth = n.policy.Auth[i+1]
		return nil
	}
	if nk.Exhausted() {
		return &AuthRefusedError{
			Insisted: AuthProtocol{Protocol: suggested.Protocol, Data: bytes.Clone(suggested.Data)},
			Allowed:  m != 0 && slices.Contains(n.policy.Auth, m),
		}
	}
	return nil
}

// ThisLayerUp implements ppp.Handler: it fixes the Result.
func (n *Negotiator) ThisLayerUp() {
	n.result = Result{
		Auth:        n.want.auth,
		PeerMRU:     cmp(n.peer.mru, ppp.DefaultMRU),
		MRU:         cmp(n.want.mru, ppp.DefaultMRU),
		Magic:       n.want.magic,
		PeerMagic:   n.peer.magic,
		SendPFC:     n.peer.pfc,
		SendACFC:    n.peer.acfc,
		ReceivePFC:  n.want.pfc,
		ReceiveACFC: n.want.acfc,
	}
	n.up = true
	n.echoOutstanding = 0
	n.loopedBack = false
}

func cmp(v, def uint16) uint16 {
	if v == 0 {
		return def
	}
	return v
}

// ThisLayerDown implements ppp.Handler.
func (n *Negotiator) ThisLayerDown() { n.up = false }

// ThisLayerStarted implements ppp.Handler.
func (n *Negotiator) ThisLayerStarted() {}

// ThisLayerFinished implements ppp.Handler.
func (n *Negotiator) ThisLayerFinished(error) { n.up = false }

// ReceiveProtocolReject implements ppp.LinkHandler.
func (n *Negotiator) ReceiveProtocolReject(proto ppp.Protocol, _ []byte) {
	if n.ProtocolRejected != nil {
		n.ProtocolRejected(proto)
	}
}

// maxIdentification bounds the Identification messages kept, and their
// length.
const (
	maxIdentification    = 4
	maxIdentificationLen = 64
)

// ReceiveExtension implements ppp.Extension: Identification and
// Time-Remaining (RFC 1570 section 2) are taken silently; Identification
// messages (Windows sends its RAS version and host name) are kept for
// the logs.
func (n *Negotiator) ReceiveExtension(_ *ppp.Automaton, p ppp.Packet) bool {
	switch p.Code {
	case ppp.Identification:
		if _, msg, err := ppp.ParseEcho(p.Data); err == nil && len(n.identification) < maxIdentification {
			msg = msg[:min(len(msg), maxIdentificationLen)]
			n.identification = append(n.identification, string(msg))
		}
		return true
	case ppp.TimeRemaining:
		return true
	}
	return false
}

// Identification returns the Identification messages the peer sent
// (RFC 1570 section 2.1), at most 4 of at most 64 octets each, as sent:
// quote them before logging.
func (n *Negotiator) Identification() []string { return n.identification }
