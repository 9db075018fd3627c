package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// The database files never hold a password or a token secret in the
// clear: not in the main file, not in the write-ahead log.
func TestSealedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	st := openAt(t, path)

	const password = "PlaintextPasswordMarker-7f3a"
	secret := []byte("TokenSecretMarker-91c2e5d0")
	if err := st.AddUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, "alice", password); err != nil {
		t.Fatal(err)
	}
	tok := totpToken("T1")
	tok.Secret = secret
	tok.User = "alice"
	if err := st.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The values are there and readable through the API...
	if got, err := st.Password(ctx, "alice"); err != nil || got != password {
		t.Fatalf("Password = %q, %v", got, err)
	}
	if got, err := st.Token(ctx, "T1"); err != nil || !bytes.Equal(got.Secret, secret) {
		t.Fatalf("Token secret = %q, %v", got.Secret, err)
	}
	// ...and the user name is in the file, so the search does find
	// plaintext when there is some.
	needles := map[string][]byte{
		"password":             []byte(password),
		"password (UTF-16LE)":  utf16le(password),
		"password (base64)":    []byte(base64.StdEncoding.EncodeToString([]byte(password))[:24]),
		"password (hex)":       []byte(hex.EncodeToString([]byte(password))),
		"secret":               secret,
		"secret (base64)":      []byte(base64.StdEncoding.EncodeToString(secret)[:24]),
		"secret (hex)":         []byte(hex.EncodeToString(secret)),
		"secret (hex, upper)":  bytes.ToUpper([]byte(hex.EncodeToString(secret))),
		"secret (partial 16B)": secret[:16],
	}
	scan := func(when string) {
		t.Helper()
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			b, err := os.ReadFile(path + suffix)
			if err == nil {
				all = append(all, b...)
			}
		}
		if !bytes.Contains(all, []byte("alice")) {
			t.Fatalf("%s: the scan does not see the user name; is it reading the right files?", when)
		}
		for what, needle := range needles {
			if bytes.Contains(all, needle) {
				t.Errorf("%s: the database files contain the %s", when, what)
			}
		}
	}
	scan("open (data in the WAL)")
	if _, err := st.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	scan("after checkpoint")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	scan("closed")
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}
