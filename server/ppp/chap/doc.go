// Package chap is the codec of CHAP (RFC 1994) as MS-CHAPv2 uses it (RFC
// 2759): the server's Challenge, the peer's Response, and the Success and
// Failure that answer it; and, for the operator who enables them, the
// CHAP-MD5 (RFC 1994) and MS-CHAPv1 (RFC 2433) forms of the same packets. It does no cryptography; the policy engine
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
//
// # CHAP-MD5 and MS-CHAPv1
//
// These are refused unless the operator enables them (pptp.auth.chap_md5,
// pptp.auth.mschapv1). [AppendChallengeValue] sends a Challenge of any
// length: 8 octets for MS-CHAPv1, 16 for CHAP-MD5. [ParseMD5Response]
// takes a 16-octet Value (MD5 of Identifier, secret and Challenge);
// [ParseV1Response] a 49-octet one: LM-Response 24, NT-Response 24, Use-NT
// flag 1. The LAN Manager response is parsed but never checked: a response
// without the Use-NT flag is refused by the session. Success and Failure
// carry plain text ([AppendMessage], [ParseMessage]); an MS-CHAPv1 Failure
// is "E=<code> R=0" ([AppendV1Failure]), so clients still show the right
// error, and never offers a retry.
package chap
