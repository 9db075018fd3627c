// Package radiusd is Gatehouse's RADIUS front door: a RADIUS server
// (RFC 2865) that lets any NAS (a VPN concentrator, a Wi-Fi controller, a
// switch) use the gateway's policies. Its shape follows net/http and
// layeh.com/radius's PacketServer: [New] with a [Config] and an
// [AuthFunc], then [Server.Serve] on a net.PacketConn.
//
// One request, in order:
//
//  1. Client: the source address must lie in a configured prefix (the
//     longest prefix wins); otherwise the packet is dropped and counted
//     (Stats.UnknownClient) — no answer, so a scanner learns nothing.
//  2. Parse: every length checked; codes other than Access-Request and
//     Status-Server are dropped (accounting is not served here).
//  3. Message-Authenticator (RFC 3579): an invalid one always drops the
//     packet; a missing one drops it when RequireMessageAuthenticator is on
//     (the default; Blast-RADIUS) and always for Status-Server (RFC 5997).
//  4. Duplicates: a request with the same source, Identifier and Request
//     Authenticator as one seen within DuplicateWindow is answered from
//     the cache (or dropped while the first is still being decided), never
//     evaluated twice: a one-time code is not consumed twice by a
//     retransmission.
//  5. Status-Server is answered with an Access-Accept (RFC 5997 section 3).
//  6. Access-Request with User-Password (PAP) or MS-CHAP-Challenge +
//     MS-CHAP2-Response (RFC 2548) becomes an authpolicy.Credential and is
//     decided by AuthFunc (the policy engine, for the configured service).
//     So is CHAP-Password (CHAP-MD5, RFC 2865 section 5.3; the challenge is
//     CHAP-Challenge when sent, else the Request Authenticator) when
//     Config.CHAP is on (radius_server.chap, off by default). Anything else
//     (CHAP while off, MS-CHAPv1, EAP) is rejected with a Reply-Message
//     that says which methods work.
//  7. Access-Accept carries, for MS-CHAPv2, MS-CHAP2-Success and the MPPE
//     keys (MS-MPPE-Send-Key/Recv-Key hidden with the client's secret, RFC
//     2548 section 2.4), plus the configured reply attributes and, where
//     the configuration does not set them, the Filter-Id, Class,
//     Session-Timeout, Idle-Timeout and Framed-IP-Address that the
//     deciding branch's back-ends reported (a RADIUS server behind the
//     gateway), so Gatehouse can sit between a NAS and an existing RADIUS
//     server.
//     Access-Reject carries a Reply-Message an operator can act on without
//     telling an attacker which factor was wrong: "Gatehouse rejected the
//     login (ref 1a2b3c4d; ...)" or "... could not decide the login: a
//     back-end is unavailable (ref ...)"; the gateway's log line with the
//     same ref carries the engine's full reason (which branch, which
//     factor). Unsupported methods and malformed requests say so plainly.
//     MS-CHAPv2 rejects add MS-CHAP-Error "E=691 R=0 ...". An engine error
//     is a reject too: fail closed. Every reply echoes the request's
//     Proxy-State attributes (RFC 2865 section 5.33) and carries a
//     Message-Authenticator.
//
// Before any of this, a source over Config.ClientRate (a token bucket per
// address, package ratelimit) has its request dropped and counted
// (Stats.RateLimited), so one NAS's flood cannot take the workers the
// other NASes need. The check runs on the source address alone, before
// the Message-Authenticator: a forger able to send with a NAS's address
// can spend that NAS's budget, never another's.
//
// Requests are decided concurrently by worker goroutines
// (RoutineWorker), started on demand up to MaxInFlight and kept while Serve
// runs; beyond that new requests are dropped (counted) and the NAS
// retransmits.
package radiusd
