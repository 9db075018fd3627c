package ppp

import (
	"bytes"
	"fmt"
	"time"
)

// RFC 1661 section 4.6 defaults.
const (
	DefaultRestartInterval = 3 * time.Second
	DefaultMaxTerminate    = 2
	DefaultMaxConfigure    = 10
	DefaultMaxFailure      = 5
)

// Handler is what a protocol (LCP, IPCP, CCP) supplies to the automaton:
// its options and its reaction to the layer going up and down. The
// automaton calls it from within its own methods only, so a Handler needs
// no locking; it must not call the same Automaton's event methods (Open,
// Close, Up, Down, Timeout, Receive) while being called. Calls queued that
// way are run after the current event, in order.
type Handler interface {
	// AppendConfigureRequest appends the options of our next
	// Configure-Request to dst. restart is true when a new negotiation
	// begins (from Starting, Closed, Stopped or Opened) and the handler
	// should start again from its first wishes; it is false when the
	// previous request was refused and the handler has since applied
	// the peer's Configure-Nak or Configure-Reject.
	AppendConfigureRequest(dst []byte, restart bool) []byte

	// ReceiveConfigureRequest judges the peer's options (v.Options):
	// each option it does not Nak or Reject is acknowledged. It may
	// call v.Fail to give up the negotiation, which closes the layer.
	ReceiveConfigureRequest(v *Verdict)

	// ReceiveConfigureNak applies the peer's Configure-Nak or
	// Configure-Reject of our last request, already checked against it.
	// An error closes the layer with that reason.
	ReceiveConfigureNak(n *Nak) error

	// ThisLayerUp is tlu: our options and the peer's are agreed.
	ThisLayerUp()
	// ThisLayerDown is tld: the layer leaves the Opened state.
	ThisLayerDown()
	// ThisLayerStarted is tls: the layer needs the lower layer.
	ThisLayerStarted()
	// ThisLayerFinished is tlf: the layer is done, for the reason given
	// (never nil).
	ThisLayerFinished(reason error)
}

// LinkHandler is a Handler for LCP, whose automaton also takes
// Protocol-Reject, Echo-Request, Echo-Reply and Discard-Request (RFC 1661
// sections 5.7 to 5.9). An Automaton whose Handler is not a LinkHandler
// answers those codes with Code-Reject, as an NCP must.
type LinkHandler interface {
	Handler
	// MagicNumber is our Magic-Number for Echo-Reply: the negotiated
	// one, or zero when none was (RFC 1661 section 5.8).
	MagicNumber() uint32
	// ReceiveEcho is given each Echo-Request, Echo-Reply and
	// Discard-Request received in the Opened state (RXR), before the
	// automaton answers an Echo-Request. p.Data holds at least the
	// 4-octet Magic-Number.
	ReceiveEcho(p Packet)
	// ReceiveProtocolReject is told that the peer rejected proto, a
	// protocol other than LCP (RXJ+ for LCP). The session stops that
	// protocol, e.g. with ProtocolRejected on its automaton.
	ReceiveProtocolReject(proto Protocol, info []byte)
}

// Extension is implemented by a Handler whose protocol has codes the
// automaton does not know (CCP's Reset-Request and Reset-Ack, LCP's
// Identification and Time-Remaining).
type Extension interface {
	// ReceiveExtension handles p and reports whether its code is one
	// the protocol knows; if not, the automaton sends a Code-Reject
	// (RUC). Replies go through a.SendPacket.
	ReceiveExtension(a *Automaton, p Packet) bool
}

// Verdict collects a Handler's judgement of one Configure-Request (RFC
// 1661 sections 5.1 to 5.4).
//
// Options that are neither Naked nor Rejected are acknowledged. If any
// option is Rejected the automaton sends a Configure-Reject with the
// rejected options only; otherwise, if any is Naked, a Configure-Nak;
// otherwise a Configure-Ack echoing the request. Call Nak and Reject in
// the order of the request; a Nak may also suggest an option the peer did
// not send.
type Verdict struct {
	// Options is the peer's request. It aliases the received packet and
	// is only valid during the call.
	Options Options

	nak, rej   []byte
	err        error
	failures   int
	maxFailure int
}

