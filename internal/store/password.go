package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters (RFC 9106). They are
// recorded with every hash, so changing them affects only passwords set
// afterwards; older hashes still verify with their own parameters.
type Argon2Params struct {
	Time    uint32 // passes over memory (t)
	Memory  uint32 // KiB (m)
	Threads uint8  // lanes (p)
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of hash output
}

// PasswordHashParams are used by SetPassword. The default, t=1, m=64 MiB,
// p=2, is RFC 9106's second recommended option (section 4) with the
// parallelism of a small two-core gateway: one check costs about 64 MiB and
// tens of milliseconds. Tests lower it.
var PasswordHashParams = Argon2Params{Time: 1, Memory: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}

// MaxPasswordLen is the longest password in characters: MS-CHAPv2 takes at
// most 256 Unicode characters (RFC 2759, section 4).
const MaxPasswordLen = 256

// Bounds on parameters read back from the database, so that a corrupted
// row cannot make a check allocate gigabytes or run for minutes.
const (
	maxArgon2Memory  = 4 << 20 // KiB: 4 GiB
	maxArgon2Time    = 64
	minArgon2SaltLen = 8
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 128
)

// SetPassword sets a user's password. It stores a sealed copy bound to the
// user (additional data "password:"+name), which [Store.Password] returns
// for MS-CHAPv2 and [Store.CheckPassword] compares with, and an argon2id
// hash, which decides plaintext checks when the copy cannot be unsealed. The
// password must be 1 to MaxPasswordLen characters of valid UTF-8.
func (st *Store) SetPassword(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	hash, err := hashPassword(password, PasswordHashParams)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	sealed := st.seal.Seal([]byte(password), passwordAAD(name))
	res, err := st.db.ExecContext(ctx,
		`UPDATE users SET password_hash = ?, password_sealed = ?, updated_at = ? WHERE name = ?`,
		hash, sealed, unixNano(now()), name)
	if err != nil {
		return fmt.Errorf("set password of user %q: %w", name, err)
	}
	return oneRow(res, "user", name)
}

// ClearPassword removes a user's password; the user then has no local
// password fragment and CheckPassword is false.
func (st *Store) ClearPassword(ctx context.Context, name string) error {
	res, err := st.db.ExecContext(ctx,
		`UPDATE users SET password_hash = NULL, password_sealed = NULL, updated_at = ? WHERE name = ?`,
		unixNano(now()), name)
	if err != nil {
		return fmt.Errorf("clear password of user %q: %w", name, err)
	}
	return oneRow(res, "user", name)
}

