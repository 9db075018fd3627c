package dae

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
)

// The wire: RFC 5176 section 2.3 (packet format and the two
// authenticators) and section 3.4 (Message-Authenticator). Everything here
// is pure: no sockets, no logging, every length checked before it is used.

const headerLen = 20

// Errors of the wire functions; Server counts them as drops.
var (
	errMalformed        = errors.New("malformed packet")
	errBadAuthenticator = errors.New("Request Authenticator does not match (wrong shared secret?)")
)

// attr is one attribute of a packet; val aliases the packet.
type attr struct {
	typ byte
	val []byte
}

// frame checks the header and the attribute walk of b and returns b cut to
// its Length field (octets beyond it are padding, RFC 2865 section 3) and
// its attributes.
func frame(b []byte) ([]byte, []attr, error) {
	if len(b) < headerLen {
		return nil, nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > lr.MaxPacketLength || n > len(b) {
		return nil, nil, errMalformed
	}
	b = b[:n]
	var attrs []attr
	for i := headerLen; i < n; {
		if i+2 > n {
			return nil, nil, errMalformed
		}
		l := int(b[i+1])
		if l < 2 || i+l > n {
			return nil, nil, errMalformed
		}
		attrs = append(attrs, attr{typ: b[i], val: b[i+2 : i+l]})
		i += l
	}
	return b, attrs, nil
}

// requestAuthenticator is the Request Authenticator of a Disconnect- or
// CoA-Request (RFC 5176 section 2.3, computed as for an Accounting-Request,
// RFC 2866 section 3): MD5(Code+Identifier+Length+16 zero octets+
// Attributes+Secret). b is a framed packet.
func requestAuthenticator(b, secret []byte) [16]byte {
	var zero [16]byte
	h := md5.New()
	h.Write(b[:4])
	h.Write(zero[:])
	h.Write(b[headerLen:])
	h.Write(secret)
	var sum [16]byte
	h.Sum(sum[:0])
	return sum
}

// verify checks a framed Disconnect- or CoA-Request: the Request
// Authenticator, then the Message-Authenticator, computed over the packet
// with the Authenticator field zeroed because it is inserted before the
// Request Authenticator is computed (RFC 5176 section 3.4; FreeRADIUS does
// the same). It reports whether the packet has a Message-Authenticator; a
// missing one is rfc3579.ErrMissing, for the caller to judge.
func verify(b, secret []byte) (hasMA bool, err error) {
	sum := requestAuthenticator(b, secret)
	if !hmac.Equal(sum[:], b[4:headerLen]) {
		return false, errBadAuthenticator
	}
	var zero [16]byte
	if err := rfc3579.Verify(b, secret, &zero); err != nil {
		return false, err
	}
	return true, nil
}

// reply encodes the answer to the framed request req: code, the
// Error-Cause when cause is not zero, the request's State (section 3.3)
// and Proxy-States in order (RFC 5176 section 3.1), unmodified, and a
// Message-Authenticator when withMA,
// computed with the Request Authenticator in the Authenticator field
// (RFC 3579 section 3.2). The Response Authenticator is
// MD5(Code+Identifier+Length+Request Authenticator+Attributes+Secret)
// (RFC 5176 section 2.3). It returns nil if the reply would exceed the
// largest packet.
func reply(req []byte, attrs []attr, secret []byte, code lr.Code, cause ErrorCause, withMA bool) []byte {
	b := make([]byte, headerLen, 64)
	b[0], b[1] = byte(code), req[1]
	copy(b[4:headerLen], req[4:headerLen])
	if cause != 0 {
		b = append(b, typeErrorCause, 6)
		b = binary.BigEndian.AppendUint32(b, uint32(cause))
	}
	for _, a := range attrs {
		if a.typ == typeProxyState || a.typ == typeState {
			b = append(b, a.typ, byte(len(a.val)+2))
			b = append(b, a.val...)
		}
	}
	if withMA {
		b = append(b, rfc3579.Type, rfc3579.Len)
		b = append(b, make([]byte, 16)...)
	}
	if len(b) > lr.MaxPacketLength {
		return nil
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	if withMA {
		if err := rfc3579.Sign(b, secret, nil); err != nil {
			return nil
		}
	}
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4:headerLen])
	return b
}
