package authpolicy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// catalog mirrors the built-in back-end kinds' capabilities.
var catalog = map[string]authpolicy.Info{
	"Password":         {Capabilities: authpolicy.CapFragments | authpolicy.CapVerifyMSCHAPv2 | authpolicy.CapVerifyPlaintext | authpolicy.CapIdentity},
	"OATH":             {Capabilities: authpolicy.CapFragments | authpolicy.CapVerifyPlaintext, FragmentLengths: []int{6}, OneTime: true},
	"DIGIPASS":         {Capabilities: authpolicy.CapFragments | authpolicy.CapVerifyPlaintext, FragmentLengths: []int{6, 8}, OneTime: true},
	"DirectoryService": {Capabilities: authpolicy.CapVerifyPlaintext | authpolicy.CapIdentity},
	"RADIUS":           {Capabilities: authpolicy.CapVerifyPlaintext | authpolicy.CapVerifyMSCHAPv2},
	"Groups":           {Capabilities: authpolicy.CapIdentity},
}

func findings(t *testing.T, policy string, kinds ...authpolicy.CredentialKind) []string {
	t.Helper()
	p, err := authpolicy.Compile("pptp", policy, catalog)
	if err != nil {
		t.Fatalf("Compile(%q): %v", policy, err)
	}
	var out []string
	for _, f := range p.Check(kinds) {
		out = append(out, f.Severity.String()+": "+f.Msg)
	}
	return out
}

func TestCheck(t *testing.T) {
	ms, pt := authpolicy.MSCHAPv2, authpolicy.Plaintext
	tests := []struct {
		policy string
		kinds  []authpolicy.CredentialKind
		want   []string
	}{
		{"(Password and OATH) or DIGIPASS", []authpolicy.CredentialKind{ms}, []string{
			`warning: service pptp: branch "DIGIPASS" is weak over MS-CHAPv2: its only secret is a one-time code, so the MPPE keys come from about 20 bits and recorded traffic can be decrypted offline; add a password factor, e.g. "Password and DIGIPASS"`,
		}},
		{"Password and OATH", []authpolicy.CredentialKind{ms, pt}, nil},
		{"DirectoryService and OATH", []authpolicy.CredentialKind{ms}, []string{
			`error: service pptp: branch "DirectoryService and OATH" cannot work over MS-CHAPv2: DirectoryService can only verify a whole secret, it cannot supply its part of a combined one`,
		}},
		{"DirectoryService and OATH", []authpolicy.CredentialKind{ms, pt}, []string{
			`warning: service pptp: branch "DirectoryService and OATH" cannot work over MS-CHAPv2: DirectoryService can only verify a whole secret, it cannot supply its part of a combined one; MS-CHAPv2 logins skip this branch`,
		}},
		{"DirectoryService", []authpolicy.CredentialKind{ms}, []string{
			`error: service pptp: branch "DirectoryService" cannot work over MS-CHAPv2: DirectoryService can neither check an MS-CHAPv2 response nor supply the secret to check it against`,
		}},
		{"RADIUS", []authpolicy.CredentialKind{ms, pt}, nil},
		{"RADIUS and OATH", []authpolicy.CredentialKind{ms}, []string{
			`error: service pptp: branch "RADIUS and OATH" cannot work over MS-CHAPv2: RADIUS can only verify a whole secret, it cannot supply its part of a combined one`,
		}},
		{"Password and DirectoryService", []authpolicy.CredentialKind{pt}, []string{
			`error: service pptp: branch "Password and DirectoryService" cannot work over plaintext: the typed secret cannot be split between Password and DirectoryService: each has a variable length, and at most one factor of a combination may (the others need fixed-length codes)`,
		}},
		{"Groups", []authpolicy.CredentialKind{pt}, []string{
			`error: service pptp: branch "Groups" cannot work over plaintext: Groups can neither check a plaintext secret nor supply the secret to compare`,
		}},
		{"OATH and DIGIPASS", []authpolicy.CredentialKind{ms}, []string{
			`warning: service pptp: branch "OATH and DIGIPASS" is weak over MS-CHAPv2: its only secret is a one-time code, so the MPPE keys come from about 40 bits and recorded traffic can be decrypted offline; add a password factor, e.g. "Password and OATH and DIGIPASS"`,
		}},
		{"DIGIPASS", []authpolicy.CredentialKind{pt}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			got := findings(t, tc.policy, tc.kinds...)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ policy, msg string }{
		{"Password and OATH2", `unknown back-end "OATH2"; did you mean "OATH"?`},
		{"password", `unknown back-end "password"; did you mean "Password"?`},
		{"Pasword or OATH", `unknown back-end "Pasword"; did you mean "Password"?`},
		{"Smartcard", `unknown back-end "Smartcard"; configured back-ends: DIGIPASS, DirectoryService, Groups, OATH, Password, RADIUS`},
		{"Password and (OATH or Password)", `branch "Password and Password" names Password twice: a back-end can supply only one part of a combined secret`},
		{strings.Repeat("(OATH or DIGIPASS or RADIUS) and ", 3) + "(Password or Groups or DirectoryService)", `policy expands to more than 64 alternatives: factor common terms out`},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			_, err := authpolicy.Compile("pptp", tc.policy, catalog)
			if err == nil || err.Error() != tc.msg {
				t.Fatalf("Compile(%q) = %v, want %q", tc.policy, err, tc.msg)
			}
		})
	}
}

// TestCompileEveryUnknown: "Foo or Bar" names both mistakes, each a
// *SyntaxError at its own column.
func TestCompileEveryUnknown(t *testing.T) {
	_, err := authpolicy.Compile("pptp", "Foo or (Password and Bar)", catalog)
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("got %T %v, want joined errors", err, err)
	}
	var cols []int
	for _, e := range j.Unwrap() {
		se, ok := e.(*authpolicy.SyntaxError)
		if !ok {
			t.Fatalf("got %T %v", e, e)
		}
		cols = append(cols, se.Col)
	}
	if fmt.Sprint(cols) != "[1 22]" || !strings.Contains(err.Error(), `"Foo"`) || !strings.Contains(err.Error(), `"Bar"`) {
		t.Errorf("columns %v, error %v", cols, err)
	}
}

func TestCompileUnknownCaret(t *testing.T) {
	_, err := authpolicy.Compile("pptp", "(Password and OATH2) or DIGIPASS", catalog)
	se, ok := err.(*authpolicy.SyntaxError)
	if !ok {
		t.Fatalf("got %T %v", err, err)
	}
	if want := "(Password and OATH2) or DIGIPASS\n              ^"; se.Caret() != want {
		t.Errorf("caret %q, want %q", se.Caret(), want)
	}
}

func TestBranches(t *testing.T) {
	p, err := authpolicy.Compile("s", "Password and (OATH or DIGIPASS) or RADIUS", catalog)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range p.Branches {
		got = append(got, b.String())
	}
	want := []string{"Password and OATH", "Password and DIGIPASS", "RADIUS"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("branches %q, want %q", got, want)
	}
}
