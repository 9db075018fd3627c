package mppe

// rc4Tables is the RC4 state of one direction: the "RC4 tables" of RFC
// 3078 sections 5 and 8.2.
//
// It is RC4 written out here rather than crypto/rc4, because MPPE keys RC4
// again and again: on every packet in stateless mode, twice per key change
// (RFC 3078 section 7.3). rc4.NewCipher returns a new *rc4.Cipher each
// time, one heap allocation of about 1 KiB, and rc4.Cipher offers no way to
// re-key an existing value (its Reset only wipes it). setKey re-initialises
// the tables in place and allocates nothing. The state layout (uint32
// entries) and the keystream loop are those of crypto/rc4; the tests check
// the output against crypto/rc4 for random keys and lengths.
type rc4Tables struct {
	s    [256]uint32
	i, j uint8
}

// setKey is rc4_key of RFC 3078 section 5: it initialises the tables from
// key, which is 8 or 16 octets long (40-, 56- and 128-bit MPPE keys).
func (c *rc4Tables) setKey(key []byte) {
	// RC4 repeats the key to 256 octets. Both MPPE key lengths divide 16,
	// so a 16-octet copy indexed with i&15 stands in for key[i%len(key)]
	// without a division per step.
	var k [16]byte
	for n := 0; n < len(k); n += len(key) {
		copy(k[n:], key)
	}
	for i := range c.s {
		c.s[i] = uint32(i)
	}
	var j uint8
	for i := range 256 {
		j += uint8(c.s[i]) + k[i&15]
		c.s[i], c.s[j] = c.s[j], c.s[i]
	}
	c.i, c.j = 0, 0
}

// xorKeyStream sets dst[k] to src[k] XOR the next keystream octet, front to
// back. len(dst) must be len(src). dst may overlap src if it does not start
// after it (each octet of src is read before anything at or after it is
// written); the callers check this.
func (c *rc4Tables) xorKeyStream(dst, src []byte) {
	if len(src) == 0 {
		return
	}
	i, j := c.i, c.j
	dst = dst[:len(src)] // one bounds check for the loop
	for k, v := range src {
		i++
		x := c.s[i]
		j += uint8(x)
		y := c.s[j]
		c.s[i], c.s[j] = y, x
		dst[k] = v ^ uint8(c.s[uint8(x+y)])
	}
	c.i, c.j = i, j
}
