package authpolicy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

// A password store whose verdicts carry the identity and which has nothing
// to commit is asked once per login: no Lookup, no Commit.
func TestIdentityInVerdictsSavesRoundTrips(t *testing.T) {
	pw := memory.New(memory.Options{NothingToCommit: true, IdentityInVerdicts: true})
	pw.SetUser("alice", memory.User{Secrets: []string{"correct horse"}, Groups: []string{"vpn-users"}})
	pw.SetUser("carol", memory.User{Secrets: []string{"pw"}, Locked: true})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true, NothingToCommit: true})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111", "222222"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": pw, "OATH": oath},
		[]authpolicy.Service{{Name: "s", Policy: "Password"}, {Name: "mfa", Policy: "Password and OATH"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, cred := range []authpolicy.Credential{plainCred("alice", "correct horse"), mschapCred("alice", "correct horse")} {
		res, err := e.Authenticate(ctx, "s", cred)
		if err != nil || !res.Accepted {
			t.Fatalf("%v: %v %s", cred.Kind, err, res.Reason())
		}
		if strings.Join(res.Identity.Groups, ",") != "vpn-users" || !res.Identity.Found {
			t.Errorf("%v: identity %+v, want the verdict's", cred.Kind, res.Identity)
		}
	}
	if n, m := pw.CallsOf("Lookup"), pw.CallsOf("Commit"); n != 0 || m != 0 {
		t.Errorf("Lookup called %d times, Commit %d; want neither", n, m)
	}
	// The identity in the verdict still refuses a locked account.
	if res, _ := e.Authenticate(ctx, "s", plainCred("carol", "pw")); res.Accepted || !strings.Contains(res.Reason(), `account "carol" is locked`) {
		t.Errorf("locked: %s", res.Reason())
	}
	// Under MS-CHAPv2 a combination compares fragments, so the identity
	// comes from Lookup; NothingToCommit is ignored for one-time codes.
	res, err := e.Authenticate(ctx, "mfa", mschapCred("alice", "correct horse111111"))
	if err != nil || !res.Accepted || strings.Join(res.Identity.Groups, ",") != "vpn-users" {
		t.Fatalf("mfa: %v %s %+v", err, res.Reason(), res.Identity)
	}
	if pw.CallsOf("Lookup") != 1 || oath.CallsOf("Commit") != 1 {
		t.Errorf("Lookup %d, OATH Commit %d; want 1 and 1", pw.CallsOf("Lookup"), oath.CallsOf("Commit"))
	}
	if res, _ := e.Authenticate(ctx, "mfa", mschapCred("alice", "correct horse111111")); res.Accepted {
		t.Error("a one-time code was accepted twice: its commit was skipped")
	}
}

// A password store whose fragments carry the identity is not asked for
// it when its fragments are combined (under MS-CHAPv2 "Password and
// OATH"), and the identity in the fragment still refuses a locked
// account.
func TestIdentityInFragmentsSavesRoundTrips(t *testing.T) {
	pw := memory.New(memory.Options{NothingToCommit: true, IdentityInVerdicts: true, IdentityInFragments: true})
	pw.SetUser("alice", memory.User{Secrets: []string{"correct horse"}, Groups: []string{"vpn-users"}})
	pw.SetUser("dave", memory.User{Secrets: []string{"pw"}, Locked: true})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111", "222222"}})
	oath.SetUser("dave", memory.User{Secrets: []string{"333333"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": pw, "OATH": oath},
		[]authpolicy.Service{{Name: "mfa", Policy: "Password and OATH"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := e.Authenticate(ctx, "mfa", mschapCred("alice", "correct horse111111"))
	if err != nil || !res.Accepted || strings.Join(res.Identity.Groups, ",") != "vpn-users" || !res.Identity.Found {
		t.Fatalf("mfa: %v %s %+v", err, res.Reason(), res.Identity)
	}
	// Plaintext verifies the password: the identity comes with the verdict.
	if res, err := e.Authenticate(ctx, "mfa", plainCred("alice", "correct horse222222")); err != nil || !res.Accepted ||
		strings.Join(res.Identity.Groups, ",") != "vpn-users" {
		t.Fatalf("mfa, plaintext: %v %s %+v", err, res.Reason(), res.Identity)
	}
	if n := pw.CallsOf("Lookup"); n != 0 {
		t.Errorf("Lookup called %d times; want none", n)
	}
	if res, _ := e.Authenticate(ctx, "mfa", mschapCred("dave", "pw333333")); res.Accepted || !strings.Contains(res.Reason(), `account "dave" is locked`) {
		t.Errorf("locked: %s", res.Reason())
	}
	if n := oath.CallsOf("Commit"); n != 2 {
		t.Errorf("OATH Commit called %d times, want 2 (the locked account's code is not consumed)", n)
	}
}

// noFragmentIdentity gives fragments without the identity its Info
// promises.
type noFragmentIdentity struct{ *memory.Backend }

func (b noFragmentIdentity) Fragments(ctx context.Context, user string) ([]authpolicy.Fragment, error) {
	fs, err := b.Backend.Fragments(ctx, user)
	for i := range fs {
		fs[i].Identity = nil
	}
	return fs, err
}

func TestIdentityInFragmentsMissingFailsClosed(t *testing.T) {
	pw := memory.New(memory.Options{IdentityInFragments: true})
	pw.SetUser("alice", memory.User{Secrets: []string{"pw"}})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": noFragmentIdentity{pw}, "OATH": oath},
		[]authpolicy.Service{{Name: "mfa", Policy: "Password and OATH"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Authenticate(context.Background(), "mfa", mschapCred("alice", "pw111111"))
	if res.Accepted || res.Branches[0].Outcome != authpolicy.Failed || !strings.Contains(res.Reason(), "without the identity") {
		t.Fatalf("%v %s", res.Branches[0].Outcome, res.Reason())
	}
	if oath.CallsOf("Commit") != 0 {
		t.Error("a code was consumed by a login that failed closed")
	}
}

// noIdentity accepts but drops the identity its Info promises.
type noIdentity struct{ *memory.Backend }

func (b noIdentity) VerifyPlaintext(ctx context.Context, user string, s authpolicy.Secret) (authpolicy.Verdict, error) {
	v, err := b.Backend.VerifyPlaintext(ctx, user, s)
	v.Identity = nil
	return v, err
}

func TestIdentityInVerdictsMissingFailsClosed(t *testing.T) {
	pw := memory.New(memory.Options{IdentityInVerdicts: true})
	pw.SetUser("alice", memory.User{Secrets: []string{"pw"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": noIdentity{pw}},
		[]authpolicy.Service{{Name: "s", Policy: "Password"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Authenticate(context.Background(), "s", plainCred("alice", "pw"))
	if res.Accepted || res.Branches[0].Outcome != authpolicy.Failed || !strings.Contains(res.Reason(), "without the identity") {
		t.Fatalf("%v %s", res.Branches[0].Outcome, res.Reason())
	}
}

// An Approval that refuses turns the branch away before anything is
// committed: the one-time code stays usable, the next branch is tried, and
// a refusal of every branch carries MS-CHAP error 649.
func TestApprovalBeforeCommit(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	var seen []string
	deny := func(_ context.Context, res *authpolicy.Result) error {
		seen = append(seen, res.Branch+" "+strings.Join(res.Identity.Groups, ","))
		if res.Branch == "Password and OATH" {
			return errors.New("VPN access off for alice")
		}
		return nil
	}
	ctx := authpolicy.WithApproval(context.Background(), deny)
	res, err := f.engine.Authenticate(ctx, "pptp", plainCred("alice", "correct horse111111"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted || res.MSCHAPError != 649 || !strings.Contains(res.Reason(), "access denied: VPN access off for alice") {
		t.Fatalf("accepted %v code %d: %s", res.Accepted, res.MSCHAPError, res.Reason())
	}
	if len(seen) != 1 || seen[0] != "Password and OATH vpn-users" {
		t.Errorf("approval saw %q", seen)
	}
	// The code was not consumed: without the veto it logs in.
	if res := f.auth(t, plainCred("alice", "correct horse111111")); !res.Accepted {
		t.Fatalf("the code was spent by the refused login: %s", res.Reason())
	}
	// A later branch the approval allows decides.
	res, _ = f.engine.Authenticate(ctx, "pptp", mschapCred("alice", "87654321"))
	if !res.Accepted || res.Branch != "DIGIPASS" {
		t.Fatalf("DIGIPASS branch: %s", res.Reason())
	}
}
