// Package rfc2548 decodes and encodes the Microsoft vendor-specific
// attributes of RFC 2548 that MS-CHAPv2 over RADIUS needs:
//
//   - MS-CHAP2-Success (section 2.3.3): Ident, then the 42-character
//     authenticator response "S=<40 hex digits>" of RFC 2759 section 5.
//   - MS-CHAP-Error (section 2.1.5): Ident, then "E=eeeeeeeeee R=r C=cccc
//     V=vvvvvvvvvv M=<msg>" (RFC 2759 section 6).
//   - MS-MPPE-Send-Key and MS-MPPE-Recv-Key (sections 2.4.2 and 2.4.3): a
//     2-octet Salt with its high bit set, then the key, prefixed by its
//     length and padded to 16 octets, hidden like User-Password but chained
//     from MD5(secret + Request Authenticator + Salt).
//
// The attribute values are those inside the Vendor-Specific wrapper
// (layeh.com/radius/vendors/microsoft finds them). The codecs are pure.
package rfc2548

import (
	"crypto/md5"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// Vendor is Microsoft's SMI Network Management Private Enterprise Code.
const Vendor = 311

// KeyLen is the length of an MS-CHAPv2 MPPE master session key (RFC 3079).
const KeyLen = 16

// ParseCHAP2Success splits an MS-CHAP2-Success value.
func ParseCHAP2Success(v []byte) (ident byte, authResponse string, err error) {
	if len(v) != 43 || v[1] != 'S' || v[2] != '=' {
		return 0, "", fmt.Errorf("MS-CHAP2-Success: want ident and \"S=\" plus 40 hex digits, got %d octets", len(v))
	}
	for _, c := range v[3:] {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return 0, "", errors.New("MS-CHAP2-Success: authenticator response is not hexadecimal")
		}
	}
	return v[0], strings.ToUpper(string(v[1:])), nil
}

// CHAPError is a parsed MS-CHAP-Error.
type CHAPError struct {
	Ident   byte
	Code    int // 646 restricted hours, 647 disabled, 648 expired, 649 no dial-in, 691 failure, 709 change password
	Retry   bool
	Message string
}

// ParseCHAPError parses an MS-CHAP-Error value. Unknown fields are ignored;
// a missing E= field is an error.
func ParseCHAPError(v []byte) (CHAPError, error) {
	if len(v) < 2 {
		return CHAPError{}, errors.New("MS-CHAP-Error: too short")
	}
	e := CHAPError{Ident: v[0], Code: -1}
	s := string(v[1:])
	if i := strings.Index(s, " M="); i >= 0 {
		e.Message = s[i+3:]
		s = s[:i]
	} else if strings.HasPrefix(s, "M=") {
		e.Message, s = s[2:], ""
	}
	for f := range strings.FieldsSeq(s) {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "E":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return CHAPError{}, fmt.Errorf("MS-CHAP-Error: bad error code %q", val)
			}
			e.Code = n
		case "R":
			e.Retry = val == "1"
		}
	}
	if e.Code < 0 {
		return CHAPError{}, errors.New("MS-CHAP-Error: no E= field")
	}
	return e, nil
}

// Reason words an MS-CHAP error code (RFC 2759 section 6) for an operator.
func (e CHAPError) Reason() string {
	switch e.Code {
	case 646:
		return "RADIUS server: logon outside the permitted hours (MS-CHAP error 646)"
	case 647:
		return "RADIUS server: account disabled (MS-CHAP error 647)"
	case 648:
		return "RADIUS server: password expired (MS-CHAP error 648)"
	case 649:
		return "RADIUS server: no dial-in permission (MS-CHAP error 649)"
	case 691:
		return "RADIUS server: wrong user name or password (MS-CHAP error 691)"
	case 709:
		return "RADIUS server: password must be changed (MS-CHAP error 709)"
	}
	return fmt.Sprintf("RADIUS server: MS-CHAP error %d", e.Code)
}

