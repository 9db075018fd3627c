package main

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// cheap is a valid hash with tiny parameters, for tests of the file format.
const cheap = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"

func TestParseUsersExample(t *testing.T) {
	f, err := os.Open("testdata/partners.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	users, err := parseUsers("testdata/partners.txt", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 {
		t.Fatalf("%d users, want 2", len(users))
	}
	if p1 := users["partner1"]; p1.groups != nil || !p1.hash.verify("correct horse battery staple") {
		t.Errorf("partner1: groups %q, or the documented password does not verify", p1.groups)
	}
	if p2 := users["partner2"]; !slices.Equal(p2.groups, []string{"partners", "vpn-admins"}) || !p2.hash.verify("Tr0ub4dor&3") {
		t.Errorf("partner2: groups %q, or the documented password does not verify", p2.groups)
	}
}

func TestParseUsers(t *testing.T) {
	tests := []struct {
		name, text string
		users      map[string][]string // name: groups
	}{
		{"empty", "", map[string][]string{}},
		{"comments and blanks", "# a comment\n\n   # indented comment\n\t\n", map[string][]string{}},
		{"one user", "alice:" + cheap + "\n", map[string][]string{"alice": nil}},
		{"no final newline", "alice:" + cheap, map[string][]string{"alice": nil}},
		{"CRLF and indentation", "  alice:" + cheap + "  \r\n", map[string][]string{"alice": nil}},
		{"groups", "bob:" + cheap + ":staff, vpn ,x\n", map[string][]string{"bob": {"staff", "vpn", "x"}}},
		{"unicode name", "zoë:" + cheap + "\n", map[string][]string{"zoë": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, err := parseUsers("users.txt", strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for name, u := range users {
				got[name] = u.groups
			}
			if len(got) != len(tt.users) {
				t.Fatalf("users %q, want %q", got, tt.users)
			}
			for name, groups := range tt.users {
				if g, ok := got[name]; !ok || !slices.Equal(g, groups) {
					t.Errorf("user %q: %q %v, want %q", name, g, ok, groups)
				}
			}
		})
	}
}

// TestParseUsersErrors: every bad line is reported with the file and its
// line number, and no message quotes a hash.
func TestParseUsersErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // one message per bad line, in order
	}{
		{"no hash", "alice\n", []string{"users_file /etc/u.txt:1: want name:hash or name:hash:group,group, found 1 fields"}},
		{"too many fields", "alice:" + cheap + ":g:x\n", []string{"users_file /etc/u.txt:1: want name:hash or name:hash:group,group, found 4 fields"}},
		{"plaintext password", "# header\nalice:correct horse\n", []string{`users_file /etc/u.txt:2: user "alice": hash: not a PHC string`}},
		{"empty name", ":" + cheap + "\n", []string{"users_file /etc/u.txt:1: empty user name"}},
		{"blank in name", "al ice:" + cheap + "\n", []string{`users_file /etc/u.txt:1: user name "al ice" contains ' '`}},
		{"empty group", "bob:" + cheap + ":staff,,vpn\n", []string{`users_file /etc/u.txt:1: user "bob": empty group name`}},
		{"bcrypt", "bob:$2y$10$abcdefghijklmnopqrstuu\n", []string{`users_file /etc/u.txt:1: user "bob": hash: not a PHC string`}},
		{"duplicate", "bob:" + cheap + "\n\nbob:" + cheap + "\n", []string{`users_file /etc/u.txt:3: user "bob" is already listed on line 1`}},
		{"every bad line", "a\nok:" + cheap + "\nb:x\n# fine\nc:" + strings.Replace(cheap, "m=256", "m=9999999", 1) + "\n", []string{
			"users_file /etc/u.txt:1: ",
			`users_file /etc/u.txt:3: user "b": hash: not a PHC string`,
			`users_file /etc/u.txt:5: user "c": hash: m=9999999: memory must be between`,
		}},
		{"line too long", "ok:" + cheap + "\n" + strings.Repeat("x", maxLine+1) + "\n", []string{"users_file /etc/u.txt:2: line longer than 65536 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, err := parseUsers("/etc/u.txt", strings.NewReader(tt.text))
			if err == nil {
				t.Fatalf("accepted, users %v", users)
			}
			var errs []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			} else {
				errs = []error{err}
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tt.want[i]) {
					t.Errorf("problem %d:\n  got  %v\n  want %s...", i, e, tt.want[i])
				}
				var le *lineError
				if !errors.As(e, &le) || le.Path != "/etc/u.txt" {
					t.Errorf("problem %d is not a *lineError for the file: %#v", i, e)
				}
			}
			if strings.Contains(err.Error(), "nf65EOgLrQMR") {
				t.Errorf("an error quotes a hash: %v", err)
			}
		})
	}
}
