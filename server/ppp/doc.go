// Package ppp is the pure core of the PPP layer of the PPTP server: the
// frame codec, the control-protocol packet codec and the option
// negotiation automaton shared by LCP, IPCP and CCP (RFC 1661). It does
// no I/O, starts no goroutine, reads no clock and logs nothing; the
// session loop feeds it bytes and timeouts and sends what it returns.
// The protocols themselves live in the sub-packages lcp, ipcp, ccp (with
// MPPE) and chap (MS-CHAPv2).
//
// # Frames
//
// PPTP carries PPP frames in enhanced GRE without the HDLC flag, octet
// stuffing and FCS (RFC 2637 section 4.4), so what remains is RFC 1662
// section 3.1's Address 0xff and Control 0x03, the Protocol field and the
// Information field. [ParseFrame] accepts every form a peer may send
// regardless of what was negotiated, as RFC 1661 sections 6.5 and 6.6
// require: Address and Control present or not (ACFC), the Protocol field
// in one octet or two (PFC). It follows RFC 1662 section 3.2 to tell
// them apart: 0xff 0x03 at the start is the Address and Control; anything
// else begins the Protocol field, whose first octet is odd exactly when
// it is compressed. 0x00ff is reserved for that reason and refused.
// [AppendFrame] compresses only what the peer accepted, and never the
// Address and Control of an LCP packet (section 6.6). Both run on the data
// path and never allocate; a test pins that.
//
// # Control packets
//
// [Packet] is RFC 1661 section 5's Code, Identifier, Length and Data,
// which LCP, IPCP, CCP, CHAP and PAP share. [ParsePacket] checks Length
// against the octets received and ignores padding beyond it. [Option] and
// [Options] are section 6's Type/Length/Data options; [ParseOptions]
// checks the whole sequence once so that iterating it ([Options.All])
// cannot fail. Builders for Code-Reject, Protocol-Reject (5.6, 5.7) and
// Echo-Request/Reply/Discard-Request (5.8, 5.9) truncate the rejected
// packet to the peer's MRU as the RFC asks.
//
// # The automaton
//
// [Automaton] is section 4's option negotiation automaton, once, for
// every control protocol. Its transition table (transitions.go) is the
// RFC's, row by row, and a test parses the table as printed in the RFC and
// checks all 160 cells, with the actions each performs and in the
// order given. A protocol plugs in through [Handler]: it appends its
// Configure-Request options, judges the peer's through a [Verdict] (Nak,
// Reject, or Fail), applies the peer's Configure-Nak or Configure-Reject
// of its own ([Nak]), and hears the this-layer actions. LCP's Handler is
// also a [LinkHandler] (Protocol-Reject, Echo and Discard), and CCP's an
// [Extension] (Reset-Request and Reset-Ack).
//
// The automaton owns no timer and no goroutine. It asks for the Restart
// timer through SetTimer and the caller calls [Automaton.Timeout]; it
// sends through Send; the session is told of the this-layer actions
// through Notify. One goroutine, the session's, owns it. Calls made from
// inside its callbacks are queued and run after the current event, so a
// session that closes LCP from CCP's This-Layer-Finished cannot corrupt a
// transition half done.
//
// # Decisions
//
// Where the RFC leaves a choice, this package takes the following.
//
//   - Counters and timer are RFC 1661 section 4.6's defaults: Restart
//     timer 3 s, Max-Terminate 2, Max-Configure 10, Max-Failure 5. They are
//     fields, so a session may change them.
//   - Max-Failure applies both ways. After five Configure-Naks sent
//     without an Ack, further Naks of options the peer sent become Rejects
//     and suggestions are dropped, as section 4.6 says; the [Verdict]
//     reports [Verdict.Exhausted] first, so that a protocol that cannot
//     give up an option fails with a reason instead (CCP: "peer insists on
//     40-bit MPPE, which is refused"). Configure-Naks received in a row
//     are counted too ([Nak.Count]), as pppd does, so that a protocol
//     that keeps proposing what the peer keeps Naking (LCP's
//     Authentication-Protocol) gives up after Max-Failure rounds instead of
//     looping for ever.
//   - A retransmission (TO+) repeats the request with its Identifier,
//     so a late Ack to the first copy still counts; any other request gets
//     a new Identifier (section 5.1 allows both).
//   - A Configure-Ack must carry our last request's Identifier and exactly
//     its options; a Configure-Reject may only list options we sent,
//     unchanged (sections 5.2, 5.4). Anything else is silently discarded.
//     Like pppd, a second Ack or Nak for a request already answered is a
//     duplicate and discarded, so a network-duplicated Ack does not tear
//     an Opened link down through the "crossed connection" row.
//   - When a new negotiation begins (scr from Starting, Closed, Stopped or
//     Opened), the Handler is told to start again from its first wishes
//     and the counters are reset.
//   - The Open event's restart option [r] is not taken: Open in Stopped,
//     Closing, Stopping or Opened does only what the table says.
//   - Terminate-Requests carry no text: the reason is logged by us, not
//     shown to the client.
//   - [Automaton.Err] keeps the first reason the layer went down for: a
//     peer Terminate-Request crossing ours does not hide why we closed.
//     Reasons are typed ([TimeoutError], [TerminatedError],
//     [RejectedError]) and read as sentences for operators.
//   - A Code-Reject of codes 1 to 7 (and of Protocol-Reject, for LCP) is
//     catastrophic (RXJ-); of any other code it is permitted (RXJ+) and
//     remembered ([Automaton.CodeRejected]) so the session stops sending,
//     say, Echo-Requests. Protocol-Reject is taken in Opened only
//     (section 5.7); Echo-Request is answered in Opened only (the table's
//     RXR row and section 5.8).
//
// The package ppptest carries a deterministic two-ended link with
// programmable loss and a scripted peer; the tests drive two automata
// through it to Opened under 300 random loss patterns of 25%.
package ppp
