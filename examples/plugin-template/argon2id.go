package main

// Argon2id password hashes (RFC 9106) in the PHC string format of the
// reference implementation (github.com/P-H-C/phc-winner-argon2, and the PHC
// string format specification, github.com/P-H-C/phc-string-format):
//
//	$argon2id$v=19$m=<memory KiB>,t=<passes>,p=<lanes>$<salt>$<key>
//
// salt and key are standard Base64 without padding. Only version 19 (0x13,
// the version of RFC 9106) is accepted, and the parameters must come in the
// order m, t, p, written without leading zeros, as the reference
// implementation writes and requires them.

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2idVersion is the only Argon2 version accepted: 0x13.
const argon2idVersion = 19

// Limits on the parameters of a stored hash. They keep a typo in the users
// file from turning every login into a denial of service (m=9999999 is
// 9.5 GiB per verification), and a short salt or key from passing unnoticed.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxPasses    = 64
	minSaltLen   = 8 // RFC 9106 section 3.1: at least 8 bytes; 16 recommended
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// argon2idParams are the cost parameters of a hash.
type argon2idParams struct {
	Memory  uint32 // KiB, at least 8 per lane
	Passes  uint32
	Lanes   uint8
	SaltLen int
	KeyLen  int
}

// defaultParams are those the hash sub-command uses: OWASP's first
// recommendation for Argon2id (19 MiB, 2 passes, 1 lane), a 16-byte salt
// and a 32-byte key. About 20-40 ms per verification on a current server
// core.
var defaultParams = argon2idParams{Memory: 19456, Passes: 2, Lanes: 1, SaltLen: 16, KeyLen: 32}

// argon2idHash is a parsed PHC string.
type argon2idHash struct {
	argon2idParams
	salt, key []byte
}

var b64 = base64.RawStdEncoding.Strict()

// newArgon2id hashes password with a fresh salt read from random.
func newArgon2id(password string, p argon2idParams, random io.Reader) (argon2idHash, error) {
	if err := p.check(); err != nil {
		return argon2idHash{}, err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return argon2idHash{}, fmt.Errorf("salt: %w", err)
	}
	h := argon2idHash{argon2idParams: p, salt: salt}
	h.key = h.derive(password)
	return h, nil
}

func (p argon2idParams) check() error {
	var problems []error
	if p.Lanes < 1 {
		problems = append(problems, errors.New("p must be at least 1"))
	}
	if p.Memory < 8*uint32(p.Lanes) || p.Memory > maxMemoryKiB {
		problems = append(problems, fmt.Errorf("m=%d: memory must be between 8 KiB per lane (%d) and %d KiB", p.Memory, 8*uint32(p.Lanes), maxMemoryKiB))
	}
	if p.Passes < 1 || p.Passes > maxPasses {
		problems = append(problems, fmt.Errorf("t=%d: passes must be between 1 and %d", p.Passes, maxPasses))
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		problems = append(problems, fmt.Errorf("the salt is %d bytes; it must be %d to %d", p.SaltLen, minSaltLen, maxSaltLen))
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		problems = append(problems, fmt.Errorf("the key is %d bytes; it must be %d to %d", p.KeyLen, minKeyLen, maxKeyLen))
	}
	return errors.Join(problems...)
}

// parseArgon2id parses a PHC string. Its errors describe the problem and
// never quote the salt or the key.
func parseArgon2id(s string) (argon2idHash, error) {
	const form = "$argon2id$v=19$m=...,t=...,p=...$salt$key"
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return argon2idHash{}, fmt.Errorf("not a PHC string of the form %s", form)
	}
	if fields[1] != "argon2id" {
		return argon2idHash{}, fmt.Errorf("algorithm %q: only argon2id is accepted", fields[1])
	}
	v, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return argon2idHash{}, fmt.Errorf("no version: write v=%d after $argon2id", argon2idVersion)
	}
	if n, err := decimal(v); err != nil || n != argon2idVersion {
		return argon2idHash{}, fmt.Errorf("version %q: only v=%d is accepted", v, argon2idVersion)
	}
	var h argon2idHash
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return argon2idHash{}, fmt.Errorf("parameters %q: want m=...,t=...,p=... in that order", fields[3])
	}
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return argon2idHash{}, fmt.Errorf("parameters %q: want m=...,t=...,p=... in that order", fields[3])
		}
		n, err := decimal(val)
		if err != nil {
			return argon2idHash{}, fmt.Errorf("parameter %s=%q: %w", name, val, err)
		}
		switch name {
		case "m":
			h.Memory = n
		case "t":
			h.Passes = n
		case "p":
			if n > 255 {
				return argon2idHash{}, fmt.Errorf("p=%d: at most 255 lanes", n)
			}
			h.Lanes = uint8(n)
		}
	}
	var err error
	if h.salt, err = b64.DecodeString(fields[4]); err != nil {
		return argon2idHash{}, errors.New("the salt is not unpadded standard Base64")
	}
	if h.key, err = b64.DecodeString(fields[5]); err != nil {
		return argon2idHash{}, errors.New("the key is not unpadded standard Base64")
	}
	h.SaltLen, h.KeyLen = len(h.salt), len(h.key)
	if err := h.check(); err != nil {
		return argon2idHash{}, err
	}
	return h, nil
}

// decimal parses a PHC decimal: digits, no sign, no leading zero, fits in
// 32 bits.
func decimal(s string) (uint32, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a decimal number without leading zeros")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("too large")
	}
	return uint32(n), nil
}

// String returns the PHC string.
func (h argon2idHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2idVersion, h.Memory, h.Passes, h.Lanes, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

func (h argon2idHash) derive(password string) []byte {
	return argon2.IDKey([]byte(password), h.salt, h.Passes, h.Memory, h.Lanes, uint32(h.KeyLen))
}

// verify reports whether password is the one h was made from. The keys
// are compared in constant time.
func (h argon2idHash) verify(password string) bool {
	return subtle.ConstantTimeCompare(h.derive(password), h.key) == 1
}
