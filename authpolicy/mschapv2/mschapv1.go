package mschapv2

import "crypto/sha1"

// NTResponseV1 is the NT-Response of an MS-CHAPv1 Response packet (RFC
// 2433 section A.5, NtChallengeResponse): [ChallengeResponse] of the
// authenticator's 8-octet challenge itself, with no peer challenge and no
// user name mixed in.
func NTResponseV1(challenge [8]byte, ntHash [16]byte) [24]byte {
	return ChallengeResponse(challenge, ntHash)
}

// MSCHAPv1StartKey is GetStartKey (RFC 3079 section 2.4) for 128-bit
// MPPE after MS-CHAPv1: the first 16 octets of
// SHA-1(PasswordHashHash | PasswordHashHash | Challenge), where Challenge
// is the authenticator's 8-octet challenge. MS-CHAPv1 has one key for both
// directions: the result is the master key of each, and
// [InitialSessionKey] and [GetNewKeyFromSHA] work on it as on the
// MS-CHAPv2 master keys. Linux pppd and its kernel MPPE use the same key,
// cut and reduced, for 40- and 56-bit MPPE too (RFC 3079 sections 2.1 and
// 2.2 derive those from the LAN Manager hash instead, which this server
// never uses).
func MSCHAPv1StartKey(hashHash [16]byte, challenge [8]byte) [16]byte {
	var b [16 + 16 + 8]byte
	copy(b[:], hashHash[:])
	copy(b[16:], hashHash[:])
	copy(b[32:], challenge[:])
	d := sha1.Sum(b[:])
	var k [16]byte
	copy(k[:], d[:])
	return k
}
