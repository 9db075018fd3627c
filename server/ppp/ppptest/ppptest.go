package ppptest

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Link connects two automata as if through a point-to-point line:
// packets each sends are queued for the other, in order.
type Link struct {
	// Ends are the two automata; Ends[i]'s packets go to Ends[1-i].
	Ends [2]*ppp.Automaton
	// Names label the ends in the Transcript; default "A" and "B".
	Names [2]string
	// Drop, if set, decides whether a packet is lost on the way to end
	// to. n counts the packets sent towards that end, from 1.
	Drop func(to, n int, pkt []byte) bool
	// Transcript has one line per packet sent, timer fired and packet
	// dropped, for failure messages.
	Transcript []string
	// Errors collects what Receive returned for malformed packets.
	Errors []error

	queue [2][][]byte
	timer [2]int // 0 when stopped, else the order in which it was armed
	clock int
	turn  int // the end to deliver to first
	sent  [2]int
}

// NewLink connects a and b, taking over their Send and SetTimer.
func NewLink(a, b *ppp.Automaton) *Link {
	l := &Link{Ends: [2]*ppp.Automaton{a, b}, Names: [2]string{"A", "B"}}
	for i, end := range l.Ends {
		from, to := i, 1-i
		end.Send = func(pkt []byte) { l.send(from, to, pkt) }
		end.SetTimer = func(d time.Duration) {
			if d == 0 {
				l.timer[from] = 0
				return
			}
			l.clock++
			l.timer[from] = l.clock
		}
	}
	return l
}

func (l *Link) send(from, to int, pkt []byte) {
	l.sent[to]++
	line := fmt.Sprintf("%s→%s %s", l.Names[from], l.Names[to], Describe(pkt))
	if l.Drop != nil && l.Drop(to, l.sent[to], pkt) {
		l.Transcript = append(l.Transcript, line+" (lost)")
		return
	}
	l.Transcript = append(l.Transcript, line)
	l.queue[to] = append(l.queue[to], append([]byte(nil), pkt...))
}

// Step delivers one packet, alternating between the directions, or, when
// none is in flight, fires the timer armed first. It reports false when
// there was nothing to do.
func (l *Link) Step() bool {
	for k := range 2 {
		to := (l.turn + k) % 2
		if len(l.queue[to]) > 0 {
			l.turn = 1 - to
			pkt := l.queue[to][0]
			l.queue[to] = l.queue[to][1:]
			if err := l.Ends[to].Receive(pkt); err != nil {
				l.Errors = append(l.Errors, err)
			}
			return true
		}
	}
	first := -1
	for i, t := range l.timer {
		if t != 0 && (first < 0 || t < l.timer[first]) {
			first = i
		}
	}
	if first < 0 {
		return false
	}
	l.timer[first] = 0
	l.Transcript = append(l.Transcript, fmt.Sprintf("%s timeout", l.Names[first]))
	l.Ends[first].Timeout()
	return true
}

// Run steps until the link is quiet or max steps have run, and returns
// the number of steps.
func (l *Link) Run(max int) int {
	n := 0
	for n < max && l.Step() {
		n++
	}
	return n
}

// String is the transcript, one line each.
func (l *Link) String() string { return strings.Join(l.Transcript, "\n") }

// Describe renders a control packet for a transcript:
// "Configure-Request id=1 [01 04 05 78]".
func Describe(pkt []byte) string {
	p, err := ppp.ParsePacket(pkt)
	if err != nil {
		return fmt.Sprintf("malformed [% x]", pkt)
	}
	return fmt.Sprintf("%v id=%d [% x]", p.Code, p.Identifier, p.Data)
}

// Peer is a scripted ppp.Handler for the other end of a negotiation.
type Peer struct {
	// Request returns the options of the next Configure-Request; nil
	// sends none.
	Request func(restart bool) []byte
	// Judge judges the requests it receives; nil acknowledges all.
	Judge func(v *ppp.Verdict)
	// ApplyNak takes Naks and Rejects of its requests; nil ignores them
	// (and so sends the same request again).
	ApplyNak func(n *ppp.Nak) error
	// Magic is the Magic-Number put in Echo-Replies when the Peer is
	// used for LCP through LinkPeer.
	Magic uint32

	// Events lists the this-layer actions in order: "tlu", "tld",
	// "tls", "tlf".
	Events []string
	// Finished is the reason given to the last tlf.
	Finished error
	// Requests counts Configure-Requests judged; Naks counts
	// Configure-Naks and -Rejects received.
	Requests, Naks int
}

var _ ppp.Handler = (*Peer)(nil)

// AppendConfigureRequest implements ppp.Handler.
func (p *Peer) AppendConfigureRequest(dst []byte, restart bool) []byte {
	if p.Request == nil {
		return dst
	}
	return append(dst, p.Request(restart)...)
}

// ReceiveConfigureRequest implements ppp.Handler.
func (p *Peer) ReceiveConfigureRequest(v *ppp.Verdict) {
	p.Requests++
	if p.Judge != nil {
		p.Judge(v)
	}
}

// ReceiveConfigureNak implements ppp.Handler.
func (p *Peer) ReceiveConfigureNak(n *ppp.Nak) error {
	p.Naks++
	if p.ApplyNak != nil {
		return p.ApplyNak(n)
	}
	return nil
}

// ThisLayerUp implements ppp.Handler.
func (p *Peer) ThisLayerUp() { p.Events = append(p.Events, "tlu") }

// ThisLayerDown implements ppp.Handler.
func (p *Peer) ThisLayerDown() { p.Events = append(p.Events, "tld") }

// ThisLayerStarted implements ppp.Handler.
func (p *Peer) ThisLayerStarted() { p.Events = append(p.Events, "tls") }

// ThisLayerFinished implements ppp.Handler.
func (p *Peer) ThisLayerFinished(reason error) {
	p.Events = append(p.Events, "tlf")
	p.Finished = reason
}

// LinkPeer is a Peer that also takes LCP's extra codes.
type LinkPeer struct {
	Peer
	// Echoes are the Echo and Discard packets received in Opened.
	Echoes []ppp.Packet
	// ProtocolRejects are the protocols the other end rejected.
	ProtocolRejects []ppp.Protocol
}

var _ ppp.LinkHandler = (*LinkPeer)(nil)

// MagicNumber implements ppp.LinkHandler.
func (p *LinkPeer) MagicNumber() uint32 { return p.Magic }

// ReceiveEcho implements ppp.LinkHandler.
func (p *LinkPeer) ReceiveEcho(pkt ppp.Packet) {
	pkt.Data = append([]byte(nil), pkt.Data...)
	p.Echoes = append(p.Echoes, pkt)
}

// ReceiveProtocolReject implements ppp.LinkHandler.
func (p *LinkPeer) ReceiveProtocolReject(proto ppp.Protocol, _ []byte) {
	p.ProtocolRejects = append(p.ProtocolRejects, proto)
}

// Options concatenates encoded options, for Request functions and
// expected packets.
func Options(opts ...ppp.Option) []byte {
	var b []byte
	for _, o := range opts {
		b = o.Append(b)
	}
	return b
}
