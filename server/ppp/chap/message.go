package chap

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// authStringLen is the length of "S=" and 40 hexadecimal digits (RFC 2759
// section 5).
const authStringLen = 42

// Success is an MS-CHAPv2 Success packet (RFC 2759 section 5). Its
// Message is "S=<auth_string> M=<message>".
type Success struct {
	Identifier uint8
	// AuthenticatorResponse is "S=" and 40 upper-case hexadecimal
	// digits, as mschapv2.GenerateAuthenticatorResponse returns it.
	AuthenticatorResponse string
	// Message is shown to the user by some clients.
	Message string
}

// Append appends the encoded Success packet. The Message part is left
// out when empty, and cut to fit the packet's 65535 octets.
func (s *Success) Append(dst []byte) []byte {
	msg := s.Message
	n := ppp.HeaderLen + len(s.AuthenticatorResponse)
	if msg != "" {
		msg = msg[:min(len(msg), max(0xffff-n-3, 0))]
		n += 3 + len(msg)
	}
	dst = append(dst, byte(CodeSuccess), s.Identifier, byte(n>>8), byte(n))
	dst = append(dst, s.AuthenticatorResponse...)
	if msg != "" {
		dst = append(dst, " M="...)
		dst = append(dst, msg...)
	}
	return dst
}

// AppendSuccess appends a Success packet: id is the Response's
// Identifier, authenticatorResponse the "S=..." string of
// mschapv2.GenerateAuthenticatorResponse.
func AppendSuccess(dst []byte, id uint8, authenticatorResponse, message string) []byte {
	s := Success{Identifier: id, AuthenticatorResponse: authenticatorResponse, Message: message}
	return s.Append(dst)
}

// ParseSuccess decodes a Success packet: "S=" and 40 hexadecimal digits,
// then nothing, " M=<message>" or, as pppd also accepts, "M=<message>".
func ParseSuccess(b []byte) (Success, error) {
	p, err := parse(b, CodeSuccess)
	if err != nil {
		return Success{}, err
	}
	m := p.Data
	if len(m) < authStringLen || !bytes.HasPrefix(m, []byte("S=")) || !isHex(m[2:authStringLen]) {
		return Success{}, fmt.Errorf("%w: Success without S=<40 hex digits>", ErrMessage)
	}
	s := Success{Identifier: p.Identifier, AuthenticatorResponse: string(m[:authStringLen])}
	rest := m[authStringLen:]
	switch {
	case len(rest) == 0:
	case bytes.HasPrefix(rest, []byte(" M=")):
		s.Message = string(rest[3:])
	case bytes.HasPrefix(rest, []byte("M=")):
		s.Message = string(rest[2:])
	default:
		return Success{}, fmt.Errorf("%w: Success with %q after the authenticator response", ErrMessage, rest)
	}
	return s, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ErrorCode is the E= code of an MS-CHAPv2 Failure (RFC 2759 section 6):
// a Windows error number.
type ErrorCode int

// The error codes RFC 2759 section 6 lists.
const (
	RestrictedLogonHours  ErrorCode = 646 // ERROR_RESTRICTED_LOGON_HOURS
	AccountDisabled       ErrorCode = 647 // ERROR_ACCT_DISABLED
	PasswordExpired       ErrorCode = 648 // ERROR_PASSWD_EXPIRED
	NoDialinPermission    ErrorCode = 649 // ERROR_NO_DIALIN_PERMISSION
	AuthenticationFailure ErrorCode = 691 // ERROR_AUTHENTICATION_FAILURE
	ChangingPassword      ErrorCode = 709 // ERROR_CHANGING_PASSWORD
)

func (e ErrorCode) String() string {
	switch e {
	case RestrictedLogonHours:
		return "ERROR_RESTRICTED_LOGON_HOURS"
	case AccountDisabled:
		return "ERROR_ACCT_DISABLED"
	case PasswordExpired:
		return "ERROR_PASSWD_EXPIRED"
	case NoDialinPermission:
		return "ERROR_NO_DIALIN_PERMISSION"
	case AuthenticationFailure:
		return "ERROR_AUTHENTICATION_FAILURE"
	case ChangingPassword:
		return "ERROR_CHANGING_PASSWORD"
	}
	return "ERROR_" + strconv.Itoa(int(e))
}

// Failure is an MS-CHAPv2 Failure packet (RFC 2759 section 6). Its
// Message is "E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc
// V=vvvvvvvvvv M=<msg>".
type Failure struct {
	Identifier uint8
	Error      ErrorCode
	// Retry (R=1) lets the peer answer Challenge with a new Response.
	// The server never sets it: a second guess is a second chance for
	// a password guesser.
	Retry bool
	// Challenge (C=) is the next Authenticator Challenge, for a retry.
	Challenge [ChallengeLen]byte
	// Version (V=) is the change-password protocol version; 3 is what
	// RFC 2759 describes.
	Version int
	// Message is text for the user.
	Message string
}

// NewFailure returns the Failure the server sends: no retry, version 3.
func NewFailure(id uint8, code ErrorCode, challenge [ChallengeLen]byte, message string) Failure {
	return Failure{Identifier: id, Error: code, Challenge: challenge, Version: 3, Message: message}
}

// Append appends the encoded Failure packet: "E=691 R=0 C=<32 upper-case
// hex digits> V=3 M=<message>". The message is cut to fit the packet's
// 65535 octets.
func (f *Failure) Append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, byte(CodeFailure), f.Identifier, 0, 0)
	dst = append(dst, "E="...)
	dst = strconv.AppendInt(dst, int64(f.Error), 10)
	dst = append(dst, " R="...)
	if f.Retry {
		dst = append(dst, '1')
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, " C="...)
	dst = hex.AppendEncode(dst, f.Challenge[:])
	for i := len(dst) - 2*ChallengeLen; i < len(dst); i++ {
		if 'a' <= dst[i] && dst[i] <= 'f' {
			dst[i] -= 'a' - 'A'
		}
	}
	dst = append(dst, " V="...)
	dst = strconv.AppendInt(dst, int64(f.Version), 10)
	dst = append(dst, " M="...)
	msg := f.Message[:min(len(f.Message), max(0xffff-(len(dst)-start), 0))]
	dst = append(dst, msg...)
	n := len(dst) - start
	dst[start+2], dst[start+3] = byte(n>>8), byte(n)
	return dst
}

