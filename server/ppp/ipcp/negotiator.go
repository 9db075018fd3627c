package ipcp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Policy is the server's IPCP configuration.
type Policy struct {
	// LocalAddress is the server's own PPP address, sent in our
	// Configure-Request; the zero Addr sends none.
	LocalAddress netip.Addr
	// Address, when valid, is the peer's address, fixed (for example by
	// a RADIUS Framed-IP-Address); the peer may not choose another.
	Address netip.Addr
	// Allocate hands out an address from the pool when Address is not
	// set; false means the pool is exhausted.
	Allocate func() (netip.Addr, bool)
	// Release gives back an address Allocate handed out that the
	// negotiator no longer holds, because the peer kept one of its own.
	Release func(netip.Addr)
	// AcceptPeerAddress, when set and Address is not, is asked about an
	// address the peer proposes; true means it is allowed and free, and
	// now held for this session (pptp.accept_client_address). nil
	// refuses every proposal.
	AcceptPeerAddress func(netip.Addr) bool
	// DNS and WINS are the name servers offered, primary first, at most
	// two each (RFC 1877). A request for one not configured is rejected.
	DNS, WINS []netip.Addr
}

// Result is what IPCP agreed, valid from This-Layer-Up.
type Result struct {
	// PeerAddress is the client's address.
	PeerAddress netip.Addr
	// LocalAddress is ours as the peer accepted it; the zero Addr when
	// we sent none or the peer rejected it.
	LocalAddress netip.Addr
	// DNS and WINS are the servers the peer took, primary and
	// secondary; the zero Addr where it asked for none.
	DNS, WINS [2]netip.Addr
}

// Reasons IPCP closes with.
var (
	// ErrNoAddress: neither Policy.Address nor the pool had an address.
	ErrNoAddress = errors.New("no address for the client: the address pool is exhausted")
	// ErrNoPeerAddress: after Max-Failure Naks the peer still leaves
	// the IP-Address option out or asks with 0.0.0.0, so it would run
	// without the address the server routes to it.
	ErrNoPeerAddress = errors.New("peer does not take the address it is offered")
)

// AddressRefusedError is the reason IPCP closes when the peer insists,
// for Max-Failure rounds, on an address the server will not give it.
type AddressRefusedError struct {
	Requested, Offered netip.Addr
	// CanAccept says whether the policy lets clients keep addresses of
	// their own at all.
	CanAccept bool
}

func (e *AddressRefusedError) Error() string {
	if !e.CanAccept {
		return fmt.Sprintf("peer insists on address %v instead of %v, which is refused (enable pptp.accept_client_address to allow it)", e.Requested, e.Offered)
	}
	return fmt.Sprintf("peer insists on address %v instead of %v, and %v is not free or not allowed", e.Requested, e.Offered, e.Requested)
}

// pending is what the peer asked for in a request we acknowledged.
type pending struct {
	addr      netip.Addr
	dns, wins [2]netip.Addr
}

// Negotiator is the server's IPCP: a ppp.Handler with the Policy's
// settings. It belongs to the session goroutine.
type Negotiator struct {
	policy Policy

	sendLocal bool // our Configure-Request carries IP-Address

	held          netip.Addr // the client's address, once assigned
	heldAllocated bool       // held came from Allocate

	peer   pending
	result Result
}

var _ ppp.Handler = (*Negotiator)(nil)

// NewNegotiator checks p and returns a Negotiator for it.
func NewNegotiator(p Policy) (*Negotiator, error) {
	if p.LocalAddress.IsValid() && !p.LocalAddress.Is4() {
		return nil, fmt.Errorf("ipcp: local address %v is not IPv4", p.LocalAddress)
	}
	if p.Address.IsValid() && (!p.Address.Is4() || p.Address.IsUnspecified()) {
		return nil, fmt.Errorf("ipcp: client address %v is not a usable IPv4 address", p.Address)
	}
	if !p.Address.IsValid() && p.Allocate == nil {
		return nil, errors.New("ipcp: neither a client address nor an allocator")
	}
	for name, list := range map[string][]netip.Addr{"DNS": p.DNS, "WINS": p.WINS} {
		if len(list) > 2 {
			return nil, fmt.Errorf("ipcp: %d %s servers, at most 2", len(list), name)
		}
		for _, a := range list {
			if !a.Is4() || a.IsUnspecified() {
				return nil, fmt.Errorf("ipcp: %s server %v is not a usable IPv4 address", name, a)
			}
		}
	}
	p.DNS, p.WINS = slices.Clone(p.DNS), slices.Clone(p.WINS)
	return &Negotiator{policy: p, sendLocal: p.LocalAddress.IsValid()}, nil
}

// Result returns what was agreed. It is valid while the layer is up.
func (n *Negotiator) Result() Result { return n.result }

// Address returns the client address the negotiator holds: Policy.Address,
// or one Allocate handed out or AcceptPeerAddress granted. The session
// gives it back when it ends; the zero Addr means none is held.
func (n *Negotiator) Address() netip.Addr { return n.held }

// AppendConfigureRequest implements ppp.Handler: our IP-Address.
func (n *Negotiator) AppendConfigureRequest(dst []byte, restart bool) []byte {
	if restart {
		n.sendLocal = n.policy.LocalAddress.IsValid()
	}
	if n.sendLocal {
		dst = Address{Kind: OptIPAddress, Addr: n.policy.LocalAddress}.Append(dst)
	}
	return dst
}

