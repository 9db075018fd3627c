package mschapv2

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/bits"
	"strings"
	"unicode/utf16"

	//lint:ignore SA1019 NtPasswordHash is MD4 by definition (RFC 2759 section 8.3).
	"golang.org/x/crypto/md4"
)

// AuthenticatorResponseLen is the length of the string
// [GenerateAuthenticatorResponse] returns: "S=" and 40 hexadecimal digits
// (RFC 2759 section 8.7).
const AuthenticatorResponseLen = 42

// maxUserName is the longest user name RFC 2759 allows (0-to-256-char).
// ChallengeHash hashes longer names too, but only names up to this length
// are hashed without allocating.
const maxUserName = 256

// The two constants of GenerateAuthenticatorResponse (RFC 2759 section
// 8.7, Magic1 and Magic2), written as the ASCII text their octets spell.
const (
	authMagic1 = "Magic server to client signing constant"
	authMagic2 = "Pad to make it do more than one iteration"
)

// NTHash is NtPasswordHash (RFC 2759 section 8.3): the MD4 digest of the
// password in UTF-16 little-endian, without a terminating zero.
//
// Runes outside the Basic Multilingual Plane are encoded as surrogate
// pairs, as Windows does. Bytes that are not valid UTF-8 each count as
// U+FFFD, the rune a range loop over the string yields for them. No length
// limit is applied (RFC 2759 allows 256 characters).
//
// The result is password-equivalent: whoever holds it can answer any
// MS-CHAPv2 challenge and derive every MPPE key. Treat it like the password.
func NTHash(password string) [16]byte {
	n := 0
	for _, r := range password {
		n += 2 * utf16.RuneLen(r)
	}
	// One buffer holds the UTF-16 text and, after it, the digest, so that
	// both can be wiped together.
	buf := make([]byte, n, n+md4.Size)
	i := 0
	for _, r := range password {
		if utf16.RuneLen(r) == 2 {
			r1, r2 := utf16.EncodeRune(r)
			binary.LittleEndian.PutUint16(buf[i:], uint16(r1))
			binary.LittleEndian.PutUint16(buf[i+2:], uint16(r2))
			i += 4
			continue
		}
		binary.LittleEndian.PutUint16(buf[i:], uint16(r))
		i += 2
	}
	h := md4.New()
	h.Write(buf)
	sum := h.Sum(buf)
	var out [16]byte
	copy(out[:], sum[n:])
	clear(sum)
	return out
}

