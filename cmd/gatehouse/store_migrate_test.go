package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
)

// TestStoreMigrateToPostgres grows a single gateway into a shared store:
// users, groups and tokens made with the CLI on SQLite are copied by
// "store migrate" into a real PostgreSQL, where the same CLI (now with
// store.driver postgres and the same key) finds them, checks the
// password, and refuses a second copy. config check rejects a dsn_file
// others can read.
func TestStoreMigrateToPostgres(t *testing.T) {
	srv := postgres.Start(t, postgres.Options{NoFsync: true})
	dsn := srv.CreateDatabase(t)
	single := storeConfig(t)
	steps := [][]string{
		{"group", "add", "vpn-users"},
		{"user", "add", "bob", "--password-stdin", "--group", "vpn-users", "--vpn", "on"},
		{"token", "enroll", "bob", "--type", "hotp", "--serial", "soft-1", "--no-qr"},
	}
	for _, args := range steps {
		if code, out, stderr := gh(t, "s3cret\n", append(args, "--config", single)...); code != 0 {
			t.Fatalf("gatehouse %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
		}
	}
	dir := filepath.Dir(single)
	dsnFile := postgres.WriteDSNFile(t, dir, dsn)
	shared := filepath.Join(dir, "shared.yaml")
	text := "state_dir: ./state\nstore: {driver: postgres, dsn_file: " + dsnFile + "}\n" +
		"backends: {Password: {type: local}}\nservices: {pptp: {policy: Password}}\npptp: {enabled: false}\n"
	if err := os.WriteFile(shared, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := gh(t, "", "config", "check", "-c", shared); code != 0 {
		t.Fatalf("config check of the postgres configuration: exit %d\n%s%s", code, out, stderr)
	}
	dbPath := filepath.Join(dir, "state", "store", "gatehouse.db")
	code, out, stderr := gh(t, "", "store", "migrate", "--from", "sqlite:"+dbPath, "--to", "postgres", "-c", shared)
	if code != 0 || !strings.Contains(out, "1 user, 1 group, 1 membership, 1 token") {
		t.Fatalf("store migrate: exit %d\n%s%s", code, out, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "list"}, "bob   enabled  on   set       vpn-users"},
		{[]string{"token", "list"}, "soft-1"},
	} {
		if code, out, stderr := gh(t, "", append(c.args, "-c", shared)...); code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("gatehouse %s on PostgreSQL: exit %d, want %q\n%s%s", strings.Join(c.args, " "), code, c.want, out, stderr)
		}
	}
	code, _, stderr = gh(t, "", "store", "migrate", "--from", "sqlite:"+dbPath, "-c", shared)
	if code == 0 || !strings.Contains(stderr, "not empty") {
		t.Errorf("second migrate: exit %d, want a refusal naming a store that is not empty\n%s", code, stderr)
	}
	code, _, stderr = gh(t, "", "store", "backup", "--out", filepath.Join(dir, "b"), "-c", shared)
	if code == 0 || !strings.Contains(stderr, "pg_dump") {
		t.Errorf("store backup on PostgreSQL: exit %d, want a refusal pointing to pg_dump\n%s", code, stderr)
	}
	if err := os.Chmod(dsnFile, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = gh(t, "", "config", "check", "-c", shared)
	if code == 0 || !strings.Contains(out, "chmod 600 "+dsnFile) {
		t.Errorf("config check with a readable dsn_file: exit %d, want an error naming chmod 600\n%s", code, out)
	}
	if strings.Contains(out, postgres.RolePassword) {
		t.Errorf("config check shows the password:\n%s", out)
	}
}
