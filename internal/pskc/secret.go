package pskc

import (
	"fmt"
	"log/slog"
)

// Secret is key material: a token's shared secret, a transport key, a
// password. It is a []byte and converts to one without a copy, but it
// redacts itself wherever it could leak by accident: every fmt verb, slog,
// JSON and text marshalling print REDACTED. A []byte converts to a Secret
// implicitly, so Options{PreSharedKey: key} needs no conversion.
type Secret []byte

const redacted = "REDACTED"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter, so that no verb (%x and %s included)
// prints the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
