// Package lcp is the PPTP server's Link Control Protocol (RFC 1661
// section 6, with RFC 1570's extensions where a Windows client uses
// them): a ppp.LinkHandler that plugs into ppp.Automaton, a codec for the
// LCP options, and the echo keepalive.
//
//	neg, err := lcp.NewNegotiator(lcp.DefaultPolicy())
//	a := ppp.NewAutomaton(ppp.ProtoLCP, neg, send)
//	a.Notify = func(ev ppp.LayerEvent) { ... neg.Result() ... a.Err() ... }
//	a.Open(); a.Up()
//
// # What the server asks for
//
// Our Configure-Request carries, in type order: the MRU when the Policy
// sets one (6.1), the Authentication-Protocol (6.2), a random non-zero
// Magic-Number (6.4), and PFC and ACFC (6.5, 6.6) when the Policy asks
// for them, as [DefaultPolicy] does after pppd.
//
// Authentication is MS-CHAPv2 only by default: CHAP (0xc223) with
// algorithm 0x81 (RFC 2759 section 2). PAP (0xc023), CHAP-MD5 (algorithm
// 5, RFC 1994) and MS-CHAPv1 (0x80, RFC 2433) are recognised and can be
// allowed in Policy.Auth, most preferred first. When the peer Naks our
// Authentication-Protocol, the server switches to the method it suggests
// if allowed, else to the next allowed method, else keeps asking for the
// same one; after Max-Failure Naks in a row LCP closes with an
// [AuthRefusedError] that says what to enable: "peer insists on PAP,
// which is refused (enable pptp.auth.pap to allow it)". A peer that
// Configure-Rejects the option will not authenticate at all
// ([ErrAuthRejected]).
//
// # What the server accepts
//
//   - MRU: any value from Policy.MinMRU (576 by default: the datagram
//     every IPv4 host must take) up; a smaller one is Naked up to it. A
//     larger one than we would send is fine: it only bounds what we send.
//     When the peer Naks our MRU we follow within MinMRU..MaxMRU, else go
//     back to the default of 1500.
//   - Async-Control-Character-Map (RFC 1662 section 7.1): acknowledged
//     and ignored; GRE carries no control characters to escape.
//   - Magic-Number: acknowledged unless zero, which RFC 1661 section 6.4
//     says must be Naked. A request carrying our own Magic-Number is
//     answered, as 6.4 prescribes, with a Nak suggesting a new random one,
//     and nothing else in it is judged, so that on a looped-back link our
//     Nak comes back to us. A Nak of ours carrying the value we suggested
//     makes a loop likelier still. After Policy.LoopbackLimit (10, as
//     pppd) such signs LCP closes with [ErrLoopedBack].
//   - PFC and ACFC: always acknowledged; [Result.SendPFC] and
//     [Result.SendACFC] then tell the session to compress towards the
//     peer. Frames from the peer are accepted either way
//     (ppp.ParseFrame).
//   - Everything else is rejected: Authentication-Protocol (the server
//     does not authenticate itself to clients), Quality-Protocol,
//     Callback (Windows asks for CBCP), Multilink (RFC 1990), and any
//     option sent twice or with a length that does not fit its type.
//
// # Extra codes
//
// The automaton answers Echo-Request in Opened with our Magic-Number.
// [Negotiator.EchoRequest], [Negotiator.EchoOutstanding] and
// [Negotiator.LoopedBack] are the session's keepalive: it sends an
// Echo-Request every interval (unless the peer Code-Rejected them,
// ppp.Automaton.CodeRejected) and ends the session when too many go
// unanswered or our own Magic-Number comes back. Protocol-Reject of
// another protocol goes to Negotiator.ProtocolRejected so the session
// stops that protocol. Identification and Time-Remaining (RFC 1570
// section 2) are taken silently; Windows identifies itself with its RAS
// version and host name, kept for the logs ([Negotiator.Identification]).
//
// # Options
//
// [ParseOptions] decodes an Options field into typed options ([MRU],
// [ACCM], [AuthProtocol], [MagicNumber], [PFC], [ACFC], and [Unknown]
// for the rest) that print in the RFC's words for logs and encode back
// to the same octets; a fuzz target checks that.
package lcp
