// Package rfc3579 implements the Message-Authenticator attribute of
// RFC 3579 section 3.2: an HMAC-MD5, keyed with the shared secret, over the
// whole packet with the attribute's own value zeroed. It is the defence
// against Blast-RADIUS (CVE-2024-3596), which forges Access-Accepts by an
// MD5 chosen-prefix collision on the Response Authenticator: a packet that
// carries a valid Message-Authenticator cannot be forged that way.
//
// The functions work on wire bytes and are pure: no sockets, no logging.
//
// What goes into the Authenticator field while the HMAC is computed
// (RFC 3579 section 3.2, RFC 5176 section 3.4 for the request kinds):
//
//	Access-Request, Status-Server           the Request Authenticator as sent
//	Accounting-Request, CoA, Disconnect     sixteen zero octets
//	replies (Accept, Reject, Challenge,...) the Request Authenticator of the request
package rfc3579

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
)

// Type is the attribute type of Message-Authenticator.
const Type = 80

// Len is the attribute's length on the wire: type, length, 16-octet HMAC.
const Len = 18

// Errors of Find, Sign and Verify.
var (
	ErrMalformed = errors.New("malformed RADIUS packet")
	ErrMissing   = errors.New("no Message-Authenticator")
	ErrInvalid   = errors.New("Message-Authenticator does not match")
	ErrDuplicate = errors.New("more than one Message-Authenticator")
)

// Find returns the offset of the Message-Authenticator value in the packet
// b (after its 2-octet header), or ErrMissing. It walks every attribute and
// checks every length.
func Find(b []byte) (int, error) {
	if len(b) < 20 {
		return 0, ErrMalformed
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 20 || n > len(b) {
		return 0, ErrMalformed
	}
	off, found := -1, false
	for i := 20; i < n; {
		if i+2 > n {
			return 0, ErrMalformed
		}
		l := int(b[i+1])
		if l < 2 || i+l > n {
			return 0, ErrMalformed
		}
		if b[i] == Type {
			if l != Len {
				return 0, ErrMalformed
			}
			if found {
				return 0, ErrDuplicate
			}
			off, found = i+2, true
		}
		i += l
	}
	if !found {
		return 0, ErrMissing
	}
	return off, nil
}

// Sum computes the Message-Authenticator of packet b whose attribute value
// starts at off, with auth in the Authenticator field (nil: the field as
// it is). b is not modified.
func Sum(b []byte, off int, secret []byte, auth *[16]byte) [16]byte {
	n := int(binary.BigEndian.Uint16(b[2:4]))
	var zero [16]byte
	h := hmac.New(md5.New, secret)
	h.Write(b[:4])
	if auth != nil {
		h.Write(auth[:])
	} else {
		h.Write(b[4:20])
	}
	h.Write(b[20:off])
	h.Write(zero[:])
	h.Write(b[off+16 : n])
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// Sign writes the Message-Authenticator into b, which must already carry
// the attribute (its value is overwritten). auth is what the Authenticator
// field holds for the computation (see the package documentation); nil
// means the field as it is.
func Sign(b, secret []byte, auth *[16]byte) error {
	off, err := Find(b)
	if err != nil {
		return err
	}
	sum := Sum(b, off, secret, auth)
	copy(b[off:off+16], sum[:])
	return nil
}

// Verify checks the Message-Authenticator of b in constant time. It
// returns ErrMissing when b has none, so that the caller decides whether
// that is acceptable.
func Verify(b, secret []byte, auth *[16]byte) error {
	off, err := Find(b)
	if err != nil {
		return err
	}
	sum := Sum(b, off, secret, auth)
	if !hmac.Equal(sum[:], b[off:off+16]) {
		return ErrInvalid
	}
	return nil
}
