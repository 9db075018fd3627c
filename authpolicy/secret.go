package authpolicy

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret holds something a user typed or a back-end keeps (a password, a
// one-time code, a combination of both). It redacts itself wherever it could
// leak: fmt verbs, slog, JSON. Only [Secret.Reveal] gives the value back, so
// every place that needs the plaintext is easy to find.
type Secret struct {
	s string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s: s} }

const redacted = "REDACTED"

// Reveal returns the plaintext. Call it only where the value is used for
// cryptography or handed to a back-end.
func (s Secret) Reveal() string { return s.s }

// Len is the length of the secret in bytes.
func (s Secret) Len() int { return len(s.s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.s == "" }

// Equal compares two secrets in constant time (for equal lengths).
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.s), []byte(o.s)) == 1
}

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that no verb prints the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
