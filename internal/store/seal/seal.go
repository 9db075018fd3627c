package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

const (
	version1  = 0x01
	nonceSize = 12
	tagSize   = 16

	// Overhead is how many bytes Seal adds to the plaintext.
	Overhead = 1 + nonceSize + tagSize
)

// ErrAuthFailed is returned by [Sealer.Open] when a sealed value does not
// authenticate: it was sealed under another key or for another row, or it
// was altered.
var ErrAuthFailed = errors.New("seal: authentication failed (wrong key, value moved from another row, or tampered)")

// Sealer seals and opens values under one key. It is safe for concurrent
// use. It redacts itself in fmt and slog output.
type Sealer struct {
	aead cipher.AEAD // NewGCMWithRandomNonce: Seal prefixes a fresh nonce
}

// New returns a Sealer for a 32-byte key. The key is not retained beyond
// the AES key schedule.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and binds it to aad. The result is
// len(plaintext)+[Overhead] bytes and shares no memory with the arguments.
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, 1, len(plaintext)+Overhead)
	out[0] = version1
	return s.aead.Seal(out, nil, plaintext, versionedAAD(version1, aad))
}

// Open authenticates and decrypts a value made by Seal with the same aad.
// It returns [ErrAuthFailed] when the value does not authenticate; the
// error never contains any part of the value.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("seal: sealed value is %d bytes, shorter than the %d-byte minimum", len(sealed), Overhead)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("seal: unknown format version %d (this build knows %d)", sealed[0], version1)
	}
	pt, err := s.aead.Open(nil, nil, sealed[1:], versionedAAD(version1, aad))
	if err != nil {
		return nil, ErrAuthFailed
	}
	return pt, nil
}

// versionedAAD authenticates the format version along with the caller's
// additional data, so a value cannot be re-labelled as another version.
func versionedAAD(v byte, aad []byte) []byte {
	b := make([]byte, 0, 1+len(aad))
	b = append(b, v)
	return append(b, aad...)
}

const redacted = "REDACTED"

// String implements fmt.Stringer; it never shows key material.
func (*Sealer) String() string { return "seal.Sealer(" + redacted + ")" }

// GoString implements fmt.GoStringer.
func (s *Sealer) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (*Sealer) LogValue() slog.Value { return slog.StringValue(redacted) }
