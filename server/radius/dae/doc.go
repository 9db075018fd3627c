// Package dae is the gateway's Dynamic Authorization Server (RFC 5176):
// it lets a RADIUS server (the Dynamic Authorization Client, e.g.
// FreeRADIUS with radclient or its originate-coa) end a user's VPN
// session with a Disconnect-Request, or change it with a CoA-Request, and
// answers each with an ACK or a NAK. Its shape follows net/http and
// layeh.com/radius: [NewServer] with a [Config] holding the clients and a
// [Handler], then [Server.Serve] on a net.PacketConn (or
// [Server.ListenAndServe] on an address; RFC 5176 registers UDP port
// 3799). The Handler gets a parsed [Request] and decides which sessions
// match; everything about the wire stays here.
//
// # One request
//
//  1. Client. The source address must lie in a configured [Client] prefix
//     (the longest wins), whose shared secret is then used (RFC 5176
//     section 2.3). Anything else is dropped without an answer (section
//     6.1): a scanner learns nothing.
//  2. Frame. Every length is checked; octets beyond the Length field are
//     padding. Codes other than Disconnect-Request (40) and CoA-Request
//     (43) are dropped (section 2.3).
//  3. Request Authenticator: MD5(Code+Identifier+Length+16 zero octets+
//     Attributes+Secret), computed as for an Accounting-Request (section
//     2.3, RFC 2866 section 3). A mismatch, i.e. a different secret or a
//     packet changed on the way, is dropped.
//  4. Message-Authenticator (RFC 3579, section 3.4 of RFC 5176): an
//     HMAC-MD5 keyed with the secret over the packet with both the
//     Authenticator field and its own value taken as sixteen zero octets,
//     because it is inserted before the Request Authenticator is computed.
//     FreeRADIUS does the same. A wrong one is always dropped; a missing
//     one is dropped unless Config.AllowMissingMessageAuthenticator is on.
//     It is required by default because the Request Authenticator is MD5
//     over a secret that is often short and old; requiring the HMAC as
//     well costs a conformant client nothing (radclient adds it when
//     told: Message-Authenticator = 0x00).
//  5. Replay (section 6.3). A request with an Event-Timestamp more than
//     Config.ReplayWindow (default 300 seconds, the RFC's suggestion) away
//     from the gateway's clock, in either direction, is silently
//     discarded, as the RFC requires; it is not NAKed with 404 Invalid
//     Request, because an answer would confirm to whoever replayed it that
//     the packet was good. Config.RequireEventTimestamp drops requests
//     without one.
//  6. Duplicates (section 2.3, RFC 5080 section 2.2.2). A request with the
//     same source address and port, Identifier and Request Authenticator
//     as one seen within ReplayWindow is answered with the cached answer
//     and never acted on twice. The duplicate window is the Event-Timestamp
//     window, as section 6.3 requires, so a replay is either a duplicate
//     or stale. The cache holds at most 65536 answers; beyond that new
//     requests are dropped (a request that cannot be remembered could be
//     replayed) and the client retransmits.
//  7. Decide: the server's own checks (below), each failure a NAK with
//     an Error-Cause (section 3.5), then the [Handler]; an error from it
//     that is not an [*Error] is a NAK with 506 Resources Unavailable.
//  8. Answer: Disconnect-ACK (41), Disconnect-NAK (42), CoA-ACK (44) or
//     CoA-NAK (45), with the Identifier of the request, the Error-Cause,
//     the request's State and Proxy-State attributes unmodified (sections
//     3.1, 3.3) and, when the request had one, a Message-Authenticator
//     computed with the Request Authenticator in the Authenticator field
//     (RFC 3579 section 3.2). The Response Authenticator is
//     MD5(Code+Identifier+Length+Request Authenticator+Attributes+Secret)
//     (section 2.3). The answer carries no Event-Timestamp.
//
// # The server's own refusals
//
// The attributes are read in packet order and the first problem decides
// (401, 404, 407, 405); then the NAS identity is checked (403), then that
// something is identified and, for a CoA, changed (402):
//
//	401 Unsupported Attribute       an attribute Gatehouse does not act on, or
//	                                one not allowed in that code (the table below)
//	404 Invalid Request             a single-valued attribute sent twice
//	407 Invalid Attribute Value     a wrong size, an empty string, 0.0.0.0, a
//	                                zero timeout
//	405 Unsupported Service         any Service-Type, Authorize Only included
//	403 NAS Identification Mismatch NAS-Identifier, NAS-IP-Address or
//	                                NAS-IPv6-Address not the gateway's
//	402 Missing Attribute           no session identification, or a CoA-Request
//	                                that changes nothing
//
// All attributes of a request are mandatory (section 2.3): a NAS that
// cannot honour one refuses the whole request rather than act on a broader
// selection of sessions than asked. The NAS identity is
// Config.NASIdentifier and Config.NASAddresses; an attribute of a kind
// that is not configured is not checked, only handed to the Handler.
//
// # What a request may carry
//
//	                        Disconnect   CoA     Request field
//	User-Name (1)           identifies   same    User
//	Acct-Session-Id (44)    identifies   same    SessionID
//	Calling-Station-Id (31) identifies   same    CallingStation
//	Framed-IP-Address (8)   identifies   same    FramedIP
//	NAS-IP-Address (4)      NAS check    same    NASIP
//	NAS-IPv6-Address (95)   NAS check    same    NASIPv6
//	NAS-Identifier (32)     NAS check    same    NASIdentifier
//	Filter-Id (11)          401          change  FilterID (a firewall policy)
//	Session-Timeout (27)    401          change  SessionTimeout
//	Idle-Timeout (28)       401          change  IdleTimeout
//	Acct-Terminate-Cause    passed on    401     TerminateCause
//	Event-Timestamp (55)    replay check same    EventTime
//	State (24)              echoed       same    -
//	Proxy-State (33)        echoed       same    -
//	Message-Authenticator   checked      same    -
//	Service-Type (6)        405          405     -
//	anything else           401          401     -
//
// A timeout cannot be removed by CoA (a zero value is 407): send a larger
// one instead.
//
// # Not implemented
//
//   - Proxying (section 3.1's forwarding, the Error-Causes 502 and 505):
//     the gateway is always the NAS.
//   - Service-Type Authorize Only (section 3.2): it would have the gateway
//     send an Access-Request with the State to the RADIUS server and apply
//     the Access-Accept; Gatehouse's logins go through its own policy
//     engine, so it answers 405 Unsupported Service instead.
//   - Session identification by NAS-Port, NAS-Port-Id, NAS-Port-Type,
//     Called-Station-Id, Acct-Multi-Session-Id, Chargeable-User-Identity,
//     Framed-IPv6-Prefix, Framed-Interface-Id, Originating-Line-Info or a
//     Vendor-Specific attribute; authorization changes other than
//     Filter-Id, Session-Timeout and Idle-Timeout (Class, Reply-Message,
//     EAP-Message, vendor attributes): all 401.
//   - RADIUS over TCP or TLS (RFC 6613, RFC 6614), and IPsec (section
//     6.2), which is the operator's to set up between the hosts.
//
// # Security notes
//
// The source address of a UDP packet is only a hint: what authenticates a
// request is the shared secret, so each client should have its own long
// random secret, and the prefix should be as narrow as the RADIUS servers'
// addresses. Secrets have type [Secret], which never prints. Comparisons of
// authenticators are constant-time. Nothing is answered to a packet that
// failed steps 1 to 5, so a stranger cannot use answers as an oracle;
// every drop is counted in [Stats] by reason and warned about at most once
// per 10 seconds per reason, with what the operator can do about it.
//
// Without Event-Timestamp, a recorded request can be replayed once its
// answer has left the duplicate cache: a Disconnect by Acct-Session-Id
// then finds no session, but a CoA by User-Name would apply again. Sites
// that can should have the RADIUS server send Event-Timestamp and turn on
// RequireEventTimestamp; the clocks must then agree to within
// ReplayWindow (NTP).
//
// # Concurrency
//
// Serve reads on one goroutine and hands each client's packets, in the
// order they came, to that client's own goroutine (RoutineClient), so a
// slow Handler holds up only the client it is answering. At most 64
// packets wait per client; beyond that they are dropped (Stats.Overloaded)
// and the client retransmits. Requests are rare (an operator, a
// quarantine system), so there is no worker pool.
package dae