// CheckPassword reports whether password is the user's password. A wrong
// password, and a user without one, is (false, nil). An unknown user is
// false with an error wrapping ErrNotFound.
//
// It compares with the sealed copy when there is one: unseal (AES-GCM, a
// microsecond) and compare SHA-256 digests in constant time, so neither
// content nor length leaks. The sealed copy is what MS-CHAPv2 needs anyway,
// so the argon2id hash guards nothing more once it exists; checking
// against it instead would cost 64 MiB and tens of milliseconds per login
// for no gain, and let a stream of PAP requests exhaust memory. The
// argon2id hash decides only when the copy is missing or does not unseal
// (the key file was replaced): then all three cases cost one argon2id
// computation.
func (st *Store) CheckPassword(ctx context.Context, name, password string) (bool, error) {
	var hash sql.NullString
	var sealed []byte
	err := st.db.QueryRowContext(ctx, `SELECT password_hash, password_sealed FROM users WHERE name = ?`, name).Scan(&hash, &sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		dummyHash(password)
		return false, fmt.Errorf("user %q: %w", name, ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("check password of user %q: %w", name, err)
	}
	if sealed != nil {
		if pt, err := st.seal.Open(sealed, passwordAAD(name)); err == nil {
			want, got := sha256.Sum256(pt), sha256.Sum256([]byte(password))
			clear(pt)
			return subtle.ConstantTimeCompare(want[:], got[:]) == 1, nil
		}
	}
	if !hash.Valid {
		dummyHash(password)
		return false, nil
	}
	ok, err := verifyPassword(password, hash.String)
	if err != nil {
		return false, fmt.Errorf("user %q: stored password hash: %w", name, err)
	}
	return ok, nil
}

// Password returns a user's password, unsealed, for use as an MS-CHAPv2
// fragment. A user without a password gives an error wrapping
// ErrNoPassword.
func (st *Store) Password(ctx context.Context, name string) (string, error) {
	var sealed []byte
	err := st.db.QueryRowContext(ctx, `SELECT password_sealed FROM users WHERE name = ?`, name).Scan(&sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("user %q: %w", name, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("password of user %q: %w", name, err)
	case sealed == nil:
		return "", fmt.Errorf("user %q: %w", name, ErrNoPassword)
	}
	pt, err := st.seal.Open(sealed, passwordAAD(name))
	if err != nil {
		return "", fmt.Errorf("user %q: unseal password: %w", name, err)
	}
	return string(pt), nil
}

func passwordAAD(name string) []byte { return []byte("password:" + name) }

func checkPassword(pw string) error {
	if pw == "" {
		return fmt.Errorf("password: %w: empty", ErrInvalid)
	}
	if !utf8.ValidString(pw) {
		return fmt.Errorf("password: %w: not valid UTF-8", ErrInvalid)
	}
	if n := utf8.RuneCountInString(pw); n > MaxPasswordLen {
		return fmt.Errorf("password: %w: %d characters, at most %d (MS-CHAPv2 limit)", ErrInvalid, n, MaxPasswordLen)
	}
	return nil
}

// hashPassword returns the argon2id hash of pw in PHC string format:
//
//	$argon2id$v=19$m=65536,t=1,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64, as the reference
// implementation writes them.
func hashPassword(pw string, p Argon2Params) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p Argon2Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verifyPassword recomputes the hash of pw with the parameters and salt
// recorded in phc and compares in constant time.
func verifyPassword(pw, phc string) (bool, error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash spends what a real check spends, for users without a hash.
func dummyHash(pw string) {
	p := PasswordHashParams
	argon2.IDKey([]byte(pw), make([]byte, p.SaltLen), p.Time, p.Memory, p.Threads, p.KeyLen)
}

// decodePHC parses a PHC string written by encodePHC. Errors describe the
// fault but never quote the string.
func decodePHC(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return p, nil, nil, errors.New("not a PHC string")
	}
	if f[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("algorithm %q, want argon2id", f[1])
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("argon2 version %q, want v=%d", f[2], argon2.Version)
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, errors.New("parameters: want m=,t=,p=")
	}
	var vals [3]uint64
	for i, k := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], k)
		if !ok {
			return p, nil, nil, errors.New("parameters: want m=,t=,p=")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("parameter %s: not a number", k[:1])
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return p, nil, nil, errors.New("parameter p: above 255")
	}
	p.Memory, p.Time, p.Threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(f[4])
	if err != nil {
		return p, nil, nil, errors.New("salt: bad base64")
	}
	key, err := b64.DecodeString(f[5])
	if err != nil {
		return p, nil, nil, errors.New("hash: bad base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}

// check bounds parameters, both configured and read back.
func (p Argon2Params) check() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2id: t=%d, want 1..%d", p.Time, maxArgon2Time)
	case p.Threads < 1:
		return fmt.Errorf("argon2id: p=%d, want at least 1", p.Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("argon2id: m=%d KiB, want %d..%d", p.Memory, 8*uint32(p.Threads), maxArgon2Memory)
	case p.SaltLen < minArgon2SaltLen:
		return fmt.Errorf("argon2id: salt of %d bytes, want at least %d", p.SaltLen, minArgon2SaltLen)
	case p.KeyLen < minArgon2KeyLen || p.KeyLen > maxArgon2KeyLen:
		return fmt.Errorf("argon2id: hash of %d bytes, want %d..%d", p.KeyLen, minArgon2KeyLen, maxArgon2KeyLen)
	}
	return nil
}

// String formats the parameters as in a PHC string ("m=65536,t=1,p=2").
func (p Argon2Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}