// Nak asks the peer to use o instead of the option of the same type it
// sent, or to add o.
func (v *Verdict) Nak(o Option) { v.nak = o.Append(v.nak) }

// Reject refuses o, an option of the request, as it was sent.
func (v *Verdict) Reject(o Option) { v.rej = o.Append(v.rej) }

// Fail gives up: the automaton closes the layer with err as the reason
// (a Close event), instead of answering the request.
func (v *Verdict) Fail(err error) {
	if v.err == nil && err != nil {
		v.err = err
	}
}

// Good reports whether nothing has been Naked, Rejected or failed so far:
// the request will be acknowledged (RCR+).
func (v *Verdict) Good() bool { return len(v.nak) == 0 && len(v.rej) == 0 && v.err == nil }

// Failures is the number of Configure-Naks we have sent since we last
// sent a Configure-Ack or began the negotiation.
func (v *Verdict) Failures() int { return v.failures }

// Exhausted reports whether Failures has reached Max-Failure (RFC 1661
// section 4.6): a Nak now will be turned into a Reject of the option the
// peer sent, and suggestions of options it did not send dropped. A
// Handler that cannot live without an option fails here instead, with a
// reason an operator understands.
func (v *Verdict) Exhausted() bool { return v.failures >= v.maxFailure }

// Nak is the peer's Configure-Nak or Configure-Reject of our last
// Configure-Request (event RCN), after the automaton has checked its
// Identifier and, for a Configure-Reject, that every option in it is one
// we sent.
type Nak struct {
	// Reject is true for a Configure-Reject.
	Reject bool
	// Options aliases the received packet; valid during the call.
	Options Options
	// Count is the number of Configure-Naks received in a row, this one
	// included, since the negotiation began or the peer last sent a
	// Configure-Ack. Configure-Rejects do not count: they remove
	// options, so they converge on their own.
	Count int
	// MaxFailure is the automaton's Max-Failure.
	MaxFailure int
}

// Exhausted reports whether the peer has sent Max-Failure Configure-Naks
// in a row: a Handler that keeps proposing the option the peer Naks
// should now give up (return an error) or drop it.
func (n *Nak) Exhausted() bool { return !n.Reject && n.Count >= n.MaxFailure }

// Automaton is the option negotiation automaton of RFC 1661 section 4,
// shared by LCP, IPCP and CCP. It implements the state transition table
// of section 4.1 exactly (see transitions); the Handler supplies the
// options.
//
// It starts no goroutine and reads no clock. Packets leave through Send;
// the Restart timer is the caller's: the automaton asks for it with
// SetTimer and the caller calls Timeout when it expires. An Automaton is
// not safe for concurrent use: one goroutine, the session's, owns it.
type Automaton struct {
	// Protocol is the protocol this automaton negotiates, used to
	// recognise a Protocol-Reject of itself and in errors.
	Protocol Protocol
	// Handler supplies the options and layer callbacks.
	Handler Handler
	// Send transmits one control packet (Code onwards; the caller adds
	// the PPP frame). pkt is only valid during the call.
	Send func(pkt []byte)
	// SetTimer, if set, (re)starts the Restart timer for d, or stops it
	// when d is 0. The caller calls Timeout when it expires; a Timeout
	// after SetTimer(0) is ignored, so a stale timer does no harm.
	SetTimer func(d time.Duration)
	// Notify, if set, is told of each this-layer action after the
	// Handler.
	Notify func(ev LayerEvent)
	// Trace, if set, is told of each event the automaton handles, for
	// debug logs.
	Trace func(from State, ev Event, to State)

	// RestartInterval, MaxConfigure, MaxTerminate and MaxFailure are the
	// Restart timer and counters of RFC 1661 section 4.6.
	RestartInterval time.Duration
	MaxConfigure    int
	MaxTerminate    int
	MaxFailure      int
	// MRU is the peer's Maximum-Receive-Unit, to which Code-Rejects are
	// truncated. 0 means 1500.
	MRU int

	state    State
	restart  int    // the Restart counter
	timer    bool   // the Restart timer runs
	failures int    // Configure-Naks sent since the last Configure-Ack sent
	naks     int    // Configure-Naks received in a row
	id       uint8  // the last Identifier we chose
	reqID    uint8  // the Identifier of our last Configure-Request
	req      []byte // the options of our last Configure-Request
	answered bool   // our last Configure-Request has been Acked, Naked or Rejected
	err      error  // why the layer is closing or finished
	termData []byte // the Data of our Terminate-Requests (CloseMessage)

	codeRejected [4]uint64 // codes the peer has Code-Rejected (RXJ+)

	verdict Verdict
	out     []byte

	busy     bool
	deferred []func()
}

