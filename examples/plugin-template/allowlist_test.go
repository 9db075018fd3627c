package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// line returns a users-file line for name with a cheap hash of password.
func line(t *testing.T, name, password, groups string) string {
	t.Helper()
	h, err := newArgon2id(password, argon2idParams{Memory: 64, Passes: 1, Lanes: 1, SaltLen: 16, KeyLen: 32}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := name + ":" + h.String()
	if groups != "" {
		s += ":" + groups
	}
	return s + "\n"
}

// write replaces the file's contents and moves its modification time on,
// so that the change is seen however coarse the file system's clock is.
func write(t *testing.T, path, text string) {
	t.Helper()
	old, statErr := os.Stat(path)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if statErr == nil {
		mtime := old.ModTime().Add(time.Second)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func configured(t *testing.T, text string) (*allowList, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.txt")
	write(t, path, text)
	a := newAllowList(nil)
	if err := a.Configure(context.Background(), map[string]string{"users_file": path}); err != nil {
		t.Fatal(err)
	}
	return a, path
}

func verdict(t *testing.T, a *allowList, user, secret string) sdk.Verdict {
	t.Helper()
	v, err := a.VerifyPlaintext(context.Background(), user, secret)
	if err != nil {
		t.Fatalf("VerifyPlaintext(%q): %v", user, err)
	}
	return v
}

func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	write(t, good, "# ok\n"+line(t, "alice", "pw", ""))
	bad := filepath.Join(dir, "bad.txt")
	write(t, bad, line(t, "alice", "pw", "")+"bob:s3cret\n"+line(t, "alice", "pw", ""))
	tests := []struct {
		path string
		want []string // substrings of the error; none: accepted
	}{
		{good, nil},
		{"users.txt", []string{`users_file "users.txt" is not an absolute path`}},
		{"", []string{`users_file "" is not an absolute path`}},
		{filepath.Join(dir, "missing.txt"), []string{"users_file: open " + filepath.Join(dir, "missing.txt") + ": no such file or directory"}},
		{bad, []string{
			"users_file " + bad + `:2: user "bob": hash: not a PHC string`,
			"users_file " + bad + `:3: user "alice" is already listed on line 1`,
		}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			err := newAllowList(nil).Configure(context.Background(), map[string]string{"users_file": tt.path})
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}

func TestVerifyAndLookup(t *testing.T) {
	data, err := os.ReadFile("testdata/partners.txt")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := configured(t, string(data))
	tests := []struct {
		user, secret string
		ok           bool
		reason       string
	}{
		{"partner1", "correct horse battery staple", true, ""},
		{"partner1", "correct horse battery stapl", false, "wrong password"},
		{"partner1", "", false, "wrong password"},
		{"partner2", "Tr0ub4dor&3", true, ""},
		{"partner2", "correct horse battery staple", false, "wrong password"},
		{"Partner1", "correct horse battery staple", false, "unknown user"},
		{"mallory", "Tr0ub4dor&3", false, "unknown user"},
	}
	for _, tt := range tests {
		v := verdict(t, a, tt.user, tt.secret)
		if v.OK != tt.ok || v.Reason != tt.reason {
			t.Errorf("%s/%q: %+v, want ok %t reason %q", tt.user, tt.secret, v, tt.ok, tt.reason)
		}
	}
	id, err := a.Lookup(context.Background(), "partner2")
	if err != nil || !id.Found || !slices.Equal(id.Groups, []string{"partners", "vpn-admins"}) {
		t.Errorf("Lookup(partner2) = %+v, %v", id, err)
	}
	id.Groups[0] = "changed" // the caller's copy
	if id, _ := a.Lookup(context.Background(), "partner2"); id.Groups[0] != "partners" {
		t.Error("Lookup returned the back-end's own slice")
	}
	if id, err := a.Lookup(context.Background(), "partner1"); err != nil || !id.Found || id.Groups != nil {
		t.Errorf("Lookup(partner1) = %+v, %v", id, err)
	}
	if id, err := a.Lookup(context.Background(), "mallory"); err != nil || id.Found {
		t.Errorf("Lookup(mallory) = %+v, %v", id, err)
	}
}

// TestReload follows an operator editing the file under a running plugin.
func TestReload(t *testing.T) {
	a, path := configured(t, line(t, "alice", "pw-a", ""))
	if !verdict(t, a, "alice", "pw-a").OK {
		t.Fatal("alice rejected")
	}

	// Edited in place: alice removed, bob added.
	write(t, path, line(t, "bob", "pw-b", "staff"))
	if v := verdict(t, a, "alice", "pw-a"); v.OK || v.Reason != "unknown user" {
		t.Errorf("alice after her removal: %+v", v)
	}
	if !verdict(t, a, "bob", "pw-b").OK {
		t.Error("bob rejected after his addition")
	}

	// A broken edit fails closed, naming the line, until it is fixed.
	write(t, path, line(t, "bob", "pw-b", "")+"carol:pw-c\n")
	_, err := a.VerifyPlaintext(context.Background(), "bob", "pw-b")
	if err == nil || !strings.Contains(err.Error(), path+`:2: user "carol"`) {
		t.Errorf("VerifyPlaintext on a broken file: %v", err)
	}
	if err := a.Health(context.Background()); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("Health on a broken file: %v", err)
	}
	if _, err := a.Lookup(context.Background(), "bob"); err == nil {
		t.Error("Lookup on a broken file succeeded")
	}
	write(t, path, line(t, "bob", "pw-b", "")+line(t, "carol", "pw-c", ""))
	if !verdict(t, a, "carol", "pw-c").OK {
		t.Error("carol rejected after the fix")
	}
	if err := a.Health(context.Background()); err != nil {
		t.Errorf("Health after the fix: %v", err)
	}

	// Replaced by a rename, with the same size and modification time: the
	// new inode is enough.
	old, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	next := path + ".new"
	write(t, next, line(t, "dave", "pw-d", "")+line(t, "erin", "pw-e", ""))
	if err := os.Chtimes(next, old.ModTime(), old.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	if !verdict(t, a, "dave", "pw-d").OK {
		t.Error("dave rejected after the rename")
	}

	// Removed: every call fails closed, and a new file is picked up.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyPlaintext(context.Background(), "dave", "pw-d"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("VerifyPlaintext without the file: %v", err)
	}
	write(t, path, line(t, "frank", "pw-f", ""))
	if !verdict(t, a, "frank", "pw-f").OK {
		t.Error("frank rejected in the new file")
	}
}

func TestUnconfigured(t *testing.T) {
	a := newAllowList(nil)
	if _, err := a.VerifyPlaintext(context.Background(), "alice", "x"); err == nil {
		t.Error("VerifyPlaintext before Configure succeeded")
	}
	if err := a.Health(context.Background()); err == nil {
		t.Error("Health before Configure succeeded")
	}
}

// TestVerifyWaitsWithinDeadline: with every hashing slot taken, a call
// gives up when its context ends, with an error, not a verdict.
func TestVerifyWaitsWithinDeadline(t *testing.T) {
	a, _ := configured(t, line(t, "alice", "pw", ""))
	for range cap(a.slots) {
		a.slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if v, err := a.VerifyPlaintext(ctx, "alice", "pw"); err == nil || v.OK {
		t.Errorf("got %+v, %v; want a deadline error", v, err)
	}
	<-a.slots
	if !verdict(t, a, "alice", "pw").OK {
		t.Error("alice rejected once a slot was free")
	}
}