// ReceiveConfigureRequest implements ppp.Handler.
//
// IP-Address 0.0.0.0 is Naked with the assigned address; the assigned
// address is acknowledged; another one is acknowledged when the policy
// accepts it and Naked otherwise, failing after Max-Failure with an
// *AddressRefusedError. A request without IP-Address gets one suggested
// (RFC 1332 section 3.3). DNS and NBNS requests are Naked with the
// configured servers and acknowledged once they match; those not
// configured are rejected, as are IP-Compression-Protocol (no Van
// Jacobson compression), the deprecated IP-Addresses and anything else.
func (n *Negotiator) ReceiveConfigureRequest(v *ppp.Verdict) {
	var p pending
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
		a, ok := opt.(Address)
		if !ok {
			v.Reject(o)
			continue
		}
		switch a.Kind {
		case OptIPAddress:
			if addr, ok := n.judgeAddress(v, a.Addr); ok {
				p.addr = addr
			}
		case OptPrimaryDNS:
			p.dns[0] = server(v, o, a, n.policy.DNS, 0)
		case OptSecondaryDNS:
			p.dns[1] = server(v, o, a, n.policy.DNS, 1)
		case OptPrimaryNBNS:
			p.wins[0] = server(v, o, a, n.policy.WINS, 0)
		case OptSecondaryNBNS:
			p.wins[1] = server(v, o, a, n.policy.WINS, 1)
		}
	}
	if !seen[OptIPAddress] {
		addr, ok := n.assign()
		switch {
		case !ok:
			v.Fail(ErrNoAddress)
		case v.Exhausted():
			v.Fail(ErrNoPeerAddress)
		default:
			v.Nak(Address{Kind: OptIPAddress, Addr: addr}.option())
		}
	}
	if v.Good() {
		n.peer = p
	}
}

func (a Address) option() ppp.Option {
	b := a.Addr.As4()
	return ppp.Option{Type: byte(a.Kind), Data: b[:]}
}

// judgeAddress decides on the peer's IP-Address; ok means acknowledged.
func (n *Negotiator) judgeAddress(v *ppp.Verdict, addr netip.Addr) (netip.Addr, bool) {
	if n.held.IsValid() && addr == n.held {
		return addr, true
	}
	if !addr.IsUnspecified() && n.acceptable(addr) {
		if n.held.IsValid() && n.heldAllocated && n.policy.Release != nil {
			n.policy.Release(n.held)
		}
		n.held, n.heldAllocated = addr, false
		return addr, true
	}
	offer, ok := n.assign()
	if !ok {
		v.Fail(ErrNoAddress)
		return netip.Addr{}, false
	}
	if v.Exhausted() {
		// The Nak would become a Reject, and the peer run without
		// the address the server routes to it.
		if addr.IsUnspecified() {
			v.Fail(ErrNoPeerAddress)
		} else {
			v.Fail(&AddressRefusedError{Requested: addr, Offered: offer, CanAccept: n.policy.AcceptPeerAddress != nil && !n.policy.Address.IsValid()})
		}
		return netip.Addr{}, false
	}
	v.Nak(Address{Kind: OptIPAddress, Addr: offer}.option())
	return netip.Addr{}, false
}

// acceptable reports whether the peer may keep addr, an address of its
// own choosing.
func (n *Negotiator) acceptable(addr netip.Addr) bool {
	if n.policy.Address.IsValid() || n.policy.AcceptPeerAddress == nil {
		return false
	}
	// IsGlobalUnicast includes the private ranges and excludes
	// loopback, link-local, multicast and the limited broadcast.
	if !addr.Is4() || !addr.IsGlobalUnicast() || addr == n.policy.LocalAddress {
		return false
	}
	return n.policy.AcceptPeerAddress(addr)
}

// assign returns the address the peer gets, choosing it the first time.
func (n *Negotiator) assign() (netip.Addr, bool) {
	if n.held.IsValid() {
		return n.held, true
	}
	if n.policy.Address.IsValid() {
		n.held = n.policy.Address
		return n.held, true
	}
	addr, ok := n.policy.Allocate()
	if !ok || !addr.Is4() {
		return netip.Addr{}, false
	}
	n.held, n.heldAllocated = addr, true
	return addr, true
}

// server judges a request for the i-th DNS or NBNS server and returns
// the address acknowledged, if any.
func server(v *ppp.Verdict, o ppp.Option, a Address, configured []netip.Addr, i int) netip.Addr {
	if i >= len(configured) {
		v.Reject(o)
		return netip.Addr{}
	}
	if a.Addr != configured[i] {
		v.Nak(Address{Kind: a.Kind, Addr: configured[i]}.option())
		return netip.Addr{}
	}
	return a.Addr
}

// ReceiveConfigureNak implements ppp.Handler. A Reject of our
// IP-Address stops sending it; a Nak is ignored, since the server's
// address is not negotiable, until Max-Failure, when we stop sending it
// too and let the peer use what it will.
func (n *Negotiator) ReceiveConfigureNak(nk *ppp.Nak) error {
	if _, ok := nk.Options.Find(byte(OptIPAddress)); ok && (nk.Reject || nk.Exhausted()) {
		n.sendLocal = false
	}
	return nil
}

// ThisLayerUp implements ppp.Handler: it fixes the Result.
func (n *Negotiator) ThisLayerUp() {
	n.result = Result{PeerAddress: n.peer.addr, DNS: n.peer.dns, WINS: n.peer.wins}
	if n.sendLocal {
		n.result.LocalAddress = n.policy.LocalAddress
	}
}

// ThisLayerDown implements ppp.Handler.
func (n *Negotiator) ThisLayerDown() {}

// ThisLayerStarted implements ppp.Handler.
func (n *Negotiator) ThisLayerStarted() {}

// ThisLayerFinished implements ppp.Handler.
func (n *Negotiator) ThisLayerFinished(error) {}