// DecryptKey recovers an MPPE key from an MS-MPPE-Send-Key or
// MS-MPPE-Recv-Key value, given the shared secret and the Request
// Authenticator of the Access-Request the value answers.
func DecryptKey(v, secret []byte, reqAuth [16]byte) ([KeyLen]byte, error) {
	var key [KeyLen]byte
	if len(v) < 2+16 || (len(v)-2)%16 != 0 {
		return key, fmt.Errorf("MPPE key: %d octets, want a 2-octet salt and a multiple of 16", len(v))
	}
	if v[0]&0x80 == 0 {
		return key, errors.New("MPPE key: salt without its high bit set")
	}
	ct := v[2:]
	pt := make([]byte, len(ct))
	keyStream(pt, ct, ct, secret, reqAuth, v[:2])
	defer clear(pt)
	if int(pt[0]) != KeyLen || len(pt) < 1+KeyLen {
		return key, fmt.Errorf("MPPE key: length %d, want %d", pt[0], KeyLen)
	}
	copy(key[:], pt[1:1+KeyLen])
	return key, nil
}

// EncryptKey hides key for an MS-MPPE-Send-Key or MS-MPPE-Recv-Key value.
// salt's high bit is set here; it must differ between the attributes of one
// packet.
func EncryptKey(key [KeyLen]byte, secret []byte, reqAuth [16]byte, salt uint16) []byte {
	salt |= 0x8000
	pt := make([]byte, 32) // length octet + 16 + padding to 32
	pt[0] = KeyLen
	copy(pt[1:], key[:])
	out := make([]byte, 2+len(pt))
	out[0], out[1] = byte(salt>>8), byte(salt)
	keyStream(out[2:], pt, out[2:], secret, reqAuth, out[:2])
	clear(pt)
	return out
}

// keyStream is the cipher of RFC 2548 section 2.4.2, both ways: dst =
// src XOR b(1), b(2), ..., where b(1) = MD5(secret | Request Authenticator
// | salt) and b(i+1) = MD5(secret | c(i)), c(i) being the i-th 16-octet
// block of the ciphertext, which is dst when hiding and src when
// recovering. len(src) is a multiple of 16.
func keyStream(dst, src, ciphertext, secret []byte, reqAuth [16]byte, salt []byte) {
	h := md5.New()
	h.Write(secret)
	h.Write(reqAuth[:])
	h.Write(salt)
	var b [16]byte
	h.Sum(b[:0])
	for i := 0; i < len(src); i += 16 {
		for j := range 16 {
			dst[i+j] = src[i+j] ^ b[j]
		}
		h.Reset()
		h.Write(secret)
		h.Write(ciphertext[i : i+16])
		h.Sum(b[:0])
	}
}

// Microsoft vendor attribute types (RFC 2548 section 2).
const (
	TypeCHAPError            = 2
	TypeMPPEEncryptionPolicy = 7
	TypeMPPEEncryptionTypes  = 8
	TypeCHAPChallenge        = 11
	TypeMPPESendKey          = 16
	TypeMPPERecvKey          = 17
	TypeCHAP2Response        = 25
	TypeCHAP2Success         = 26
)

// Lookup returns the value of the first Microsoft attribute of type typ in
// the Vendor-Specific attributes of attrs (each value the bytes after the
// Vendor-Specific header), walking every sub-attribute with its length
// checked.
func Lookup(vsas [][]byte, typ byte) ([]byte, bool) {
	for _, v := range vsas {
		if len(v) < 4 || v[0] != 0 || v[1] != 0 || v[2] != Vendor>>8 || v[3] != Vendor&0xff {
			continue
		}
		for b := v[4:]; len(b) >= 2; {
			l := int(b[1])
			if l < 2 || l > len(b) {
				break
			}
			if b[0] == typ {
				return b[2:l], true
			}
			b = b[l:]
		}
	}
	return nil, false
}

// VendorSpecific returns the values of p's Vendor-Specific attributes, in
// order, for Lookup.
func VendorSpecific(p *radius.Packet) [][]byte {
	var out [][]byte
	for _, a := range p.Attributes {
		if a.Type == rfc2865.VendorSpecific_Type {
			out = append(out, a.Attribute)
		}
	}
	return out
}

// VSA wraps one Microsoft attribute as a Vendor-Specific value (the bytes
// after the attribute header of type 26).
func VSA(typ byte, value []byte) []byte {
	out := make([]byte, 0, 6+len(value))
	out = append(out, 0, 0, Vendor>>8, Vendor&0xff, typ, byte(2+len(value)))
	return append(out, value...)
}
