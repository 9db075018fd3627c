package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"os"
	"strings"
	"testing"
)

// TestArgon2idVectors checks the reference implementation's known answers.
func TestArgon2idVectors(t *testing.T) {
	f, err := os.Open("testdata/argon2id-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		if sc.Text() == "" || sc.Text()[0] == '#' {
			continue
		}
		password, phc, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("malformed vector %q", sc.Text())
		}
		n++
		h, err := parseArgon2id(phc)
		if err != nil {
			t.Errorf("%s: %v", phc, err)
			continue
		}
		if !h.verify(password) {
			t.Errorf("%s: %q does not verify", phc, password)
		}
		if h.verify(password + "x") {
			t.Errorf("%s: a wrong password verifies", phc)
		}
		if h.String() != phc {
			t.Errorf("round trip: %s became %s", phc, h)
		}
	}
	if n == 0 {
		t.Fatal("no vectors")
	}
}

func TestNewArgon2idRoundTrip(t *testing.T) {
	p := argon2idParams{Memory: 64, Passes: 1, Lanes: 2, SaltLen: 16, KeyLen: 32}
	h, err := newArgon2id("s3cret", p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseArgon2id(h.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.argon2idParams != p || !back.verify("s3cret") || back.verify("s3cre") {
		t.Errorf("round trip of %s: %+v", h, back.argon2idParams)
	}
	if _, err := newArgon2id("x", argon2idParams{Memory: 8, Passes: 1, Lanes: 2, SaltLen: 16, KeyLen: 32}, rand.Reader); err == nil {
		t.Error("4 KiB per lane accepted")
	}
}

func TestParseArgon2idErrors(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	tests := []struct{ phc, want string }{
		{"", "not a PHC string"},
		{"correct horse", "not a PHC string"},
		{"$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + key, `algorithm "argon2i": only argon2id`},
		{"$argon2id$m=256,t=2,p=1$" + salt + "$" + key, "not a PHC string"},
		{"$argon2id$x=19$m=256,t=2,p=1$" + salt + "$" + key, "no version"},
		{"$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + key, `version "16": only v=19`},
		{"$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + key, "in that order"},
		{"$argon2id$v=19$m=256,t=2$" + salt + "$" + key, "in that order"},
		{"$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + key, "leading zeros"},
		{"$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key, "leading zeros"},
		{"$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key, "too large"},
		{"$argon2id$v=19$m=256,t=2,p=256$" + salt + "$" + key, "at most 255 lanes"},
		{"$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + key, "p must be at least 1"},
		{"$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + key, "m=15: memory must be between 8 KiB per lane (16)"},
		{"$argon2id$v=19$m=2097152,t=2,p=1$" + salt + "$" + key, "m=2097152"},
		{"$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + key, "t=0: passes must be between 1 and 64"},
		{"$argon2id$v=19$m=256,t=2,p=1$c29tZXM$" + key, "the salt is 5 bytes"},
		{"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$AAAAAAAA", "the key is 6 bytes"},
		{"$argon2id$v=19$m=256,t=2,p=1$" + salt + "=$" + key, "the salt is not unpadded standard Base64"},
		{"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + "$", "not a PHC string"},
		{"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + strings.ReplaceAll(key, "/", "_"), "the key is not unpadded standard Base64"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := parseArgon2id(tt.phc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseArgon2id(%q) = %v, want an error containing %q", tt.phc, err, tt.want)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), salt) {
				t.Errorf("the error quotes the salt or key: %v", err)
			}
		})
	}
}

// FuzzParseArgon2id: whatever parses prints back to itself, so a users
// file line means one thing.
func FuzzParseArgon2id(f *testing.F) {
	data, err := os.ReadFile("testdata/argon2id-vectors.txt")
	if err != nil {
		f.Fatal(err)
	}
	for line := range bytes.Lines(data) {
		if _, phc, ok := strings.Cut(strings.TrimSpace(string(line)), "\t"); ok {
			f.Add(phc)
		}
	}
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseArgon2id(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("%q parses but prints as %q", s, h)
		}
		if err := h.check(); err != nil {
			t.Fatalf("%q parses with invalid parameters: %v", s, err)
		}
	})
}
