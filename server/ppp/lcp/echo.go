package lcp

import (
	"encoding/binary"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// The echo keepalive (RFC 1661 section 5.8). The session's echo timer
// asks for an Echo-Request every interval while LCP is Opened and the
// peer has not Code-Rejected Echo-Request
// (ppp.Automaton.CodeRejected), sends it with ppp.Automaton.SendPacket,
// and ends the session when EchoOutstanding grows past what it tolerates
// or LoopedBack reports a loop. The automaton answers the peer's
// Echo-Requests itself, with MagicNumber.

// MagicNumber implements ppp.LinkHandler: our negotiated Magic-Number,
// or zero before LCP is up or when the peer rejected the option.
func (n *Negotiator) MagicNumber() uint32 {
	if !n.up {
		return 0
	}
	return n.result.Magic
}

// ReceiveEcho implements ppp.LinkHandler. An Echo-Reply clears the
// outstanding count. Any Echo or Discard packet carrying our own
// Magic-Number reveals a looped-back link (RFC 1661 section 6.4).
func (n *Negotiator) ReceiveEcho(p ppp.Packet) {
	magic, _, err := ppp.ParseEcho(p.Data)
	if err != nil {
		return
	}
	if n.result.Magic != 0 && magic == n.result.Magic {
		n.loopedBack = true
		return
	}
	if p.Code == ppp.EchoReply {
		n.echoOutstanding = 0
	}
}

// EchoRequest returns the next Echo-Request, carrying our Magic-Number,
// and counts it as outstanding. Its Data is only valid until the next
// call.
func (n *Negotiator) EchoRequest() ppp.Packet {
	n.echoID++
	n.echoOutstanding++
	binary.BigEndian.PutUint32(n.echoBuf[:], n.MagicNumber())
	return ppp.Packet{Code: ppp.EchoRequest, Identifier: n.echoID, Data: n.echoBuf[:]}
}

// EchoOutstanding is the number of Echo-Requests sent since the last
// Echo-Reply.
func (n *Negotiator) EchoOutstanding() int { return n.echoOutstanding }

// LoopedBack reports whether an Echo-Request, Echo-Reply or
// Discard-Request came back with our own Magic-Number since LCP came up.
func (n *Negotiator) LoopedBack() bool { return n.loopedBack }