// NewAutomaton returns an automaton in the Initial state with the
// defaults of RFC 1661 section 4.6.
func NewAutomaton(proto Protocol, h Handler, send func(pkt []byte)) *Automaton {
	return &Automaton{
		Protocol:        proto,
		Handler:         h,
		Send:            send,
		RestartInterval: DefaultRestartInterval,
		MaxConfigure:    DefaultMaxConfigure,
		MaxTerminate:    DefaultMaxTerminate,
		MaxFailure:      DefaultMaxFailure,
	}
}

// State returns the current state.
func (a *Automaton) State() State { return a.state }

// Err returns why the layer was closed or finished: the reason given to
// Close or by the Handler, a *TimeoutError, *TerminatedError or
// *RejectedError. The first reason wins. It is nil until then, and
// cleared by Open, by This-Layer-Up and when a new negotiation begins.
func (a *Automaton) Err() error { return a.err }

// TimerRunning reports whether the Restart timer should be running.
func (a *Automaton) TimerRunning() bool { return a.timer }

// CodeRejected reports whether the peer has sent a Code-Reject for code
// that the protocol can do without (RXJ+), e.g. Echo-Request: the session
// then stops sending it.
func (a *Automaton) CodeRejected(code Code) bool {
	return a.codeRejected[code/64]&(1<<(code%64)) != 0
}

// Up is the Up event: the lower layer can carry packets.
func (a *Automaton) Up() { a.run(func() { a.handle(Up, nil) }) }

// Down is the Down event: the lower layer is gone.
func (a *Automaton) Down() { a.run(func() { a.handle(Down, nil) }) }

// Open is the administrative Open event.
func (a *Automaton) Open() {
	a.run(func() {
		a.err, a.termData = nil, nil
		a.handle(Open, nil)
	})
}

// Close is the administrative Close event; reason (ErrAdministrativeClose
// when nil) is what Err and ThisLayerFinished report, unless an earlier
// reason is already recorded (the peer's Terminate-Request, say).
func (a *Automaton) Close(reason error) { a.run(func() { a.close(reason) }) }

// CloseMessage is Close with message as the Data of the Terminate-Requests
// it sends (RFC 1661 section 5.5: uninterpreted; pppd logs it), cut to fit
// the peer's MRU. Say only what the peer may know.
func (a *Automaton) CloseMessage(reason error, message string) {
	a.run(func() {
		if a.termData == nil {
			a.termData = truncate([]byte(message), 0, a.MRU)
		}
		a.close(reason)
	})
}

// ProtocolRejected is RXJ- caused by the peer's Protocol-Reject of this
// protocol, which arrives on LCP (LinkHandler.ReceiveProtocolReject).
func (a *Automaton) ProtocolRejected() {
	a.run(func() {
		a.setErr(&RejectedError{Protocol: a.Protocol, By: ProtocolReject})
		a.handle(RXJMinus, nil)
	})
}

