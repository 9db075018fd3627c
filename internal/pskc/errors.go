package pskc

import (
	"errors"
	"fmt"
)

// ErrIntegrity is matched (with errors.Is) by every error that means the
// key or password is wrong or the file was altered: a <ValueMAC> that does
// not match, bad CBC padding, a failed key-unwrap check. The two causes
// cannot be told apart, so the message names both.
var ErrIntegrity = errors.New("integrity check failed")

// ErrUnsupported is matched (with errors.Is) by errors about parts of
// RFC 6030 this package does not implement: asymmetric key transport,
// algorithms other than AES-CBC and AES key wrap, MAC keys given by
// reference. See the package documentation.
var ErrUnsupported = errors.New("not supported")

// Protection is how a container protects its encrypted values
// (RFC 6030 section 6).
type Protection int

const (
	// ProtectionPreSharedKey: <EncryptionKey><ds:KeyName>, section 6.1.
	ProtectionPreSharedKey Protection = iota + 1
	// ProtectionPassword: <EncryptionKey><xenc11:DerivedKey> with PBKDF2,
	// section 6.2.
	ProtectionPassword
)

// String implements fmt.Stringer.
func (p Protection) String() string {
	switch p {
	case ProtectionPreSharedKey:
		return "pre-shared key"
	case ProtectionPassword:
		return "password"
	}
	return fmt.Sprintf("Protection(%d)", int(p))
}

// KeyRequiredError is returned when a file holds encrypted values and
// Options lacks what decrypts them. A caller can ask the operator for the
// key or password named here and call Parse again.
type KeyRequiredError struct {
	Protection Protection
	// KeyName is how the sender named the key: <ds:KeyName> for a
	// pre-shared key, <xenc11:MasterKeyName> for a password. Often empty.
	KeyName string
}

func (e *KeyRequiredError) Error() string {
	what, field := "a pre-shared key", "Options.PreSharedKey"
	if e.Protection == ProtectionPassword {
		what, field = "a password (PBKDF2)", "Options.Password"
	}
	name := ""
	if e.KeyName != "" {
		name = fmt.Sprintf(" named %q", clip(e.KeyName))
	}
	return fmt.Sprintf("pskc: the file is encrypted with %s%s; supply it in %s", what, name, field)
}

// integrityError is an ErrIntegrity with the check that failed and the
// kind of key that may be wrong.
type integrityError struct {
	check string // "ValueMAC does not match", "bad padding", ...
	key   Protection
}

func (e *integrityError) Error() string {
	return fmt.Sprintf("%s: the file was altered or the %s is wrong", e.check, e.key)
}

func (e *integrityError) Is(target error) bool { return target == ErrIntegrity }

// unsupported wraps ErrUnsupported with what was not supported.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrUnsupported)
}
