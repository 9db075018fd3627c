package otp

import (
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	pqotp "github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Kind says what moves a token's codes on: an event counter or the clock.
type Kind uint8

const (
	// HOTP codes follow an event counter (RFC 4226): the token's button.
	HOTP Kind = iota + 1
	// TOTP codes follow the clock (RFC 6238): one code per time step.
	TOTP
)

// String returns "hotp" or "totp", as in an otpauth:// URI.
func (k Kind) String() string {
	switch k {
	case HOTP:
		return "hotp"
	case TOTP:
		return "totp"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind reads "hotp" or "totp", in any case.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "hotp":
		return HOTP, nil
	case "totp":
		return TOTP, nil
	}
	return 0, fmt.Errorf("unknown OTP kind %q (want hotp or totp)", s)
}

// Algorithm is the HMAC hash. RFC 4226 defines HOTP with SHA-1 only;
// RFC 6238 section 1.2 adds SHA-256 and SHA-512 for TOTP, and tokens use
// them for HOTP too. The zero value is SHA1.
type Algorithm uint8

const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

// String returns "SHA1", "SHA256" or "SHA512", as in an otpauth:// URI.
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm reads "SHA1", "SHA256" or "SHA512", in any case and with
// or without a hyphen ("sha-256").
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ReplaceAll(strings.ToUpper(s), "-", "") {
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return 0, fmt.Errorf("unknown OTP algorithm %q (want SHA1, SHA256 or SHA512)", s)
}

func (a Algorithm) pquerna() pqotp.Algorithm {
	switch a {
	case SHA256:
		return pqotp.AlgorithmSHA256
	case SHA512:
		return pqotp.AlgorithmSHA512
	}
	return pqotp.AlgorithmSHA1
}

// Defaults for the zero values of Params.
const (
	DefaultDigits = 6                // RFC 4226 section 5.3: at least 6
	DefaultPeriod = 30 * time.Second // RFC 6238 section 5.2
)

// Params describe a token: what it counts, how it hashes, how long its
// codes are. They are not secret.
type Params struct {
	Kind      Kind
	Algorithm Algorithm // zero: SHA1
	Digits    int       // 6, 7 or 8; zero: 6
	// Period is the TOTP time step X of RFC 6238 section 4.1, a whole
	// number of seconds; zero: 30 s. HOTP ignores it.
	Period time.Duration
	// T0 is the Unix time, in seconds, at which TOTP step 0 begins
	// (RFC 6238 section 4.1); usually 0. HOTP ignores it.
	T0 int64
}

// Validate reports whether p describes a token this package can compute.
// Every function that takes Params computes nothing for invalid ones.
func (p Params) Validate() error {
	if p.Kind != HOTP && p.Kind != TOTP {
		return fmt.Errorf("unknown OTP kind %d", p.Kind)
	}
	if p.Algorithm > SHA512 {
		return fmt.Errorf("unknown OTP algorithm %d", p.Algorithm)
	}
	if d := p.digits(); d < 6 || d > 8 {
		return fmt.Errorf("%d digits: OTP codes have 6 to 8", p.Digits)
	}
	if p.Kind == TOTP && p.periodSeconds() == 0 {
		return fmt.Errorf("TOTP period %s: want a whole number of seconds, at least 1s", p.Period)
	}
	return nil
}

func (p Params) digits() int {
	if p.Digits == 0 {
		return DefaultDigits
	}
	return p.Digits
}

// periodSeconds is the period in seconds, or 0 if it is not a positive
// whole number of seconds.
func (p Params) periodSeconds() int64 {
	d := p.Period
	if d == 0 {
		d = DefaultPeriod
	}
	if d < time.Second || d%time.Second != 0 {
		return 0
	}
	return int64(d / time.Second)
}

func (p Params) opts() hotp.ValidateOpts {
	return hotp.ValidateOpts{Digits: pqotp.Digits(p.digits()), Algorithm: p.Algorithm.pquerna()}
}

// b32 is how the secret is handed to pquerna/otp, which takes base32 text.
var b32 = base32.StdEncoding

// Code is the code a token with secret and p shows at counter, which is
// the HOTP counter or the TOTP time step (see [Step]): RFC 4226 section
// 5.3, computed by pquerna/otp's hotp.GenerateCodeCustom. It returns ""
// for an empty secret or invalid p; "" matches nothing.
func Code(secret []byte, p Params, counter uint64) string {
	if len(secret) == 0 || p.Validate() != nil {
		return ""
	}
	return code(b32.EncodeToString(secret), p.opts(), counter)
}

// code computes one code from the base32 secret.
func code(secret32 string, opts hotp.ValidateOpts, counter uint64) string {
	c, err := hotp.GenerateCodeCustom(secret32, counter, opts)
	if err != nil {
		// Only a bad base32 secret fails, and secret32 is our own encoding.
		return ""
	}
	return c
}

// Step is the TOTP time step at t, T = floor((t - T0) / X) of RFC 6238
// section 4.2, whole seconds. Times before T0 give negative steps, which
// are never accepted; so does a p whose period is invalid (-1).
func Step(p Params, t time.Time) int64 {
	x := p.periodSeconds()
	if x == 0 {
		return -1
	}
	u := t.Unix()
	d := u - p.T0
	if (p.T0 > 0 && d > u) || (p.T0 < 0 && d < u) {
		return -1 // overflow: a clock no token shares
	}
	s := d / x
	if d%x < 0 {
		s-- // floor, not truncation, before T0
	}
	return s
}
