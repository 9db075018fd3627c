package authpolicy_test

import (
	"context"
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
