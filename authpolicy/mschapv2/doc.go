// Package mschapv2 implements the arithmetic of MS-CHAPv2 (RFC 2759) and
// of the MPPE keys derived from it (RFC 3079 section 3, with
// GetNewKeyFromSHA from RFC 3078 section 7.3). It holds no state, does no
// I/O and parses no packets: it is the mathematics the PPTP and RADIUS
// layers call. The little MS-CHAPv1 needs lives here too: its NT-Response
// ([NTResponseV1], RFC 2433) is ChallengeResponse of the 8-octet challenge
// itself, and its MPPE key ([MSCHAPv1StartKey], RFC 3079 section 2.4) is
// one SHA-1; the test checks RFC 2433's example.
//
// # From password, NT hash or hash-hash
//
// Everything hangs off the NT hash, MD4 of the password in UTF-16LE
// (NtPasswordHash, RFC 2759 section 8.3). Directories hand out NT hashes,
// not passwords, so every function takes the hash; a cleartext password
// enters through [NTHash] and nowhere else:
//
//	ntHash := mschapv2.NTHash(password) // or from the directory
//	ok := mschapv2.Verify(authChallenge, peerChallenge, userName, ntResponse, ntHash)
//	s := mschapv2.GenerateAuthenticatorResponse(ntHash, ntResponse, peerChallenge, authChallenge, userName)
//	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(ntHash), ntResponse, true)
//
// Some back-ends check the NT-Response themselves and return only
// PasswordHashHash, MD4 of the NT hash ([HashNTHash], section 8.4). That
// is enough for the authenticator response
// ([GenerateAuthenticatorResponseFromHashHash], section 8.7) and for the
// MPPE keys ([MasterSessionKeys]), but not for [Verify].
//
// The RFC 2759 functions map one to one: [ChallengeHash] (section 8.2),
// [ChallengeResponse] (8.5, with DesEncrypt of 8.6), [GenerateNTResponse]
// (8.1), [GenerateAuthenticatorResponse] (8.7) and
// [CheckAuthenticatorResponse] (8.8, the peer's side). [Verify] is the
// authenticator's check of a Response packet (section 4); it and
// CheckAuthenticatorResponse compare in constant time. crypto/des refuses
// to run in FIPS 140-only mode (GODEBUG=fips140=only), and
// ChallengeResponse then panics: MS-CHAPv2 cannot work there at all.
//
// # User names
//
// Pass the user name exactly as the peer sent it in the Response packet.
// ChallengeHash hashes "only the user name (as presented by the peer and
// excluding any prepended domain name)" (section 8.2), so every function
// that takes a name strips a "DOMAIN\" prefix itself ([StripDomain]: up to
// the last backslash, as pppd does). Nothing else is changed: case and a
// "@realm" suffix are hashed as sent.
//
// # MPPE keys and the send/receive swap
//
// [MasterKey] (GetMasterKey) mixes PasswordHashHash with the NT-Response
// of the authentication that started the session. [AsymmetricStartKey]
// (GetAsymmetricStartKey, RFC 3079 section 3.4) then derives one master key
// per direction, and the two sides swap them:
//
//	                     server (authenticator)   client (peer)
//	Magic3 key           send                     receive
//	Magic2 key           receive                  send
//
// What the server sends with, the client receives with. [MasterSessionKeys]
// returns (send, receive) as seen from the side it is asked for. RFC 3079's
// sample SendStartKey (section 3.5) is the server's send key, and a RADIUS
// server, answering for the NAS that is the MPPE server, puts the server's
// send and receive keys in MS-MPPE-Send-Key and MS-MPPE-Recv-Key (RFC 2548
// section 2.4).
//
// The master keys never encrypt data. [InitialSessionKey] gives the first
// RC4 key of a direction: [GetNewKeyFromSHA] of the master key with itself,
// cut to [KeyLen] octets (8 for 40- and 56-bit, 16 for 128-bit) and
// reduced by [ReduceKey] (RFC 3079 sections 3.1 to 3.3). On each later key
// change the MPPE layer calls GetNewKeyFromSHA(start, current), encrypts
// the result with RC4 under itself and reduces it (RFC 3078 section 7.3).
// The key functions work on fixed-size arrays and never allocate, since
// stateless MPPE changes keys on every packet.
//
// The tests check every intermediate value of RFC 2759 section 9.2 and
// RFC 3079 section 3.5, including the sample RC4 messages. One of those
// is misprinted: the last octet of the 56-bit sample (section 3.5.2) is B8,
// not 58 as printed.
//
// # MS-CHAPv2 and MPPE are weak
//
// Use them only for clients that can do nothing better.
//
// The NT hash is password-equivalent. It is unsalted MD4, and whoever holds
// it can answer any challenge and derive every MPPE key without knowing the
// password; that is exactly what this package does with the hash a
// directory hands out. Guard NT hashes as you would passwords.
//
// One captured exchange yields the NT hash, however strong the password.
// ChallengeResponse encrypts one known 8-octet challenge under three DES
// keys cut from the NT hash: the third key has only 16 unknown bits, and
// the first two are found with a single 2^56 DES search, since both
// encrypt the same plaintext. A 2^56 search is about a day's work for
// dedicated hardware and has been sold as a service since 2012. The
// recovered hash then logs in as the user and, with the NT-Response sent
// in clear, gives the MPPE keys of the captured session.
//
// MPPE itself is RC4 with no integrity protection. An active attacker can
// lower the negotiated key strength (RFC 3078 section 9), and 40- and
// 56-bit keys can be searched outright.
//
// # What layeh.com/radius lacks
//
// The rfc2759 and rfc3079 packages of layeh.com/radius (at
// v0.0.0-20231213012653-1006025d24f8) compute the same NT-Response,
// authenticator response and server-side master keys; the tests here
// cross-check them. They lack:
//
//   - An NT-hash entry point. GenerateNTResponse, GenerateAuthenticatorResponse
//     and MakeKey take only a cleartext password. From a hash one can
//     compose ChallengeHash and ChallengeResponse by hand, but there is no
//     authenticator response or MPPE key from the NT hash or from
//     PasswordHashHash.
//   - Domain stripping. ChallengeHash hashes the name as given, so a
//     "DOMAIN\user" response fails unless the caller strips it.
//   - A verifier. There is no Verify and no CheckAuthenticatorResponse;
//     layeh's example server compares NT-Responses with bytes.Equal,
//     which is not constant time.
//   - The client's keys. GetAsymmetricStartKey has no IsServer argument
//     and always answers for the server (isSend picks Magic3). Against the
//     RFC 3079 samples and this package, MakeKey(ntResponse, password, true)
//     is the server's send key, so layeh's send key is correct for a RADIUS
//     server (MS-MPPE-Send-Key). It is the client's receive key, and the
//     client's keys cannot be had from it.
//   - Session keys. There is no GetNewKeyFromSHA, no 40- or 56-bit
//     reduction and no 56-bit key length; MakeKey returns the 16-octet
//     master key only.
//
// The open upstream report about the MPPE send key (layeh/radius issue
// #154, "EAP-TLS derives the RADIUS MPPE send key from EMSK material")
// names EAP-TLS functions that layeh.com/radius does not contain at that
// version. It does not concern rfc3079, whose send key the tests here find
// correct.
package mschapv2
