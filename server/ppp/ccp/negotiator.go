package ccp

import (
	"errors"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// StatelessMode says how the server treats MPPE's stateful mode.
type StatelessMode uint8

const (
	// StatelessRequired refuses stateful mode: a peer that offers it is
	// Naked with the H bit. Stateful MPPE loses its key stream on every
	// lost packet until a Reset-Request round trip, which the Internet
	// makes common.
	StatelessRequired StatelessMode = iota
	// StatelessPreferred asks for stateless mode but accepts a peer that
	// wants stateful.
	StatelessPreferred
	// StatefulPreferred (pptp.mppe.stateful) Naks a peer's first
	// stateless request towards stateful mode; a peer that asks for
	// stateless again gets it. The server's own request stays
	// stateless: pppd without mppe-stateful hangs up on a stateful
	// request (and on this Nak too: with pppd, turn it on only for
	// clients set for stateful). With pppd's mppe-stateful, which never
	// asks for stateful but takes it when Naked, the server encrypts
	// stateful and decrypts stateless (RFC 1962: each direction is
	// negotiated on its own).
	StatefulPreferred
)

func (m StatelessMode) String() string {
	switch m {
	case StatelessPreferred:
		return "stateless preferred"
	case StatefulPreferred:
		return "stateful preferred"
	}
	return "stateless required"
}

// Policy is the server's CCP configuration.
type Policy struct {
	// Required ends the session when CCP does not bring MPPE up in both
	// directions (pptp.mppe.required).
	Required bool
	// Allow40 and Allow56 enable the weak key lengths
	// (pptp.mppe.bits_40, pptp.mppe.bits_56); 128 bits is always
	// allowed.
	Allow40, Allow56 bool
	// Stateless is StatelessRequired, or StatefulPreferred when
	// pptp.mppe.stateful is on.
	Stateless StatelessMode
}

// DefaultPolicy requires 128-bit stateless MPPE.
func DefaultPolicy() Policy { return Policy{Required: true} }

func (p Policy) keyLengths() Bits {
	b := MPPE128
	if p.Allow56 {
		b |= MPPE56
	}
	if p.Allow40 {
		b |= MPPE40
	}
	return b
}

// strongest keeps the strongest key length of b.
func strongest(b Bits) Bits {
	switch {
	case b&MPPE128 != 0:
		return MPPE128
	case b&MPPE56 != 0:
		return MPPE56
	case b&MPPE40 != 0:
		return MPPE40
	}
	return 0
}

// Result is what CCP agreed, valid from This-Layer-Up. In CCP each
// Configure-Request names what its sender receives (RFC 1962 section 2),
// so Receive comes from our request and Send from the peer's.
type Result struct {
	// Send is the MPPE the server encrypts with; zero when none.
	Send Bits
	// Receive is the MPPE the server decrypts with; zero when none.
	Receive Bits
}

// Encrypted reports whether both directions have an MPPE key length.
func (r Result) Encrypted() bool { return r.Send&KeyLengths != 0 && r.Receive&KeyLengths != 0 }

// ErrMPPERequired wraps every reason Err gives.
var ErrMPPERequired = errors.New("MPPE encryption is required")

// Reasons CCP closes with.
var (
	// ErrNoMPPE: after Max-Failure Naks, the peer still offers no MPPE
	// option.
	ErrNoMPPE = errors.New("peer does not offer MPPE encryption")
	// ErrMPPERejected: the peer Configure-Rejected our MPPE option.
	ErrMPPERejected = errors.New("peer refuses MPPE encryption: it rejected the MPPE option")
)

// RefusedError is the reason CCP closes when the peer keeps insisting,
// for Max-Failure rounds, on MPPE settings the policy refuses.
type RefusedError struct {
	// Offered is what the peer last asked for.
	Offered Bits
	// Stateful is true when the key length was acceptable and stateful
	// mode was what the policy refused.
	Stateful bool
}

func (e *RefusedError) Error() string {
	if e.Stateful {
		return "peer insists on stateful MPPE, which is refused (enable pptp.mppe.stateful to allow it)"
	}
	switch e.Offered & KeyLengths {
	case MPPE40:
		return "peer insists on 40-bit MPPE, which is refused (enable pptp.mppe.bits_40 to allow it)"
	case MPPE56:
		return "peer insists on 56-bit MPPE, which is refused (enable pptp.mppe.bits_56 to allow it)"
	case MPPE40 | MPPE56:
		return "peer insists on 40- or 56-bit MPPE, which is refused (enable pptp.mppe.bits_56 or pptp.mppe.bits_40 to allow it)"
	case 0:
		if e.Offered&MPPC != 0 {
			return "peer insists on MPPC compression without MPPE encryption"
		}
		return fmt.Sprintf("peer offers MPPE without a key length (%v)", e.Offered)
	}
	return fmt.Sprintf("peer insists on MPPE %v, which is refused", e.Offered)
}

// Negotiator is the server's CCP for MPPE: a ppp.Handler with the
// Policy's settings, and a ppp.Extension for Reset-Request and Reset-Ack
// (RFC 1962 section 3.1). It belongs to the session goroutine.
type Negotiator struct {
	// OnResetRequest, if set, is told that the peer sent a
	// Reset-Request in Opened: in stateful mode the encryptor must set
	// the flushed bit (A) on its next packet (RFC 3078 section 3). The
	// Reset-Ack is already sent.
	OnResetRequest func()
	// OnResetAck, if set, is told of the peer's Reset-Ack to our last
	// Reset-Request.
	OnResetAck func()

	policy Policy
	want   Bits // our request's MPPE bits; 0 sends no option
	peer   Bits // the peer's bits in the request we acknowledged
	// urgedStateful: under StatefulPreferred, a stateless request of the
	// peer was Naked towards stateful once; the next is taken.
	urgedStateful bool
	// refused is why the peer's last request was Naked, for the log of
	// a session that ends before CCP is up.
	refused error

	result   Result
	up       bool
	finished error

	resetID      uint8
	resetPending bool
}

var (
	_ ppp.Handler   = (*Negotiator)(nil)
	_ ppp.Extension = (*Negotiator)(nil)
)

// NewNegotiator returns a Negotiator for p.
func NewNegotiator(p Policy) *Negotiator {
	n := &Negotiator{policy: p}
	n.want = n.initial()
	return n
}

// initial is our first request: every key length the policy allows, and
// stateless. A peer Naks it down to the one it takes (RFC 3078 section
// 2). Asking for 128-bit alone when weaker lengths are allowed does not
// work: Linux pppd set to require-mppe-40 strips the lengths it refuses
// from our request and, finding none left, hangs up instead of Naking
// (seen in the VM test TestGatehouseMPPEOptional).
func (n *Negotiator) initial() Bits { return n.policy.keyLengths() | Stateless }

// Result returns what was agreed. It is valid while the layer is up.
func (n *Negotiator) Result() Result { return n.result }

// Err reports whether the session must end because of CCP: MPPE is
// required and CCP finished (for any reason: refused settings, timeout,
// Protocol-Reject, Terminate-Request) or came up without it. The error
// wraps ErrMPPERequired and the reason. It is nil when MPPE is optional.
func (n *Negotiator) Err() error {
	if !n.policy.Required {
		return nil
	}
	if n.finished != nil {
		return fmt.Errorf("%w: %w", ErrMPPERequired, n.finished)
	}
	if n.up && !n.result.Encrypted() {
		return fmt.Errorf("%w: CCP came up with %v", ErrMPPERequired, n.result.Send)
	}
	return nil
}

// AppendConfigureRequest implements ppp.Handler.
func (n *Negotiator) AppendConfigureRequest(dst []byte, restart bool) []byte {
	if restart {
		n.want = n.initial()
	}
	if n.want == 0 {
		return dst
	}
	return MPPE{Bits: n.want}.Append(dst)
}

// acceptable reports whether b is an MPPE setting the policy takes as it
// is: exactly one allowed key length, stateless unless stateful is
// allowed, and nothing else.
func (n *Negotiator) acceptable(b Bits) bool {
	keys := b & KeyLengths
	return keys != 0 && keys == strongest(keys) && keys&n.policy.keyLengths() != 0 &&
		b&^(KeyLengths|Stateless) == 0 &&
		(b&Stateless != 0 || n.policy.Stateless != StatelessRequired)
}

// counter is the setting the server Naks b with: the strongest allowed
// key length among those offered, else the strongest allowed at all,
// stateless when the policy requires it or the peer offered it; no
// MPPC, no D, no unknown bits.
func (n *Negotiator) counter(b Bits) Bits {
	keys := strongest(b & n.policy.keyLengths())
	if keys == 0 {
		keys = strongest(n.policy.keyLengths())
	}
	c := keys | b&Stateless
	switch n.policy.Stateless {
	case StatelessRequired:
		c |= Stateless
	case StatefulPreferred:
		if !n.urgedStateful {
			c &^= Stateless
		}
	}
	return c
}

// refusal explains why b cannot be had, for a RefusedError.
func (n *Negotiator) refusal(b Bits) error {
	if b&KeyLengths&n.policy.keyLengths() != 0 && b&Stateless == 0 && n.policy.Stateless == StatelessRequired {
		return &RefusedError{Offered: b, Stateful: true}
	}
	return &RefusedError{Offered: b}
}

// ReceiveConfigureRequest implements ppp.Handler (RFC 3078 section 2):
// an MPPE option the policy takes as it is is acknowledged; otherwise it
// is Naked with the setting the server wants, and after Max-Failure Naks
// the layer closes with a *RefusedError. Every other compression option
// is rejected. Without an MPPE option, MPPE is suggested when required.
func (n *Negotiator) ReceiveConfigureRequest(v *ppp.Verdict) {
	var got Bits
	seen := false
	for o := range v.Options.All() {
		opt, err := ParseOption(o)
		if err != nil || seen && OptionType(o.Type) == OptMPPE {
			v.Reject(o)
			continue
		}
		m, ok := opt.(MPPE)
		if !ok {
			v.Reject(o)
			continue
		}
		seen = true
		if n.acceptable(m.Bits) {
			if n.policy.Stateless == StatefulPreferred && m.Bits&Stateless != 0 && !n.urgedStateful && !v.Exhausted() {
				n.urgedStateful = true
				v.Nak(MPPE{Bits: m.Bits &^ Stateless}.option())
				continue
			}
			got = m.Bits
			continue
		}
		n.refused = n.refusal(m.Bits)
		if v.Exhausted() {
			v.Fail(n.refused)
			return
		}
		v.Nak(MPPE{Bits: n.counter(m.Bits)}.option())
	}
	if !seen && n.policy.Required {
		if v.Exhausted() {
			v.Fail(ErrNoMPPE)
			return
		}
		v.Nak(MPPE{Bits: n.counter(0)}.option())
	}
	if v.Good() {
		n.peer = got
	}
}

// ReceiveConfigureNak implements ppp.Handler. A Nak suggesting an
// acceptable setting is followed; any other keeps ours, and after
// Max-Failure Naks closes with a *RefusedError. A Reject of MPPE closes
// with ErrMPPERejected when MPPE is required, and otherwise stops asking
// for it.
func (n *Negotiator) ReceiveConfigureNak(nk *ppp.Nak) error {
	o, ok := nk.Options.Find(byte(OptMPPE))
	if !ok {
		return nil
	}
	if nk.Reject {
		if n.policy.Required {
			return ErrMPPERejected
		}
		n.want = 0
		return nil
	}
	opt, err := ParseOption(o)
	if err != nil {
		return nil
	}
	b := opt.(MPPE).Bits
	if n.acceptable(b) {
		n.want = b
		return nil
	}
	if nk.Exhausted() {
		if n.policy.Required {
			return n.refusal(b)
		}
		n.want = 0
	}
	return nil
}

// Refused returns why the peer's last Configure-Request was Naked (a
// *RefusedError), or nil. A session that ends before CCP is up, because
// the peer hung up rather than wait for Max-Failure, reports it.
func (n *Negotiator) Refused() error { return n.refused }

// ThisLayerUp implements ppp.Handler: it fixes the Result.
func (n *Negotiator) ThisLayerUp() {
	// A peer that Acked more than one key length of ours uses the one it
	// asked for itself, or else the strongest: both directions use one.
	if keys := n.want & KeyLengths; keys != strongest(keys) {
		k := n.peer & keys
		if k == 0 || k != strongest(k) {
			k = strongest(keys)
		}
		n.want = n.want&^KeyLengths | k
	}
	n.result = Result{Send: n.peer, Receive: n.want}
	n.up = true
	n.finished = nil
	n.resetPending = false
}

// ThisLayerDown implements ppp.Handler.
func (n *Negotiator) ThisLayerDown() { n.up = false }

// ThisLayerStarted implements ppp.Handler.
func (n *Negotiator) ThisLayerStarted() {}

// ThisLayerFinished implements ppp.Handler: it records the reason Err
// reports.
func (n *Negotiator) ThisLayerFinished(reason error) {
	n.up = false
	n.finished = reason
}

// ReceiveExtension implements ppp.Extension: Reset-Request and
// Reset-Ack (RFC 1962 section 3.1). In Opened a Reset-Request is answered
// with a Reset-Ack of the same Identifier, as RFC 1962 asks and pppd
// does, and reported through OnResetRequest. Microsoft's own
// implementation sends no Reset-Ack and relies on the flushed bit alone;
// a peer that Code-Rejects our Reset-Ack gets none after that.
func (n *Negotiator) ReceiveExtension(a *ppp.Automaton, p ppp.Packet) bool {
	switch p.Code {
	case ppp.ResetRequest:
		if a.State() == ppp.Opened {
			if !a.CodeRejected(ppp.ResetAck) {
				a.SendPacket(ppp.Packet{Code: ppp.ResetAck, Identifier: p.Identifier})
			}
			if n.OnResetRequest != nil {
				n.OnResetRequest()
			}
		}
		return true
	case ppp.ResetAck:
		if a.State() == ppp.Opened && n.resetPending && p.Identifier == n.resetID {
			n.resetPending = false
			if n.OnResetAck != nil {
				n.OnResetAck()
			}
		}
		return true
	}
	return false
}

// ResetRequest returns a Reset-Request for the session's decryptor to
// send (through ppp.Automaton.SendPacket) when it has lost
// synchronisation in stateful mode (RFC 3078 section 3, RFC 1962
// section 3.1). Each call
// takes a new Identifier; OnResetAck reports the Ack to the last one.
func (n *Negotiator) ResetRequest() ppp.Packet {
	n.resetID++
	n.resetPending = true
	return ppp.Packet{Code: ppp.ResetRequest, Identifier: n.resetID}
}