// Timeout is the expiry of the Restart timer: TO+ while the Restart
// counter is above zero, TO- once it is exhausted. It is ignored when the
// timer is not running.
func (a *Automaton) Timeout() {
	a.run(func() {
		if !a.timer {
			return
		}
		if a.restart > 0 {
			a.handle(TOPlus, nil)
			return
		}
		switch a.state {
		case ReqSent, AckRcvd, AckSent:
			a.setErr(&TimeoutError{Protocol: a.Protocol, Code: ConfigureRequest, Count: a.MaxConfigure})
		default:
			a.setErr(&TimeoutError{Protocol: a.Protocol, Code: TerminateRequest, Count: a.MaxTerminate})
		}
		a.handle(TOMinus, nil)
	})
}

// Receive handles one control packet of this protocol (the Information
// field of a frame). It returns an error, for debug logs, when the
// packet is malformed and was discarded; packets that are well formed
// but do not fit (an Ack with a stale Identifier, say) are discarded
// silently, as RFC 1661 section 5 asks.
func (a *Automaton) Receive(b []byte) error {
	if a.busy {
		// Called from a callback: the packet is handled after the
		// current event, when the caller's buffer may hold another.
		b = bytes.Clone(b)
	}
	p, err := ParsePacket(b)
	if err != nil {
		return fmt.Errorf("%v: %w", a.Protocol, err)
	}
	in := &input{p: p, raw: b[:p.Len()]}
	a.run(func() { err = a.receive(in) })
	return err
}

// SendPacket sends p through Send, for Extension handlers and the
// session (LCP Echo-Request). Data longer than the peer's MRU is cut.
func (a *Automaton) SendPacket(p Packet) {
	p.Data = truncate(p.Data, 0, a.MRU)
	a.out = p.Append(a.out[:0])
	a.Send(a.out)
}

// input is the packet behind an event.
type input struct {
	p   Packet
	raw []byte // the whole packet, for Code-Reject
}

func (a *Automaton) run(f func()) {
	if a.busy {
		a.deferred = append(a.deferred, f)
		return
	}
	a.busy = true
	defer func() { a.busy = false }()
	f()
	for len(a.deferred) > 0 {
		g := a.deferred[0]
		a.deferred = a.deferred[1:]
		g()
	}
	a.deferred = nil
}

func (a *Automaton) close(reason error) {
	if reason == nil {
		reason = ErrAdministrativeClose
	}
	a.setErr(reason)
	a.handle(Close, nil)
}

// setErr records why the layer is going down. The first reason since the
// negotiation began wins: a Terminate-Request that crosses ours does not
// hide why we closed.
func (a *Automaton) setErr(err error) {
	if a.err == nil {
		a.err = err
	}
}

