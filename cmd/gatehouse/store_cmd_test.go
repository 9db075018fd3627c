package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func storeConfig(t *testing.T) string {
	t.Helper()
	dir := worldDir(t)
	path := filepath.Join(dir, "g.yaml")
	if err := os.WriteFile(path, []byte("state_dir: ./state\nbackends: {Password: {type: local}}\nservices: {pptp: {policy: Password}}\npptp: {enabled: false}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStoreCommands(t *testing.T) {
	cfg := storeConfig(t)
	steps := []struct {
		stdin string
		args  []string
		code  int
		out   string // substring of stdout (code 0) or stderr
	}{
		{"", []string{"group", "add", "vpn-users"}, 0, "group vpn-users added"},
		{"s3cret\n", []string{"user", "add", "bob", "--password-stdin", "--group", "vpn-users", "--vpn", "on"}, 0, "user bob added"},
		{"again\n", []string{"user", "add", "bob", "--password-stdin"}, 1, `user "bob": already exists`},
		{"", []string{"user", "add", "carol"}, 2, "pass --password-stdin"},
		{"\n", []string{"user", "add", "carol", "--password-stdin"}, 2, "empty password on standard input"},
		{"", []string{"user", "vpn", "bob", "maybe"}, 2, `VPN access must be use_group, on or off, not "maybe"`},
		{"", []string{"user", "list"}, 0, "bob   enabled  on   set       vpn-users"},
		{"", []string{"user", "disable", "bob"}, 0, "user bob disabled"},
		{"", []string{"user", "show", "bob"}, 0, "state:     disabled"},
		{"", []string{"user", "show", "nobody-here"}, 1, `user "nobody-here": not found`},
		{"", []string{"group", "member", "remove", "vpn-users", "bob"}, 0, "bob removed from vpn-users"},
		{"", []string{"group", "list"}, 0, "vpn-users"},
		{"", []string{"token", "enroll", "nobody-here", "--no-qr"}, 1, `user "nobody-here": not found`},
		{"", []string{"token", "enroll", "bob", "--type", "motp"}, 2, "--type"},
		{"", []string{"token", "enroll", "bob", "--type", "hotp", "--digits", "8", "--serial", "soft-1", "--no-qr"}, 0, "otpauth://hotp/Gatehouse:bob?"},
		{"wrong\n", []string{"token", "import", "--pskc", "../../internal/pskc/testdata/rfc6030-figure7.pskcxml", "--password-stdin"}, 1, "the file was altered or the password is wrong"},
		{"", []string{"token", "import", "--pskc", "../../internal/pskc/testdata/rfc6030-figure7.pskcxml"}, 1, `the secrets are encrypted: pass --password-stdin (the password the vendor gave you) (the vendor calls it "My Password 1")`},
		{"qwerty\n", []string{"token", "import", "--pskc", "../../internal/pskc/testdata/rfc6030-figure7.pskcxml", "--password-stdin"}, 0, "1 of 1 tokens imported"},
		{"qwerty\n", []string{"token", "import", "--pskc", "../../internal/pskc/testdata/rfc6030-figure7.pskcxml", "--password-stdin"}, 0, "token 987654321: already in the store, skipped"},
		{"", []string{"token", "assign", "987654321", "bob"}, 0, "token 987654321 assigned to bob"},
		{"", []string{"token", "list"}, 0, "987654321  digipass  hotp  SHA1       8       bob"},
		{"", []string{"token", "resync", "987654321", "11111111", "22222222"}, 1, "not consecutive codes within 1000 counters"},
		{"", []string{"user", "delete", "bob"}, 0, "user bob deleted"},
		{"", []string{"token", "list", "--user", "bob"}, 0, "SERIAL"},
	}
	for _, s := range steps {
		code, out, stderr := gh(t, s.stdin, append(s.args, "--config", cfg)...)
		text := out
		if s.code != 0 {
			text = stderr
		}
		if code != s.code || !strings.Contains(text, s.out) {
			t.Errorf("gatehouse %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(s.args, " "), code, s.code, s.out, out, stderr)
		}
	}
	// Nothing secret in the store's files in the clear.
	db, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "state", "store", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(db), "s3cret") || strings.Contains(string(db), "12345678901234567890") {
		t.Error("a secret is stored in the clear")
	}
}