// HashNTHash is HashNtPasswordHash (RFC 2759 section 8.4): the MD4 digest
// of the NT hash, called PasswordHashHash. Back-ends that check the
// NT-Response themselves sometimes return only this value; it is enough to
// compute the authenticator response and the MPPE keys, but not to check
// an NT-Response.
func HashNTHash(ntHash [16]byte) [16]byte {
	h := md4.New()
	h.Write(ntHash[:])
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// StripDomain returns the user name without a "DOMAIN\" prefix: everything
// after the last backslash, or name itself if it has none. Only the
// down-level "DOMAIN\user" form is stripped; a "user@realm" name is the
// name the peer hashed and is returned unchanged.
//
// Callers need not call it before the functions of this package: every
// function that takes a user name strips it itself, so pass the name as
// the peer sent it in the Response packet.
func StripDomain(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// ChallengeHash is ChallengeHash (RFC 2759 section 8.2): the first 8
// octets of SHA-1(PeerChallenge | AuthenticatorChallenge | UserName).
//
// userName is the name as the peer sent it. ChallengeHash strips any
// "DOMAIN\" prefix itself (see [StripDomain]), because section 8.2 hashes
// "only the user name (as presented by the peer and excluding any
// prepended domain name)".
//
// Note the argument order: the peer's challenge comes first here, as in
// the RFC, but second in [GenerateNTResponse].
func ChallengeHash(peerChallenge, authChallenge [16]byte, userName string) [8]byte {
	userName = StripDomain(userName)
	var digest [sha1.Size]byte
	if len(userName) <= maxUserName {
		var buf [16 + 16 + maxUserName]byte
		copy(buf[:], peerChallenge[:])
		copy(buf[16:], authChallenge[:])
		n := 32 + copy(buf[32:], userName)
		digest = sha1.Sum(buf[:n])
	} else {
		h := sha1.New()
		h.Write(peerChallenge[:])
		h.Write(authChallenge[:])
		io.WriteString(h, userName)
		h.Sum(digest[:0])
	}
	var challenge [8]byte
	copy(challenge[:], digest[:])
	return challenge
}

// ChallengeResponse is ChallengeResponse (RFC 2759 section 8.5): the NT
// hash, zero-padded to 21 octets, is cut into three 7-octet DES keys, and
// each encrypts the 8-octet challenge (DesEncrypt, section 8.6).
//
// It panics if crypto/des refuses to run, which only happens when the
// program runs in FIPS 140-only mode (GODEBUG=fips140=only): MS-CHAPv2
// cannot work there at all.
func ChallengeResponse(challenge [8]byte, ntHash [16]byte) [24]byte {
	var zHash [21]byte
	copy(zHash[:], ntHash[:])
	var resp [24]byte
	for i := range 3 {
		desEncrypt(resp[8*i:8*i+8], challenge[:], zHash[7*i:7*i+7])
	}
	return resp
}

// desEncrypt is DesEncrypt (RFC 2759 section 8.6): DES-ECB of one block
// under a 7-octet key.
func desEncrypt(dst, clear, key7 []byte) {
	key := desKey(key7)
	c, err := des.NewCipher(key[:])
	if err != nil {
		// The key is always 8 octets, so only FIPS 140-only mode gets here.
		panic("mschapv2: " + err.Error())
	}
	c.Encrypt(dst, clear)
}

// desKey spreads 56 key bits over 8 octets, seven bits each, and sets the
// low bit of every octet to odd parity (RFC 2759 section 9.3). crypto/des
// ignores the parity bits; they are set anyway so that the keys match the
// RFC's example byte for byte.
func desKey(k []byte) [8]byte {
	_ = k[6]
	out := [8]byte{
		k[0],
		k[0]<<7 | k[1]>>1,
		k[1]<<6 | k[2]>>2,
		k[2]<<5 | k[3]>>3,
		k[3]<<4 | k[4]>>4,
		k[4]<<3 | k[5]>>5,
		k[5]<<2 | k[6]>>6,
		k[6] << 1,
	}
	for i, b := range out {
		b &^= 1
		if bits.OnesCount8(b)%2 == 0 {
			b |= 1
		}
		out[i] = b
	}
	return out
}

// GenerateNTResponse is GenerateNTResponse (RFC 2759 section 8.1), taking
// the NT hash instead of the password: ChallengeResponse(ChallengeHash(...),
// ntHash). From a cleartext password, pass [NTHash](password).
//
// userName is the name as the peer sent it; see [ChallengeHash].
func GenerateNTResponse(authChallenge, peerChallenge [16]byte, userName string, ntHash [16]byte) [24]byte {
	return ChallengeResponse(ChallengeHash(peerChallenge, authChallenge, userName), ntHash)
}

// Verify reports whether ntResponse is the NT-Response of a peer that
// knows the password whose NT hash is ntHash. It is what an authenticator
// runs on a Response packet (RFC 2759 section 4); the comparison takes
// constant time. A wrong password is false, never an error.
func Verify(authChallenge, peerChallenge [16]byte, userName string, ntResponse [24]byte, ntHash [16]byte) bool {
	want := GenerateNTResponse(authChallenge, peerChallenge, userName, ntHash)
	return subtle.ConstantTimeCompare(want[:], ntResponse[:]) == 1
}

// GenerateAuthenticatorResponse is GenerateAuthenticatorResponse (RFC 2759
// section 8.7), taking the NT hash instead of the password. It returns the
// 42-character "S=" string, with upper-case hexadecimal digits, that the
// authenticator sends in the Success packet (section 5) and that proves to
// the peer that the authenticator knows the password too.
//
// userName is the name as the peer sent it; see [ChallengeHash].
func GenerateAuthenticatorResponse(ntHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName string) string {
	return GenerateAuthenticatorResponseFromHashHash(HashNTHash(ntHash), ntResponse, peerChallenge, authChallenge, userName)
}

// GenerateAuthenticatorResponseFromHashHash is
// [GenerateAuthenticatorResponse] for back-ends that return only
// PasswordHashHash (see [HashNTHash]).
func GenerateAuthenticatorResponseFromHashHash(hashHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName string) string {
	digest := authenticatorDigest(hashHash, ntResponse, peerChallenge, authChallenge, userName)
	const hexDigits = "0123456789ABCDEF"
	var out [AuthenticatorResponseLen]byte
	out[0], out[1] = 'S', '='
	for i, b := range digest {
		out[2+2*i] = hexDigits[b>>4]
		out[3+2*i] = hexDigits[b&0x0f]
	}
	return string(out[:])
}

// CheckAuthenticatorResponse is CheckAuthenticatorResponse (RFC 2759
// section 8.8), taking the NT hash instead of the password: the peer's
// check that the authenticator's Success packet carries the right "S="
// string. received is the 42-character string alone, without the " M="
// message that follows it in the packet; its hexadecimal digits may be of
// either case. The comparison takes constant time.
func CheckAuthenticatorResponse(ntHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName, received string) bool {
	if len(received) != AuthenticatorResponseLen || received[:2] != "S=" {
		return false
	}
	var got [sha1.Size]byte
	if _, err := hex.Decode(got[:], []byte(received[2:])); err != nil {
		return false
	}
	want := authenticatorDigest(HashNTHash(ntHash), ntResponse, peerChallenge, authChallenge, userName)
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// authenticatorDigest is the SHA-1 digest GenerateAuthenticatorResponse
// encodes (RFC 2759 section 8.7).
func authenticatorDigest(hashHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName string) [sha1.Size]byte {
	var b1 [16 + 24 + len(authMagic1)]byte
	copy(b1[:], hashHash[:])
	copy(b1[16:], ntResponse[:])
	copy(b1[40:], authMagic1)
	d1 := sha1.Sum(b1[:])

	challenge := ChallengeHash(peerChallenge, authChallenge, userName)
	var b2 [sha1.Size + 8 + len(authMagic2)]byte
	copy(b2[:], d1[:])
	copy(b2[sha1.Size:], challenge[:])
	copy(b2[sha1.Size+8:], authMagic2)
	return sha1.Sum(b2[:])
}
