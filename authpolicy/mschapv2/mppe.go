package mschapv2

import (
	"crypto/sha1"
	"strconv"
)

// The constants of RFC 3079 section 3.4, written as the ASCII text their
// octets spell. The texts of Magic2 and Magic3 state the send/receive
// swap: the key one side sends with is the key the other receives with.
const (
	mppeMagic1 = "This is the MPPE Master Key"
	mppeMagic2 = "On the client side, this is the send key; on the server side, it is the receive key."
	mppeMagic3 = "On the client side, this is the receive key; on the server side, it is the send key."
)

// shsPadLen is the length of SHSpad1 (40 zero octets) and SHSpad2 (40
// octets of 0xF2), RFC 3079 section 3.4 and RFC 3078 section 7.3.
const shsPadLen = 40

// MasterKey is GetMasterKey (RFC 3079 section 3.4): the first 16 octets of
// SHA-1(PasswordHashHash | NT-Response | Magic1). hashHash is
// [HashNTHash](ntHash); ntResponse is the peer's NT-Response from the
// authentication that started the session (section 3, Implementation
// Note).
func MasterKey(hashHash [16]byte, ntResponse [24]byte) [16]byte {
	var b [16 + 24 + len(mppeMagic1)]byte
	copy(b[:], hashHash[:])
	copy(b[16:], ntResponse[:])
	copy(b[40:], mppeMagic1)
	d := sha1.Sum(b[:])
	var mk [16]byte
	copy(mk[:], d[:])
	return mk
}

// AsymmetricStartKey is GetAsymmetricStartKey (RFC 3079 section 3.4) for
// a 16-octet key: the master send key (isSend) or master receive key of
// the server (isServer) or of the client.
//
// The swap rule: the server's send key and the client's receive key are
// one and the same (Magic3), and so are the client's send key and the
// server's receive key (Magic2). In RFC 3079's sample derivations
// (section 3.5), SendStartKey is the server's send key.
//
// For 40- and 56-bit MPPE the start key is 8 octets long; it is the first
// 8 octets of the result, since both lengths truncate the same digest.
func AsymmetricStartKey(masterKey [16]byte, isSend, isServer bool) [16]byte {
	s := mppeMagic2
	if isSend == isServer {
		s = mppeMagic3
	}
	var b [16 + shsPadLen + len(mppeMagic2) + shsPadLen]byte
	copy(b[:], masterKey[:])
	// b[16:56] stays zero: SHSpad1.
	copy(b[16+shsPadLen:], s)
	fillPad2(b[16+shsPadLen+len(s):])
	d := sha1.Sum(b[:])
	var k [16]byte
	copy(k[:], d[:])
	return k
}

// MasterSessionKeys returns the 16-octet master send and receive keys of
// one side of an MS-CHAPv2 session (RFC 3079 section 3.3:
// GetMasterKey, then GetAsymmetricStartKey twice). hashHash is
// [HashNTHash](ntHash).
//
// The keys depend on the side. The server (the authenticator: the PPTP
// server, or the RADIUS server on the NAS's behalf) sends with send and
// receives with recv; the client's send is the server's recv and the other
// way round. A RADIUS server puts the server's keys in MS-MPPE-Send-Key
// and MS-MPPE-Recv-Key (RFC 2548 section 2.4), since the NAS is the server.
//
// The master keys never encrypt data themselves; [InitialSessionKey]
// derives the first RC4 keys from them.
func MasterSessionKeys(hashHash [16]byte, ntResponse [24]byte, isServer bool) (send, recv [16]byte) {
	mk := MasterKey(hashHash, ntResponse)
	return AsymmetricStartKey(mk, true, isServer), AsymmetricStartKey(mk, false, isServer)
}

// KeyLen is the length in octets of an MPPE key of the given strength:
// 8 for 40- and 56-bit keys, 16 for 128-bit keys, 0 for anything else.
func KeyLen(bits int) int {
	switch bits {
	case 40, 56:
		return 8
	case 128:
		return 16
	}
	return 0
}

// GetNewKeyFromSHA is GetNewKeyFromSHA (RFC 3078 section 7.3, used by RFC
// 3079 sections 3.1-3.3): the first keyLen octets of SHA-1(StartKey |
// SHSpad1 | SessionKey | SHSpad2), where StartKey and SessionKey are the
// first keyLen octets of startKey and sessionKey. The octets of the result
// past keyLen are zero. keyLen is 8 or 16 (see [KeyLen]); anything else
// panics.
//
// For the first key of a session, sessionKey is startKey (see
// [InitialSessionKey]). On a key change, RFC 3078 section 7.3 then
// encrypts the result with RC4 under itself and reduces it with
// [ReduceKey]; that step belongs to the MPPE layer. GetNewKeyFromSHA does
// not allocate.
func GetNewKeyFromSHA(startKey, sessionKey [16]byte, keyLen int) [16]byte {
	if keyLen != 8 && keyLen != 16 {
		panic("mschapv2: GetNewKeyFromSHA: key length " + strconv.Itoa(keyLen) + ", want 8 or 16")
	}
	var b [16 + shsPadLen + 16 + shsPadLen]byte
	n := copy(b[:], startKey[:keyLen])
	n += shsPadLen // SHSpad1: zeros
	n += copy(b[n:], sessionKey[:keyLen])
	fillPad2(b[n : n+shsPadLen])
	n += shsPadLen
	d := sha1.Sum(b[:n])
	var k [16]byte
	copy(k[:keyLen], d[:])
	return k
}

// ReduceKey lowers the effective strength of an 8-octet key in place (RFC
// 3079 sections 3.1 and 3.2, RFC 3078 section 7.3): for 40 bits the first
// three octets become 0xD1 0x26 0x9E, for 56 bits the first octet becomes
// 0xD1, and 128-bit keys are left alone. Any other bits panics.
func ReduceKey(key []byte, bits int) {
	switch bits {
	case 40:
		key[0], key[1], key[2] = 0xd1, 0x26, 0x9e
	case 56:
		key[0] = 0xd1
	case 128:
	default:
		panic("mschapv2: ReduceKey: " + strconv.Itoa(bits) + " bits, want 40, 56 or 128")
	}
}

// InitialSessionKey is the first RC4 key of one direction (RFC 3079
// sections 3.1-3.3): GetNewKeyFromSHA(startKey, startKey, KeyLen(bits)),
// reduced to bits. startKey is a master send or receive key from
// [MasterSessionKeys]. Only the first KeyLen(bits) octets of the result
// are the key; the rest are zero. bits other than 40, 56 and 128 panic.
func InitialSessionKey(startKey [16]byte, bits int) [16]byte {
	k := GetNewKeyFromSHA(startKey, startKey, KeyLen(bits))
	ReduceKey(k[:], bits)
	return k
}

// fillPad2 fills b with SHSpad2's octet.
func fillPad2(b []byte) {
	for i := range b {
		b[i] = 0xf2
	}
}