func (a *Automaton) receive(in *input) error {
	p := in.p
	switch p.Code {
	case ConfigureRequest:
		opts, err := ParseOptions(p.Data)
		if err != nil {
			return fmt.Errorf("%v %v: %w", a.Protocol, p.Code, err)
		}
		ev := RCRPlus
		switch a.state {
		case Stopped, ReqSent, AckRcvd, AckSent, Opened:
			// Only these states answer according to the options, so
			// only here is the Handler asked.
			v := a.judge(opts)
			if v.err != nil {
				a.close(v.err)
				return nil
			}
			if !v.Good() {
				ev = RCRMinus
			}
		}
		a.handle(ev, in)

	case ConfigureAck:
		if a.expectsReply() {
			if p.Identifier != a.reqID || a.answered || !bytes.Equal(p.Data, a.req) {
				return nil // not an answer to our current request
			}
			a.answered = true
			a.naks = 0
		}
		a.handle(RCA, in)

	case ConfigureNak, ConfigureReject:
		if a.expectsReply() {
			if p.Identifier != a.reqID || a.answered {
				return nil
			}
			opts, err := ParseOptions(p.Data)
			if err != nil {
				return fmt.Errorf("%v %v: %w", a.Protocol, p.Code, err)
			}
			reject := p.Code == ConfigureReject
			if reject && !subset(opts, a.req) {
				return nil // RFC 1661 section 5.4: must be options we sent, unchanged
			}
			a.answered = true
			if !reject {
				a.naks++
			}
			n := Nak{Reject: reject, Options: opts, Count: a.naks, MaxFailure: a.MaxFailure}
			if err := a.Handler.ReceiveConfigureNak(&n); err != nil {
				a.close(err)
				return nil
			}
		}
		a.handle(RCN, in)

	case TerminateRequest:
		data := p.Data[:min(len(p.Data), maxTerminateData)]
		if a.err == nil {
			a.err = &TerminatedError{Protocol: a.Protocol, Data: bytes.Clone(data)}
		}
		a.handle(RTR, in)

	case TerminateAck:
		a.handle(RTA, in)

	case CodeReject:
		code, err := ParseCodeReject(p.Data)
		if err != nil {
			return fmt.Errorf("%v: %w", a.Protocol, err)
		}
		_, link := a.Handler.(LinkHandler)
		if code >= ConfigureRequest && (code <= CodeReject || link && code == ProtocolReject) {
			a.setErr(&RejectedError{Protocol: a.Protocol, By: CodeReject, Code: code})
			a.handle(RXJMinus, in)
			return nil
		}
		a.codeRejected[code/64] |= 1 << (code % 64)
		a.handle(RXJPlus, in)

	default:
		if lh, ok := a.Handler.(LinkHandler); ok {
			switch p.Code {
			case ProtocolReject:
				proto, info, err := ParseProtocolReject(p.Data)
				if err != nil {
					return fmt.Errorf("%v: %w", a.Protocol, err)
				}
				if a.state != Opened {
					return nil // RFC 1661 section 5.7: only in Opened
				}
				if proto == a.Protocol {
					a.setErr(&RejectedError{Protocol: a.Protocol, By: ProtocolReject})
					a.handle(RXJMinus, in)
					return nil
				}
				lh.ReceiveProtocolReject(proto, info)
				a.handle(RXJPlus, in)
				return nil
			case EchoRequest, EchoReply, DiscardRequest:
				if _, _, err := ParseEcho(p.Data); err != nil {
					return fmt.Errorf("%v %v: %w", a.Protocol, p.Code, err)
				}
				if a.state == Opened {
					lh.ReceiveEcho(p)
				}
				a.handle(RXR, in)
				return nil
			}
		}
		if ext, ok := a.Handler.(Extension); ok && ext.ReceiveExtension(a, p) {
			return nil
		}
		a.handle(RUC, in)
	}
	return nil
}

// expectsReply reports whether the state is one in which a
// Configure-Ack, -Nak or -Reject answers our request and must be checked
// against it. In the other states the table answers every such packet
// alike.
func (a *Automaton) expectsReply() bool {
	switch a.state {
	case ReqSent, AckRcvd, AckSent, Opened:
		return true
	}
	return false
}

