// Package chap is the codec of CHAP (RFC 1994) as MS-CHAPv2 uses it (RFC
// 2759): the server's Challenge, the peer's Response, and the Success and
// Failure that answer it. It does no cryptography; the policy engine
// checks the Response (authpolicy, authpolicy/mschapv2) and the session
// loop puts the packets on the wire with protocol 0xc223.
//
// # The exchange
//
//	challenge, _ := chap.NewChallenge(rand.Reader)        // 16 octets
//	send(chap.AppendChallenge(nil, id, challenge, "gatehouse"))
//	r, err := chap.ParseResponse(pkt)                      // r.Identifier == id
//	cred := r.MSCHAPv2(challenge)                          // authpolicy.MSCHAPv2Response
//	...
//	send(chap.AppendSuccess(nil, r.Identifier, authResp, "Welcome"))
//	f := chap.NewFailure(r.Identifier, chap.AuthenticationFailure, next, "Access denied")
//	send(f.Append(nil))
//
// # Layouts
//
// Challenge and Response share RFC 1994 section 4.1: Value-Size, Value,
// Name. An MS-CHAPv2 Challenge value is 16 octets (RFC 2759 section 3).
// A Response value is 49 (section 4): Peer-Challenge 16, Reserved 8,
// NT-Response 24, Flags 1. [ParseResponse] requires Value-Size 49 and a
// Name of at most 256 octets (RFC 2759 allows user names of 256
// characters); like pppd and FreeRADIUS it does not refuse a login over
// non-zero Reserved or Flags octets, which RFC 2759 says are zero and
// which enter no computation. The Name is kept exactly as sent, DOMAIN\
// prefix included: ChallengeHash needs it as sent and strips the domain
// itself.
//
// Success (section 5) is "S=<40 hex digits> M=<message>"; the M part is
// left out when the message is empty, and [ParseSuccess] also takes
// pppd's "M=" without the space. Failure (section 6) is "E=<code> R=<0|1>
// C=<32 hex digits> V=<version> M=<message>". [NewFailure] never allows a
// retry (R=0: a second guess is a second chance for a password guesser)
// and announces version 3; the Change-Password packet (code 7) that a
// client may then send for E=648 is not supported; the session should
// answer it with a Failure of E=709 (ERROR_CHANGING_PASSWORD). The error codes of section 6 are
// [ErrorCode] constants.
package chap