// ParseFailure decodes a Failure packet. E= is required and comes first;
// R=, C= and V= are optional and, when present, come in that order;
// M= takes the rest. C= must have 32 hexadecimal digits.
func ParseFailure(b []byte) (Failure, error) {
	p, err := parse(b, CodeFailure)
	if err != nil {
		return Failure{}, err
	}
	f := Failure{Identifier: p.Identifier}
	m := p.Data
	field := func(key string) ([]byte, bool) {
		if !bytes.HasPrefix(m, []byte(key)) {
			return nil, false
		}
		m = m[len(key):]
		var v []byte
		v, m, _ = bytes.Cut(m, []byte(" "))
		return v, true
	}
	v, ok := field("E=")
	if !ok {
		return Failure{}, fmt.Errorf("%w: Failure without E=", ErrMessage)
	}
	e, err := strconv.Atoi(string(v))
	if err != nil || e < 0 {
		return Failure{}, fmt.Errorf("%w: E=%q", ErrMessage, v)
	}
	f.Error = ErrorCode(e)
	if v, ok := field("R="); ok {
		switch string(v) {
		case "0":
		case "1":
			f.Retry = true
		default:
			return Failure{}, fmt.Errorf("%w: R=%q", ErrMessage, v)
		}
	}
	if v, ok := field("C="); ok {
		if len(v) != 2*ChallengeLen {
			return Failure{}, fmt.Errorf("%w: C= of %d digits", ErrMessage, len(v))
		}
		if _, err := hex.Decode(f.Challenge[:], v); err != nil {
			return Failure{}, fmt.Errorf("%w: C=%q", ErrMessage, v)
		}
	}
	if v, ok := field("V="); ok {
		ver, err := strconv.Atoi(string(v))
		if err != nil || ver < 0 {
			return Failure{}, fmt.Errorf("%w: V=%q", ErrMessage, v)
		}
		f.Version = ver
	}
	if bytes.HasPrefix(m, []byte("M=")) {
		f.Message = string(m[2:])
		m = nil
	}
	if len(m) > 0 {
		return Failure{}, fmt.Errorf("%w: Failure with %q left over", ErrMessage, m)
	}
	return f, nil
}