// subset reports whether every option of rej appears, unchanged, in req.
func subset(rej Options, req []byte) bool {
	for o := range rej.All() {
		found := false
		for r := range Options(req).All() {
			if r.Type == o.Type && bytes.Equal(r.Data, o.Data) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// judge asks the Handler about a Configure-Request and applies
// Max-Failure (RFC 1661 section 4.6).
func (a *Automaton) judge(opts Options) *Verdict {
	v := &a.verdict
	v.Options = opts
	v.nak = v.nak[:0]
	v.rej = v.rej[:0]
	v.err = nil
	v.failures = a.failures
	v.maxFailure = a.MaxFailure
	a.Handler.ReceiveConfigureRequest(v)
	if v.err == nil && len(v.rej) == 0 && len(v.nak) > 0 && v.Exhausted() {
		// "Any further Configure-Nak packets for peer requested
		// options are converted to Configure-Reject packets."
		for n := range Options(v.nak).All() {
			for o := range opts.All() {
				if o.Type == n.Type {
					v.rej = o.Append(v.rej)
				}
			}
		}
		v.nak = v.nak[:0]
	}
	return v
}

// handle runs one event through the transition table.
func (a *Automaton) handle(ev Event, in *input) {
	c := transitions[ev][a.state]
	if !c.legal {
		return
	}
	from := a.state
	a.state = c.next
	for i, act := range c.acts {
		switch act {
		case tlu:
			a.err = nil
			a.Handler.ThisLayerUp()
			a.notify(ThisLayerUp)
		case tld:
			a.Handler.ThisLayerDown()
			a.notify(ThisLayerDown)
		case tls:
			a.Handler.ThisLayerStarted()
			a.notify(ThisLayerStarted)
		case tlf:
			if a.err == nil {
				a.err = ErrAdministrativeClose
			}
			a.Handler.ThisLayerFinished(a.err)
			a.notify(ThisLayerFinished)
		case irc:
			a.restart = a.MaxConfigure
			for _, next := range c.acts[i+1:] {
				if next == str {
					a.restart = a.MaxTerminate
				}
			}
		case zrc:
			a.restart = 0
			a.startTimer()
		case scr:
			a.sendConfigureRequest(from, ev == TOPlus)
		case sca:
			a.failures = 0
			a.sendPacket(ConfigureAck, in.p.Identifier, in.p.Data)
		case scn:
			if len(a.verdict.rej) > 0 {
				a.sendPacket(ConfigureReject, in.p.Identifier, a.verdict.rej)
			} else {
				a.failures++
				a.sendPacket(ConfigureNak, in.p.Identifier, a.verdict.nak)
			}
		case str:
			a.id++
			a.restart--
			a.sendPacket(TerminateRequest, a.id, a.termData)
			a.startTimer()
		case sta:
			a.sendPacket(TerminateAck, in.p.Identifier, nil)
		case scj:
			a.id++
			a.out = AppendCodeReject(a.out[:0], a.id, in.raw, a.MRU)
			a.Send(a.out)
		case ser:
			if in.p.Code == EchoRequest {
				var magic uint32
				if lh, ok := a.Handler.(LinkHandler); ok {
					magic = lh.MagicNumber()
				}
				a.out = AppendEcho(a.out[:0], EchoReply, in.p.Identifier, magic, truncate(in.p.Data[4:], 4, a.MRU))
				a.Send(a.out)
			}
		}
	}
	if a.timer && !a.state.timerRunning() {
		a.timer = false
		if a.SetTimer != nil {
			a.SetTimer(0)
		}
	}
	if a.Trace != nil {
		a.Trace(from, ev, a.state)
	}
}

func (a *Automaton) notify(ev LayerEvent) {
	if a.Notify != nil {
		a.Notify(ev)
	}
}

func (a *Automaton) startTimer() {
	a.timer = true
	if a.SetTimer != nil {
		a.SetTimer(a.RestartInterval)
	}
}

// sendConfigureRequest is scr. A retransmission (TO+) repeats the last
// request with its Identifier, so that a late answer to it still counts
// (RFC 1661 section 5.1 allows either); every other scr asks the Handler
// and takes a new Identifier.
func (a *Automaton) sendConfigureRequest(from State, retransmit bool) {
	if !retransmit || a.req == nil {
		restart := from != ReqSent && from != AckRcvd && from != AckSent
		if restart {
			a.failures = 0
			a.naks = 0
			a.err = nil
		}
		a.id++
		a.reqID = a.id
		a.req = a.Handler.AppendConfigureRequest(a.req[:0], restart)
		if a.req == nil {
			a.req = []byte{}
		}
	}
	a.answered = false // even a retransmission needs a new answer
	a.restart--
	a.sendPacket(ConfigureRequest, a.reqID, a.req)
	a.startTimer()
}

func (a *Automaton) sendPacket(code Code, id uint8, data []byte) {
	a.out = Packet{Code: code, Identifier: id, Data: data}.Append(a.out[:0])
	a.Send(a.out)
}
