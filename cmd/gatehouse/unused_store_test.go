package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserAddWarnsWhenNoPolicyReadsTheStore: under the quickstart, whose
// back-ends keep their users in the config file, a user added to the store
// is used by no login; the command says so. With a local back-end in a
// policy it says nothing.
func TestUserAddWarnsWhenNoPolicyReadsTheStore(t *testing.T) {
	dir := worldDir(t)
	memory := filepath.Join(dir, "memory.yaml")
	if err := os.WriteFile(memory, []byte("state_dir: ./state\nbackends: {Demo: {type: memory, users: {alice: [pw]}}, Password: {type: local}}\nservices: {pptp: {policy: Demo}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gh(t, "s3cret\n", "user", "add", "bob", "--password-stdin", "--config", memory)
	if code != 0 || !strings.Contains(stderr, "warning: user bob is in the store, but no service's policy") || !strings.Contains(stderr, "type: local") {
		t.Errorf("memory-only policy: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = gh(t, "", "token", "enroll", "bob", "--no-qr", "--config", memory)
	if code != 0 || !strings.Contains(stderr, "warning: token ") || !strings.Contains(stderr, "type: oath") {
		t.Errorf("token without an oath back-end: exit %d, stderr %q", code, stderr)
	}
	local := storeConfig(t)
	code, _, stderr = gh(t, "s3cret\n", "user", "add", "bob", "--password-stdin", "--config", local)
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("local policy: exit %d, stderr %q", code, stderr)
	}
}
