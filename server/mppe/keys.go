package mppe

import (
	"crypto/fips140"
	"errors"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// keys is the key state of one direction: the start key, the current
// session key and the RC4 tables keyed with it (RFC 3078 sections 5 to 7).
// The arithmetic of the keys is package mschapv2's; keys only keeps them
// and drives the RC4 tables.
type keys struct {
	start   [16]byte // StartKey of RFC 3078 section 7.3: the direction's MPPE master key
	session [16]byte // the current session key; octets past keyLen are zero
	keyLen  int      // 8 or 16 octets (mschapv2.KeyLen)
	bits    int      // 40, 56 or 128
	rc4     rc4Tables

	changes uint64 // key changes so far, for the tests
}

// init derives the initial session key of a direction from its start key
// (RFC 3079 sections 3.1 to 3.3, [mschapv2.InitialSessionKey]) and keys
// the RC4 tables with it (RFC 3078 section 5).
func (k *keys) init(start [16]byte, bits int) error {
	n := mschapv2.KeyLen(bits)
	if n == 0 {
		return fmt.Errorf("mppe: %d-bit keys: want 40, 56 or 128", bits)
	}
	// crypto/rc4 and crypto/sha1 refuse to work in FIPS 140-only mode
	// (GODEBUG=fips140=only); so does MPPE, instead of panicking in
	// sha1 on the first key change.
	if fips140.Enforced() {
		return errors.New("mppe: RC4 is not allowed in FIPS 140-only mode")
	}
	*k = keys{start: start, keyLen: n, bits: bits}
	k.session = mschapv2.InitialSessionKey(start, bits)
	k.rc4.setKey(k.session[:n])
	return nil
}

// change is the MPPE key change algorithm (RFC 3078 section 7.3):
//
//	InterimKey = GetNewKeyFromSHA(StartKey, SessionKey, Length)
//	rc4_key(RC4Key, Length, InterimKey)
//	SessionKey = rc4(RC4Key, Length, InterimKey)
//	reduce SessionKey to 40 or 56 bits
//	rc4_key(RC4Key, Length, SessionKey)
//
// It leaves the tables freshly keyed with the new session key: a key
// change is also a flush.
func (k *keys) change() {
	interim := mschapv2.GetNewKeyFromSHA(k.start, k.session, k.keyLen)
	k.rc4.setKey(interim[:k.keyLen])
	k.rc4.xorKeyStream(k.session[:k.keyLen], interim[:k.keyLen])
	mschapv2.ReduceKey(k.session[:k.keyLen], k.bits)
	k.rc4.setKey(k.session[:k.keyLen])
	k.changes++
}
