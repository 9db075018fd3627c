package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// storeAt loads a test configuration and opens its store as the
// gateway would.
func storeAt(t *testing.T, cfgPath string) (*store.Store, *config.Config) {
	t.Helper()
	cfg := loadConfig(t, cfgPath)
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, cfg
}

func loadConfig(t *testing.T, cfgPath string) *config.Config {
	t.Helper()
	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func checkBob(t *testing.T, cfgPath string) {
	t.Helper()
	ctx := context.Background()
	st, _ := storeAt(t, cfgPath)
	if ok, err := st.CheckPassword(ctx, "bob", "s3cret"); err != nil || !ok {
		t.Errorf("bob's password does not check: %v %v", ok, err)
	}
	if pw, err := st.Password(ctx, "bob"); err != nil || pw != "s3cret" {
		t.Errorf("bob's sealed password: %q %v", pw, err)
	}
	tok, err := st.Token(ctx, "soft-1")
	if err != nil || len(tok.Secret) != 20 || tok.User != "bob" {
		t.Errorf("token soft-1: %v (user %q, %d-byte secret)", err, tok.User, len(tok.Secret))
	}
	st.Close()
}

func TestStoreBackupRestoreCLI(t *testing.T) {
	cfg := storeConfig(t)
	run := func(stdin string, code int, want string, args ...string) (string, string) {
		t.Helper()
		got, out, stderr := gh(t, stdin, args...)
		text := out
		if code != 0 {
			text = stderr
		}
		if got != code || !strings.Contains(text, want) {
			t.Fatalf("gatehouse %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, want, out, stderr)
		}
		return out, stderr
	}
	run("s3cret\n", 0, "user bob added", "user", "add", "bob", "--password-stdin", "--config", cfg)
	run("", 0, "otpauth://", "token", "enroll", "bob", "--serial", "soft-1", "--no-qr", "--config", cfg)

	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.backup")
	_, stderr := run("", 0, "backup of ", "store", "backup", "--out", file, "--config", cfg)
	for _, want := range []string{"WARNING", file, "every secret", "losing secret.key loses every sealed password and token seed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("backup warning lacks %q:\n%s", want, stderr)
		}
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file has mode %04o, want 0600", fi.Mode().Perm())
	}
	run("", 1, "pass --force", "store", "backup", "--out", file, "--config", cfg)
	run("", 0, "1 user, 1 password, 1 token", "store", "backup", "--out", file, "--force", "--config", cfg)
	run("", 2, "--out is required", "store", "backup", "--config", cfg)
	keyFile := loadConfig(t, cfg).Store.KeyFile
	run("", 2, "one of the store's own files", "store", "backup", "--out", keyFile, "--force", "--config", cfg)

	// To standard output (a buffer here, not a terminal).
	out, stderr := run("", 0, "", "store", "backup", "--out", "-", "--config", cfg)
	if !strings.HasPrefix(out, "MANIFEST.json") || !strings.Contains(stderr, "WARNING") || !strings.Contains(stderr, "written to standard output") {
		t.Errorf("backup to stdout: stdout starts %q; stderr %s", out[:min(len(out), 20)], stderr)
	}

	run("", 0, "is a good backup", "store", "restore", "--from", file, "--dry-run", "--config", cfg)

	// Into a new place, from the file and from standard input.
	cfg2 := storeConfig(t)
	run("", 0, "restored from "+file, "store", "restore", "--from", file, "--config", cfg2)
	checkBob(t, cfg2)
	run("", 0, "bob", "user", "list", "--config", cfg2)
	cfg3 := storeConfig(t)
	run(out, 0, "restored from standard input", "store", "restore", "--from", "-", "--config", cfg3)
	checkBob(t, cfg3)

	// Refused: over a store without --force, a damaged file.
	run("", 1, "already exists; to replace it, pass --force", "store", "restore", "--from", file, "--config", cfg2)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("SQLite format 3"))
	data[i+3000] ^= 1
	bad := filepath.Join(dir, "damaged.backup")
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run("", 1, "does not match its checksum", "store", "restore", "--from", bad, "--force", "--config", cfg2)
	run("", 1, "does not match its checksum", "store", "restore", "--from", bad, "--dry-run", "--config", cfg2)

	// --force over the store, with a user added since the backup.
	run("x\n", 0, "user carol added", "user", "add", "carol", "--password-stdin", "--config", cfg2)
	run("", 0, "restored", "store", "restore", "--from", file, "--force", "--config", cfg2)
	run("", 1, `user "carol": not found`, "user", "show", "carol", "--config", cfg2)
	checkBob(t, cfg2)
}

func TestStoreRekeyCLI(t *testing.T) {
	cfg := storeConfig(t)
	if code, _, stderr := gh(t, "s3cret\n", "user", "add", "bob", "--password-stdin", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := gh(t, "", "token", "enroll", "bob", "--serial", "soft-1", "--no-qr", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	keyFile := loadConfig(t, cfg).Store.KeyFile
	oldKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "before.backup")
	if code, _, stderr := gh(t, "", "store", "backup", "--out", backup, "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}

	// Refused while the store is open (a running gateway holds it).
	st, _ := storeAt(t, cfg)
	code, _, stderr := gh(t, "", "store", "rekey", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "stop the gateway") {
		t.Errorf("rekey with the store open: exit %d, %s", code, stderr)
	}
	st.Close()

	code, out, stderr := gh(t, "", "store", "rekey", "--config", cfg)
	if code != 0 || !strings.Contains(out, "1 password and 1 token secret resealed") || !strings.Contains(out, "old key is deleted") {
		t.Fatalf("rekey: exit %d\n%s%s", code, out, stderr)
	}
	newKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("the key file did not change")
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("new key file has mode %04o", fi.Mode().Perm())
	}
	checkBob(t, cfg)

	// The backup from before the rotation still restores, with its key.
	if code, _, stderr := gh(t, "", "store", "restore", "--from", backup, "--force", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	if restored, _ := os.ReadFile(keyFile); !bytes.Equal(restored, oldKey) {
		t.Error("restoring the old backup did not bring its key back")
	}
	checkBob(t, cfg)
}

// An interrupted key change is settled by the next command that opens
// the store: a stale secret.key.new the database never committed to is
// removed, and the store opens with its key.
func TestStoreCommandsRecoverKey(t *testing.T) {
	cfg := storeConfig(t)
	if code, _, stderr := gh(t, "s3cret\n", "user", "add", "bob", "--password-stdin", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := gh(t, "", "token", "enroll", "bob", "--serial", "soft-1", "--no-qr", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	stale := loadConfig(t, cfg).Store.KeyFile + store.NewKeySuffix
	if err := os.WriteFile(stale, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := gh(t, "", "user", "list", "--config", cfg); code != 0 || !strings.Contains(out, "bob") {
		t.Fatalf("user list: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale new key file is still there")
	}
	checkBob(t, cfg)
}
