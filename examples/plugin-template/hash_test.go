package main

import (
	"bytes"
	"strings"
	"testing"
)

func hashCmd(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = hashMain(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestHashLineParses: what the hash sub-command prints is a users-file
// line that verifies the password it was given, and nothing else.
func TestHashLineParses(t *testing.T) {
	tests := []struct {
		stdin    string
		args     []string
		user     string
		password string
		groups   []string
	}{
		{"correct horse\n", []string{"alice"}, "alice", "correct horse", nil},
		{"  spaces kept  \r\n", []string{"bob", "staff, vpn"}, "bob", "  spaces kept  ", []string{"staff", "vpn"}},
		{"no newline", []string{"-m", "64", "-t", "1", "-p", "2", "carol"}, "carol", "no newline", nil},
		{"first line\nsecond line\n", []string{"dave"}, "dave", "first line", nil},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			code, out, stderr := hashCmd(tt.stdin, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if strings.Count(out, "\n") != 1 {
				t.Errorf("not one line: %q", out)
			}
			users, err := parseUsers("stdout", strings.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			u := users[tt.user]
			if u == nil || len(users) != 1 {
				t.Fatalf("users %v", users)
			}
			if !u.hash.verify(tt.password) || u.hash.verify(tt.password+"x") {
				t.Errorf("the hash does not verify exactly %q", tt.password)
			}
			if strings.Join(u.groups, ",") != strings.Join(tt.groups, ",") {
				t.Errorf("groups %q, want %q", u.groups, tt.groups)
			}
		})
	}
}

func TestHashErrors(t *testing.T) {
	tests := []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"pw\n", nil, 2, "usage: gatehouse-plugin-allowlist hash"},
		{"pw\n", []string{"a", "b", "c"}, 2, "usage:"},
		{"pw\n", []string{"-x", "alice"}, 2, "flag provided but not defined: -x"},
		{"pw\n", []string{"al:ice"}, 2, `user name "al:ice" contains ':'`},
		{"pw\n", []string{"alice", "a,,b"}, 2, "empty group name"},
		{"pw\n", []string{"-m", "4", "alice"}, 2, "m=4: memory must be between"},
		{"pw\n", []string{"-p", "300", "alice"}, 2, "-p at most 255"},
		{"", []string{"alice"}, 1, "no password on standard input"},
		{"\n", []string{"alice"}, 1, "no password on standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, out, stderr := hashCmd(tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", code, out, stderr, tt.code, tt.want)
			}
		})
	}
	if code, out, _ := hashCmd("", "-h"); code != 0 || !strings.Contains(out, "usage:") {
		t.Errorf("-h: exit %d %q", code, out)
	}
}
