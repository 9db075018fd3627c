package seal

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newSealer(t *testing.T, fill byte) *Sealer {
	t.Helper()
	s, err := New(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newSealer(t, 1)
	for _, pt := range [][]byte{nil, {}, []byte("x"), []byte("correct horse battery staple"), bytes.Repeat([]byte{0xAA}, 4096)} {
		sealed := s.Seal(pt, []byte("password:alice"))
		if len(sealed) != len(pt)+Overhead {
			t.Errorf("len(Seal(%d bytes)) = %d, want %d", len(pt), len(sealed), len(pt)+Overhead)
		}
		if sealed[0] != version1 {
			t.Errorf("version byte = %#x", sealed[0])
		}
		if len(pt) >= 8 && bytes.Contains(sealed, pt) {
			t.Errorf("sealed value contains the plaintext")
		}
		got, err := s.Open(sealed, []byte("password:alice"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Open = %q, want %q", got, pt)
		}
	}
}

func TestNoncesDiffer(t *testing.T) {
	s := newSealer(t, 1)
	a := s.Seal([]byte("same"), nil)
	b := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}
}

func TestTamper(t *testing.T) {
	s := newSealer(t, 1)
	aad := []byte("token:ABC123")
	sealed := s.Seal([]byte("12345678901234567890"), aad)
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			c := bytes.Clone(sealed)
			c[i] ^= bit
			if _, err := s.Open(c, aad); err == nil {
				t.Fatalf("byte %d bit %#x flipped: Open succeeded", i, bit)
			}
		}
	}
	if _, err := s.Open(sealed[:len(sealed)-1], aad); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("truncated: err = %v, want ErrAuthFailed", err)
	}
	if _, err := s.Open(sealed[:Overhead-1], aad); err == nil {
		t.Error("shorter than overhead: Open succeeded")
	}
	if _, err := s.Open(append(bytes.Clone(sealed), 0), aad); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("extended: err = %v, want ErrAuthFailed", err)
	}
	c := bytes.Clone(sealed)
	c[0] = 2
	if _, err := s.Open(c, aad); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version 2: err = %v, want unknown version", err)
	}
}

func TestWrongAAD(t *testing.T) {
	s := newSealer(t, 1)
	sealed := s.Seal([]byte("hunter2"), []byte("password:alice"))
	for _, aad := range []string{"password:bob", "password:alice ", "token:alice", "", "password:Alice"} {
		if _, err := s.Open(sealed, []byte(aad)); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("aad %q: err = %v, want ErrAuthFailed", aad, err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	sealed := newSealer(t, 1).Seal([]byte("hunter2"), []byte("password:alice"))
	_, err := newSealer(t, 2).Open(sealed, []byte("password:alice"))
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatal("error contains the plaintext")
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) succeeded", n)
		}
	}
}

func TestRedacted(t *testing.T) {
	s := newSealer(t, 0x41) // key bytes are 'A'
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "sealer", s)
	out := fmt.Sprintf("%v %+v %#v %s", s, s, s, s) + buf.String()
	if strings.Contains(out, "AAAA") || !strings.Contains(out, "REDACTED") {
		t.Fatalf("output not redacted: %s", out)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != KeySize || bytes.Equal(k1, make([]byte, KeySize)) {
		t.Fatalf("key = %x", k1)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("created with mode %04o, want 0600", perm)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("second load returned a different key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateKeyRefusesReadable(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o601} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, make([]byte, KeySize), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(path)
			if err == nil {
				t.Fatal("readable key file accepted")
			}
			if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestLoadOrCreateKeyBadFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(short); err == nil || !strings.Contains(err.Error(), "9 bytes") {
		t.Errorf("short key file: err = %v", err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("directory accepted as key file")
	}
	if _, err := LoadOrCreateKey(filepath.Join(dir, "missing", "secret.key")); err == nil {
		t.Error("key created in a missing directory")
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("caller %d got a different key", i)
		}
	}
}
