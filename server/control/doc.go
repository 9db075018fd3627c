// Package control is the server side of the PPTP control connection,
// RFC 2637 section 3: it accepts PPTP clients on TCP port 1723, sets up
// their calls, keeps the connection alive and tears it down cleanly. The
// messages themselves are package pptp's; the data (GRE) and the PPP
// session are other packages', reached through a CallHandler.
//
// # Roles
//
// RFC 2637 names two ends. The PPTP Access Concentrator (PAC) sits on the
// telephone network and places or answers calls; the PPTP Network Server
// (PNS) asks it to. A Windows or Linux client dialling a VPN asks for an
// outgoing call, so it is the PNS, and Gatehouse is the PAC. From that,
// section 2 fixes who sends what:
//
//	client (PNS) → Gatehouse (PAC)          Gatehouse (PAC) → client (PNS)
//	Start-Control-Connection-Request         Start-Control-Connection-Reply
//	Outgoing-Call-Request                    Outgoing-Call-Reply
//	Call-Clear-Request                       Call-Disconnect-Notify
//	Set-Link-Info                            WAN-Error-Notify
//	Stop-Control-Connection-Request/-Reply   Stop-Control-Connection-Request/-Reply
//	Echo-Request/-Reply                      Echo-Request/-Reply
//
// The incoming-call messages (ICRQ, ICRP, ICCN) are for a PAC that
// answers a telephone; Gatehouse never sends an Incoming-Call-Request and
// ignores, with a warning, what has no place on its side.
//
// # One connection
//
// Server.Serve accepts a TCP connection and starts its two goroutines:
// RoutineReadFromTCP cuts the byte stream into messages with a
// pptp.Reader and hands them over a channel to RoutineControl, which
// owns all the connection's state (its connState, its calls, its timers)
// and writes every reply itself. Other goroutines never touch that
// state: Call.Disconnect, Call.Hangup (a Disconnect that also stops a
// connection left without calls), Call.WANErrorNotify and Server.Close
// queue a request, which never blocks, and RoutineControl serves it. The
// CallHandler's methods run on RoutineControl, one at a time per
// connection.
//
// A client's whole life, as Linux's pptp and Windows live it:
//
//	client                                   Gatehouse
//	SCCRQ (version 1.0) ──────────────────►  Idle → Established
//	                    ◄──────────────────  SCCRP Success, async|sync, analog|digital, MaxCalls
//	OCRQ (its Call ID)  ──────────────────►  Call ID taken, CallHandler.NewCall
//	                    ◄──────────────────  OCRP Connected (our Call ID, window 64)
//	SLI (ACCMs)         ──────────────────►  CallHandler.LinkInfo
//	... GRE and PPP, elsewhere; Echo-Request either way when quiet ...
//	CCRQ (its Call ID)  ──────────────────►
//	                    ◄──────────────────  CDN Request (our Call ID), CallHandler.CallEnded
//	StopCCRQ            ──────────────────►
//	                    ◄──────────────────  StopCCRP OK, TCP closed
//
// The connection's states (RFC 2637 section 3.1.2, the receiver's side):
//
//	Idle ──SCCRQ ≥ 1.0 / SCCRP──► Established ──local terminate / StopCCRQ──► Wait-Stop-Reply
//	  │                             │                                           │
//	  │ anything else, timeout      │ StopCCRQ / StopCCRP; echo timeout;        │ StopCCRP, StopCCRQ,
//	  │                             │ second SCCRQ; malformed; TCP closed       │ timeout
//	  ▼                             ▼                                           ▼
//	Closed ◄────────────────────────┴───────────────────────────────────────────┘
//
// and a call's (section 3.2.4.1, the PAC's outgoing call; there is no
// line to dial, so the RFC's wait_cs_ans is the CallHandler deciding):
//
//	Wait-Reply ──NewCall ok / OCRP Connected──► Established ──CCRQ / CDN, Disconnect / CDN──► Cleared
//	     └───────NewCall error / OCRP General Error──────────────────────────────────────────► Cleared
//
// connState and callState carry the full diagrams. When a connection
// closes, for whatever reason, its calls end with it, and each gets its
// CallEnded: section 2.3 says stopping the control connection clears
// its calls implicitly, so no Call-Disconnect-Notify precedes a
// Stop-Control-Connection-Request.
//
// # Timers
//
//   - Setup: a connection that has not sent a Start-Control-Connection-
//     Request within SetupTimeout (10 s; the RFC allows 60) is closed.
//     So is a peer trickling a message an octet at a time: the timer
//     does not care about partial messages.
//   - No call: an established connection that carries no call for
//     SetupTimeout, from the start or since its last call ended, is
//     stopped with a Stop-Control-Connection-Request. Clients send their
//     Outgoing-Call-Request right after the reply and stop the
//     connection themselves after their call, so only idlers meet it.
//   - Keep-alive (section 3.1.3): after EchoInterval (60 s) without a
//     message from the client the server sends an Echo-Request; if
//     nothing at all arrives in the next EchoTimeout (60 s, as the RFC
//     suggests) the connection is closed with the cause "no answer to
//     echo within 60s: the client went away or a firewall drops TCP
//     1723". Any message, not only the Echo-Reply, resets the timer. The
//     client's own Echo-Requests are answered while the connection is up
//     and while it is being stopped.
//   - Stop: after its Stop-Control-Connection-Request the server waits
//     StopTimeout (2 s) for the reply, then closes anyway. This bounds
//     Close.
//   - Writes: a write that does not complete within 10 s (the client's
//     TCP window stays shut) closes the connection.
//
// # Limits
//
// MaxCalls (default 100, the product's connection limit) counts calls
// across all connections. An Outgoing-Call-Request beyond it is answered
// General Error with Error Code No-Resource (RFC 2637 section 2.16, code
// 4: the Outgoing-Call-Reply has no result of its own for it), logged
// and counted in Stats.CallsRefused; the connection stays up and the
// client may try again. The Start-Control-Connection-Reply announces
// MaxCalls as Maximum Channels.
//
// Call IDs are unique across the server, not only per connection as
// section 3.2.2 asks, so the GRE layer can find a session from the Call
// ID in a packet alone. They are never 0, are taken in turn from a
// cursor that starts at a random value, and one that was freed is not
// handed out again for a minute, so GRE packets still in flight for an
// ended call cannot land in a new one.
//
// A connection costs two goroutines and the pptp.Reader's 1 KiB buffer;
// no message longer than 220 octets is ever buffered, and a stream that
// does not start like a PPTP message is refused after ten octets.
//
// # Bad input
//
// A malformed message (bad Magic Cookie, a Length that is not its type's,
// an unknown type, a PPTP Message Type other than control) leaves the
// byte stream out of step for good: the connection is closed at once,
// without a Stop-Control-Connection-Request the peer could not read in
// step either, its calls end, and Stats.Malformed counts it. Nothing else
// is affected. Well-formed messages in the wrong state:
//
//   - before Start-Control-Connection-Request: the connection is closed;
//     a request whose reply has a General Error result gets one with
//     Error Code Not-Connected (Outgoing-Call-Request, Echo-Request,
//     Incoming-Call-Request), and a Stop-Control-Connection-Request gets
//     its OK, since the connection goes as asked.
//   - a second Start-Control-Connection-Request: answered "Command
//     channel already exists" and the connection is closed; a client
//     that forgot it had started is in no state to go on.
//   - a Protocol Version below 1.0: answered "Protocol version not
//     supported" and closed. Above 1.0: answered with 1.0 and Success;
//     section 3.1.1 lets the originator fall back or stop.
//   - an Outgoing-Call-Request reusing the client's Call ID of a live
//     call on the same connection: General Error, Bad-Call ID, since a
//     Call-Clear-Request could not tell the two apart.
//   - a Call-Clear-Request for no call: logged, not answered.
//   - a Set-Link-Info names the call by the server's Call ID (section
//     2.15, "Peer's Call ID" from the sender's side); the client's Call
//     ID is tried next, and a Set-Link-Info for no call is dropped.
//   - messages only a PAC sends (SCCRP, OCRP, CDN, WEN, ICRQ) and an
//     unsolicited Stop-Control-Connection-Reply: warned about, ignored.
//
// # Logs
//
// Every line about a connection carries the attribute client, the
// client's public address and port ("203.0.113.7:50123"); lines about a
// call add call_id (ours, in the client's GRE packets) and peer_call_id
// (the client's). Messages are constant; the why is in cause (why a
// connection or call ended), reason (why a call was refused) or hint.
// Causes are sentences an operator can act on: "no Start-Control-
// Connection-Request within 10s: the peer is not a PPTP client, or it
// stalled", "connection limit reached: MaxCalls is 100".
//
// Levels: a connection established, a call set up or ended, and a clean
// close are Info; refusals, protocol violations, time-outs and malformed
// input are Warn; each message sent and received is Debug. Port 1723 on
// the Internet is scanned all day, so Warn lines for connections that
// never carried a call, refusals and unexpected messages pass a limiter
// (ten at once, then one a second, the rest at Debug, counted in
// suppressed on the next line let through).
//
// # Other decisions
//
//   - The Outgoing-Call-Reply's Connect Speed is the client's Maximum
//     BPS, or 100 Mbit/s when it names none: a tunnel has no line speed,
//     and clients only show the figure.
//   - The Start-Control-Connection-Reply claims both framings and both
//     bearers, so no client refuses to call for want of one.
//   - Call-Disconnect-Notify carries no Call Statistics text: the
//     Disconnect cause stays in the server's log, where it may name a
//     user or a policy, and off the wire.
//   - Call.Disconnect answers Admin Shutdown; a Call-Clear-Request is
//     answered Request (section 2.13).
//   - No limit on connections as such: a connection either carries a
//     call, counted by MaxCalls, or is closed within SetupTimeout. A
//     flood of fresh connections costs goroutines for that long;
//     firewalls are better placed to rate-limit SYNs.
//
// Package controltest has a scripted client (the PNS side) for tests of
// this package and of the gateway above it.
package control
