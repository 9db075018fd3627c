package authpolicy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

// challenged runs a login that may end in a Challenge.
func (f *fixture) challenged(t *testing.T, cred authpolicy.Credential) *authpolicy.Result {
	t.Helper()
	res, err := f.engine.Authenticate(authpolicy.WithChallenge(context.Background()), "pptp", cred)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func commits(bs ...*memory.Backend) int {
	n := 0
	for _, b := range bs {
		n += b.CallsOf("Commit")
	}
	return n
}

// TestChallengePasswordOnly: the password alone under "Password and
// OATH" is a reject with a Challenge naming the branch and where the code
// goes; nothing is committed, and the completed secret logs in.
func TestChallengePasswordOnly(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	res := f.challenged(t, plainCred("alice", "correct horse"))
	if res.Accepted || res.Challenge == nil {
		t.Fatalf("want a challenge, got accepted=%v %s", res.Accepted, res.Reason())
	}
	c := res.Challenge
	if c.Branch != "Password and OATH" || !slices.Equal(c.Codes, []string{"OATH"}) || c.CodeAt != len("correct horse") {
		t.Errorf("challenge %+v", c)
	}
	if !strings.Contains(res.Reason(), "a one-time code would complete it") {
		t.Errorf("reason does not say why: %s", res.Reason())
	}
	if n := commits(f.password, f.oath, f.digipass); n != 0 {
		t.Errorf("%d commits in the first round", n)
	}
	second := c.Complete([]byte("correct horse"), []byte("222222"))
	if string(second) != "correct horse222222" {
		t.Fatalf("Complete = %q", second)
	}
	if res := f.auth(t, plainCred("alice", string(second))); !res.Accepted || res.Branch != "Password and OATH" {
		t.Fatalf("second round: %s", res.Reason())
	}
	// Nothing but the second round consumed a code: 111111 still works.
	if res := f.auth(t, plainCred("alice", "correct horse111111")); !res.Accepted {
		t.Fatalf("an unused code: %s", res.Reason())
	}
}

// TestChallengeNotOffered: a wrong password, a caller that did not ask, a
// typed password+code, MS-CHAPv2, a disabled account and a secret another
// branch accepts on its own all end as they do without challenges.
func TestChallengeNotOffered(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	res := f.challenged(t, plainCred("alice", "wrong horse"))
	if res.Accepted || res.Challenge != nil {
		t.Fatalf("wrong password: accepted=%v challenge=%+v", res.Accepted, res.Challenge)
	}
	if want := `(without a code: rejected Password: wrong secret)`; !strings.Contains(res.Reason(), want) {
		t.Errorf("reason lacks %s: %s", want, res.Reason())
	}
	if res := f.auth(t, plainCred("alice", "correct horse")); res.Challenge != nil {
		t.Error("a challenge without WithChallenge")
	}
	if res := f.challenged(t, plainCred("alice", "correct horse333333")); !res.Accepted || res.Challenge != nil {
		t.Errorf("typed password+code: %s", res.Reason())
	}
	if res := f.challenged(t, mschapCred("alice", "correct horse")); res.Accepted || res.Challenge != nil {
		t.Errorf("MS-CHAPv2: accepted=%v challenge=%+v", res.Accepted, res.Challenge)
	}
	f.password.SetUser("mallory", memory.User{Secrets: []string{"letmein"}, Locked: true})
	if res := f.challenged(t, plainCred("mallory", "letmein")); res.Challenge != nil || !strings.Contains(res.Reason(), "is locked") {
		t.Errorf("locked account: challenge=%+v %s", res.Challenge, res.Reason())
	}
	if res := f.challenged(t, plainCred("nobody", "correct horse")); res.Challenge != nil {
		t.Error("unknown user challenged")
	}
	// A one-time-code branch alone never asks for a code.
	g := newFixture(t, "DIGIPASS")
	if res := g.challenged(t, plainCred("alice", "correct horse")); res.Challenge != nil {
		t.Error("challenge on a code-only policy")
	}
	// A branch that accepts the secret as it is wins over a challenge.
	h := newFixture(t, "(Password and OATH) or Password")
	if res := h.challenged(t, plainCred("alice", "correct horse")); !res.Accepted || res.Branch != "Password" {
		t.Errorf("the lone password branch: %s", res.Reason())
	}
	if n := commits(f.oath, f.digipass); n != 1 { // the typed password+code only
		t.Errorf("%d code commits, want 1", n)
	}
}

// TestChallengeCodePlacement: the code goes where the policy writes its
// factor, before the password or between two other factors; factors with
// one written between them do not qualify.
func TestChallengeCodePlacement(t *testing.T) {
	f := newFixture(t, "OATH and Password")
	res := f.challenged(t, plainCred("alice", "correct horse"))
	if res.Challenge == nil || res.Challenge.CodeAt != 0 {
		t.Fatalf("code first: %+v %s", res.Challenge, res.Reason())
	}
	if res := f.auth(t, plainCred("alice", string(res.Challenge.Complete([]byte("correct horse"), []byte("111111"))))); !res.Accepted {
		t.Fatalf("code first, second round: %s", res.Reason())
	}

	pin := memory.New(memory.Options{Lengths: []int{4}})
	pin.SetUser("alice", memory.User{Secrets: []string{"1234"}})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111"}})
	digipass := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{8}, OneTime: true})
	digipass.SetUser("alice", memory.User{Secrets: []string{"87654321"}})
	password := memory.New(memory.Options{})
	password.SetUser("alice", memory.User{Secrets: []string{"correct horse"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": password, "PIN": pin, "OATH": oath, "DIGIPASS": digipass},
		[]authpolicy.Service{{Name: "s", Policy: "(OATH and Password and DIGIPASS) or (Password and OATH and DIGIPASS and PIN)"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := authpolicy.WithChallenge(context.Background())
	res, err = e.Authenticate(ctx, "s", plainCred("alice", "correct horse1234"))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Challenge
	if c == nil || c.Branch != "Password and OATH and DIGIPASS and PIN" || !slices.Equal(c.Codes, []string{"OATH", "DIGIPASS"}) || c.CodeAt != len("correct horse") {
		t.Fatalf("codes between password and PIN: %+v\n%s", c, res.Reason())
	}
	second := c.Complete([]byte("correct horse1234"), []byte("11111187654321"))
	if string(second) != "correct horse11111187654321"+"1234" {
		t.Fatalf("Complete = %q", second)
	}
	if res, _ := e.Authenticate(context.Background(), "s", plainCred("alice", string(second))); !res.Accepted {
		t.Fatalf("second round: %s", res.Reason())
	}
}

// TestChallengeNeedsACode: a branch whose code back-end has no code for the
// user, or cannot answer, is passed over for the next one.
func TestChallengeNeedsACode(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or (Password and DIGIPASS)")
	f.oath.SetUser("alice", memory.User{})
	res := f.challenged(t, plainCred("alice", "correct horse"))
	if res.Challenge == nil || res.Challenge.Branch != "Password and DIGIPASS" {
		t.Fatalf("want the DIGIPASS branch: %+v %s", res.Challenge, res.Reason())
	}
	if !strings.Contains(res.Branches[0].Reason, `OATH has no code for user "alice"`) {
		t.Errorf("first branch's reason: %s", res.Branches[0].Reason)
	}
	f.digipass.SetFault(0, errors.New("plugin crashed"))
	res = f.challenged(t, plainCred("alice", "correct horse"))
	if res.Challenge != nil {
		t.Fatalf("challenge although the code back-end is down: %+v", res.Challenge)
	}
	if !strings.Contains(res.Branches[1].Reason, "DIGIPASS: plugin crashed") {
		t.Errorf("second branch's reason: %s", res.Branches[1].Reason)
	}
}

// TestChallengeDeadline: the search for a challenge shares the login's
// deadline: a password back-end that hangs leaves no challenge.
func TestChallengeDeadline(t *testing.T) {
	f := newFixture(t, "Password and OATH")
	f.password.SetFault(time.Hour, nil)
	start := time.Now()
	res := f.challenged(t, plainCred("alice", "correct horse"))
	if res.Challenge != nil || res.Accepted {
		t.Fatalf("hanging password back-end: %+v", res.Challenge)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestChallengeComplete(t *testing.T) {
	for _, tc := range []struct {
		at                int
		first, code, want string
	}{
		{0, "pw", "123", "123pw"},
		{2, "pw", "123", "pw123"},
		{9, "pw", "123", "pw123"},
		{-1, "pw", "123", "123pw"},
		{1, "", "123", "123"},
	} {
		c := &authpolicy.Challenge{CodeAt: tc.at}
		first := []byte(tc.first)
		if got := string(c.Complete(first, []byte(tc.code))); got != tc.want || string(first) != tc.first {
			t.Errorf("CodeAt %d: %q, want %q (first now %q)", tc.at, got, tc.want, first)
		}
	}
}

func TestChallengeBranches(t *testing.T) {
	infos := map[string]authpolicy.Info{
		"Password": {Capabilities: authpolicy.CapVerifyPlaintext},
		"PIN":      {Capabilities: authpolicy.CapFragments, FragmentLengths: []int{4}},
		"OATH":     {Capabilities: otpCaps, FragmentLengths: []int{6}, OneTime: true},
		"DIGIPASS": {Capabilities: otpCaps, FragmentLengths: []int{6, 8}, OneTime: true},
	}
	for _, tc := range []struct{ policy, want string }{
		{"(Password and OATH) or DIGIPASS", "Password and OATH"},
		{"OATH and Password", "OATH and Password"},
		{"Password and (OATH or DIGIPASS)", "Password and OATH; Password and DIGIPASS"},
		{"Password and OATH and DIGIPASS and PIN", "Password and OATH and DIGIPASS and PIN"},
		{"OATH and Password and DIGIPASS", ""},
		{"Password or (OATH and DIGIPASS)", ""},
	} {
		p, err := authpolicy.Compile("s", tc.policy, infos)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.ChallengeBranches(), "; "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.policy, got, tc.want)
		}
	}
}
