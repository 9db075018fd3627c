package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// TestAdminCommands: gatehouse admin adds, lists, changes and removes the
// console's operator accounts in the store; the passwords are argon2id
// hashes there, never the passwords.
func TestAdminCommands(t *testing.T) {
	cfg := storeConfig(t)
	steps := []struct {
		stdin string
		args  []string
		code  int
		out   string // substring of stdout (code 0) or stderr
	}{
		{"", []string{"admin", "list"}, 0, "no operator accounts"},
		{"correct horse\n", []string{"admin", "add", "carol", "--role", "operator", "--password-stdin"}, 0, "operator carol added (operator)"},
		{"battery staple\n", []string{"admin", "add", "dave", "--role", "viewer", "--password-stdin"}, 0, "operator dave added (viewer)"},
		{"x\n", []string{"admin", "add", "dave", "--role", "viewer", "--password-stdin"}, 1, `operator "dave": already exists`},
		{"x\n", []string{"admin", "add", "erin", "--password-stdin"}, 2, "flag --role is required"},
		{"x\n", []string{"admin", "add", "erin", "--role", "root", "--password-stdin"}, 2, `--role must be viewer or operator, not "root"`},
		{"", []string{"admin", "add", "erin", "--role", "viewer"}, 2, "pass --password-stdin"},
		{"\n", []string{"admin", "add", "erin", "--role", "viewer", "--password-stdin"}, 2, "empty password on standard input"},
		{"", []string{"admin", "list"}, 0, "carol  operator"},
		{"", []string{"admin", "list"}, 0, "dave   viewer"},
		{"", []string{"admin", "role", "dave", "operator"}, 0, "operator dave is now operator"},
		{"", []string{"admin", "role", "dave", "boss"}, 2, `the role must be viewer or operator, not "boss"`},
		{"", []string{"admin", "role", "nobody-here", "viewer"}, 1, `operator "nobody-here": not found`},
		{"new pass\n", []string{"admin", "passwd", "dave", "--password-stdin"}, 0, "password of operator dave set"},
		{"new pass\n", []string{"admin", "passwd", "nobody-here", "--password-stdin"}, 1, `operator "nobody-here": not found`},
		{"", []string{"admin", "remove", "carol"}, 0, "operator carol removed"},
		{"", []string{"admin", "remove", "carol"}, 1, `operator "carol": not found`},
		{"", []string{"admin", "bogus"}, 2, `unknown command "bogus"`},
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

	// What the store holds now.
	c, ps, err := config.Load(cfg)
	if err != nil || len(ps.Errors()) > 0 {
		t.Fatal(err, ps)
	}
	st, err := openStore(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if o, ok, err := st.CheckOperator(ctx, "dave", "new pass"); !ok || err != nil || o.Role != store.RoleOperator {
		t.Errorf("dave after passwd and role: %+v %v %v", o, ok, err)
	}
	if _, ok, _ := st.CheckOperator(ctx, "dave", "battery staple"); ok {
		t.Error("dave's old password still works")
	}
	if _, ok, _ := st.CheckOperator(ctx, "carol", "correct horse"); ok {
		t.Error("a removed account still signs in")
	}
	db, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "state", "store", "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"correct horse", "battery staple", "new pass"} {
		if strings.Contains(string(db), pw) {
			t.Errorf("the store holds the password %q in the clear", pw)
		}
	}
}

// admin add warns when the configuration does not serve the console, and
// says nothing when it does.
func TestAdminAddConsoleWarning(t *testing.T) {
	cfg := storeConfig(t)
	code, _, stderr := gh(t, "pw\n", "admin", "add", "carol", "--role", "viewer", "--password-stdin", "--config", cfg)
	if code != 0 || !strings.Contains(stderr, "warning: admin.console is off in "+cfg) {
		t.Errorf("console off: exit %d, stderr %q", code, stderr)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(text, "admin: {console: true}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = gh(t, "pw\n", "admin", "add", "dave", "--role", "viewer", "--password-stdin", "--config", cfg)
	if code != 0 || stderr != "" {
		t.Errorf("console on: exit %d, stderr %q", code, stderr)
	}
}
