package pskc

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// AES key wrap, RFC 3394, as XML Encryption's kw-aes128, kw-aes192 and
// kw-aes256 use it (RFC 6030 section 6.1). Only unwrapping is needed
// here. The padded variant of RFC 5649 is not implemented.

// defaultIV is the initial value of RFC 3394 section 2.2.3.1.
var defaultIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// errUnwrapCheck is the failed integrity check of section 2.2.3.
var errUnwrapCheck = errors.New("key unwrap integrity check failed")

// unwrap is the key unwrap process of RFC 3394 section 2.2.2, in its
// index-based form. c is the wrapped key, C[0] to C[n]; the result is the
// key data, P[1] to P[n].
func unwrap(b cipher.Block, c []byte) ([]byte, error) {
	if len(c)%8 != 0 || len(c) < 24 {
		return nil, fmt.Errorf("wrapped key is %d bytes; RFC 3394 needs a multiple of 8, at least 24", len(c))
	}
	n := len(c)/8 - 1

	// 1) Initialize variables.
	a := binary.BigEndian.Uint64(c[:8])
	r := make([]byte, n*8)
	copy(r, c[8:])

	// 2) Compute intermediate values.
	var buf [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			ri := r[(i-1)*8 : i*8]
			binary.BigEndian.PutUint64(buf[:8], a^uint64(n*j+i))
			copy(buf[8:], ri)
			b.Decrypt(buf[:], buf[:])
			a = binary.BigEndian.Uint64(buf[:8])
			copy(ri, buf[8:])
		}
	}
	clear(buf[:])

	// 3) Output results, if A is the initial value.
	var got [8]byte
	binary.BigEndian.PutUint64(got[:], a)
	if subtle.ConstantTimeCompare(got[:], defaultIV[:]) != 1 {
		clear(r)
		return nil, errUnwrapCheck
	}
	return r, nil
}
