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
//     A PAP login that only lacks its one-time code may instead get an
//     Access-Challenge (below).
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
// # Access-Challenge: a second prompt for the one-time code
//
// With Config.Challenge.Enabled (services.<name>.challenge of the front
// door's service, off by default), a PAP login that the policy rejects
// but that a one-time code would complete is answered with an
// Access-Challenge instead (RFC 2865 section 4.4): the NAS shows the
// Reply-Message (radius_server.challenge_message, "Enter your one-time
// code") as a second prompt and sends the code, as User-Password, in a
// new Access-Request that carries the challenge's State. The login is
// then decided as if the user had typed password and code on one line.
// The one-line form keeps working, challenge on or off.
//
//   - Deciding. The first round runs the engine with
//     authpolicy.WithChallenge: the engine tries the whole policy as
//     usual, and only when nothing accepts does it look for a branch whose
//     factors other than its one-time codes accept the whole typed secret
//     (authpolicy.Result.Challenge). Nothing is committed; a wrong
//     password is an Access-Reject exactly as without challenges, so the
//     first round costs what any failed login costs (the lockout counts
//     it) and no more. The Access-Challenge itself does tell the client
//     that the password was right, as privacyIDEA's and FreeRADIUS's
//     challenge-response do: only the code protects the account then, and
//     a challenge is not counted as a failed login. MS-CHAPv2 and CHAP
//     carry a hash of the whole secret and are never challenged.
//   - The State is StateLen (16) bytes from crypto/rand, opaque: nothing
//     is parsed from it, it is only looked up. It is bound to the
//     User-Name (exactly as sent), the NAS (the client's source address,
//     not its port, and the NAS-Identifier and NAS-IP-Address as sent, or
//     their absence) and a lifetime (radius_server.challenge_timeout, 2m).
//     The answer must match all three; it removes the challenge (single
//     use). A State of another user or NAS is rejected and the challenge
//     stays for its own answer; an unknown, used, expired or replaced State
//     is rejected, and the log says which. States are remembered, without
//     any secret, for twice the lifetime (at least a minute) so that a
//     replay is told apart from a State never issued. While challenges are
//     off, a State that this server did not issue is ignored, as before.
//   - The password of the first round is held in memory only, as a byte
//     slice that prints and logs as REDACTED, and overwritten when the
//     answer arrives, when the challenge expires (a timer, not the next
//     request), is replaced or the server stops. It is never logged or
//     written anywhere. (The engine's own copies are Go strings, as for
//     every login.)
//   - Limits: at most radius_server.max_challenges (10000) pending in all
//     and radius_server.max_challenges_per_user (3) per User-Name. A
//     user's new challenge replaces the user's oldest (the NAS shows the
//     newest prompt; the older State then gets "replaced"). When the table
//     is full, a new first round is rejected (and logged) rather than
//     evicting another user's pending login: filling it takes that many
//     right passwords.
//   - Counting: Stats counts challenges sent, answered, refused for a
//     full table, expired and replaced, the pending ones, and the answers
//     rejected for their State, by reason. A challenge is not a login
//     decision: it is a log line ("Access-Challenge sent", with the branch
//     and the first 4 bytes of the State as "challenge"), not an event of
//     the event index, and the lockout neither counts nor clears it. The
//     second round is a login like any other (an event, a lockout count
//     when rejected); answers rejected for their State are log lines.
//
// # Access-Challenge from a back-end
//
// A back-end may ask its own question: the radius back-end passes on its
// upstream server's Access-Challenge (authpolicy.Result.BackendChallenge,
// the branch "challenged" by that back-end). With the service's challenge
// on, a PAP login so answered gets an Access-Challenge carrying the
// back-end's prompt (made printable, at most 253 bytes; Message when
// empty) and a State of this server's own, issued and checked exactly as
// above (random, bound to the user and the NAS, single use, the same
// lifetime, table and limits); the table's entry holds the back-end's
// continuation (the upstream State, the upstream server) instead of a
// password. The upstream State never reaches the NAS. The answer (the
// User-Password of the request that carries the State) is decided by the
// same back-end in the same branch with the continuation
// (authpolicy.WithResume); another challenge is passed on again, up to
// MaxUpstreamRounds in all, after which the back-end is told it cannot
// ask and refuses. The answer is never logged, nor is the continuation.
//
// Where the settings live: whether a login may be challenged is the
// service's (services.<name>.challenge), as it depends on its policy; the
// prompt, the lifetime and the limits are the front door's
// (radius_server.challenge_message, challenge_timeout, max_challenges,
// max_challenges_per_user), as they concern its NASes and its memory.
// They are read at start, except the service's switch, which a reload
// applies.
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
