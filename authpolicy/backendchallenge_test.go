package authpolicy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

// upstream is a back-end behind which a server challenges: "pw" gets a
// challenge with continuation "c1" (set whether allowed or not: the engine
// must drop it where not), whose answer "424242" is accepted. It records
// what its calls' contexts said.
type upstream struct {
	allowed []bool
	conts   []string
}

func (*upstream) Info() authpolicy.Info {
	return authpolicy.Info{Capabilities: authpolicy.CapVerifyPlaintext, NothingToCommit: true}
}

func (*upstream) Fragments(context.Context, string) ([]authpolicy.Fragment, error) { return nil, nil }

func (u *upstream) VerifyPlaintext(ctx context.Context, _ string, secret authpolicy.Secret) (authpolicy.Verdict, error) {
	cont := string(authpolicy.Continuation(ctx))
	u.allowed = append(u.allowed, authpolicy.BackendChallengeAllowed(ctx))
	u.conts = append(u.conts, cont)
	switch {
	case cont == "" && secret.Reveal() == "pw":
		return authpolicy.Verdict{Reason: "server asks for a code", Challenge: &authpolicy.BackendChallenge{Message: "Code?", Continuation: []byte("c1")}}, nil
	case cont == "c1" && secret.Reveal() == "424242":
		return authpolicy.Verdict{OK: true, Attributes: map[string][]string{"Filter-Id": {"vpn"}}}, nil
	}
	return authpolicy.Verdict{Reason: "wrong"}, nil
}

func (*upstream) VerifyMSCHAPv2(context.Context, string, *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	return authpolicy.MSCHAPv2Verdict{}, fmt.Errorf("no MS-CHAPv2")
}
func (*upstream) Commit(context.Context, string, string) error { return nil }
func (*upstream) Lookup(context.Context, string) (authpolicy.Identity, error) {
	return authpolicy.Identity{}, nil
}

func upstreamEngine(t *testing.T, policy string) (*authpolicy.Engine, *upstream) {
	t.Helper()
	u := &upstream{}
	pw := memory.New(memory.Options{})
	pw.SetUser("carol", memory.User{Secrets: []string{"pw"}})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true})
	oath.SetUser("carol", memory.User{Secrets: []string{"111111"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"RADIUS": u, "Password": pw, "OATH": oath},
		[]authpolicy.Service{{Name: "vpn", Policy: policy}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, u
}

// TestBackendChallengeResult: with WithChallenge, a back-end's challenge
// makes its branch "challenged" and the Result carries it (back-end,
// branch, prompt, continuation); later branches are not tried. The answer,
// with WithResume, goes to that back-end alone with the continuation.
func TestBackendChallengeResult(t *testing.T) {
	e, u := upstreamEngine(t, "RADIUS or Password")
	ctx := authpolicy.WithChallenge(context.Background())
	res, err := e.Authenticate(ctx, "vpn", plainCred("carol", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	c := res.BackendChallenge
	if res.Accepted || c == nil || c.Backend != "RADIUS" || c.Branch != "RADIUS" || c.Message != "Code?" || string(c.Continuation) != "c1" {
		t.Fatalf("challenge %+v: %s", c, res.Reason())
	}
	if res.Branches[0].Outcome != authpolicy.Challenged || res.Branches[1].Outcome != authpolicy.NotTried {
		t.Errorf("branches %+v", res.Branches)
	}
	if want := `"RADIUS" challenged: RADIUS: server asks for a code`; res.Reason() != want {
		t.Errorf("Reason() = %q, want %q", res.Reason(), want)
	}
	if s := fmt.Sprint(c) + fmt.Sprintf("%v", res); strings.Contains(s, "c1") {
		t.Errorf("the continuation prints: %s", s)
	}
	if !u.allowed[0] || u.conts[0] != "" {
		t.Errorf("first call: allowed %v conts %q", u.allowed, u.conts)
	}

	// The answer: branch RADIUS alone, continuation handed back.
	res, err = e.Authenticate(authpolicy.WithResume(context.Background(), c), "vpn", plainCred("carol", "424242"))
	if err != nil || !res.Accepted || res.Branch != "RADIUS" || res.Identity.Attributes["Filter-Id"][0] != "vpn" {
		t.Fatalf("answer: %s %v", res.Reason(), err)
	}
	if u.conts[1] != "c1" || u.allowed[1] {
		t.Errorf("answer call: allowed %v conts %q", u.allowed, u.conts)
	}
	// "pw" as an answer is wrong, and Password (another branch) is not
	// asked.
	res, _ = e.Authenticate(authpolicy.WithResume(context.Background(), c), "vpn", plainCred("carol", "pw"))
	if res.Accepted || res.Branches[1].Outcome != authpolicy.Skipped {
		t.Errorf("answer pw: %s", res.Reason())
	}
	// MS-CHAPv2 cannot answer.
	if _, err := e.Authenticate(authpolicy.WithResume(context.Background(), c), "vpn", mschapCred("carol", "424242")); err == nil {
		t.Error("an MS-CHAPv2 answer to a challenge is not an error")
	}
}

// TestBackendChallengeNotAllowed: without WithChallenge, or where the
// back-end is not its branch's only factor, the challenge is dropped and
// the branch rejected with the back-end's reason; the back-end is not
// told it may challenge.
func TestBackendChallengeNotAllowed(t *testing.T) {
	e, u := upstreamEngine(t, "RADIUS")
	res, _ := e.Authenticate(context.Background(), "vpn", plainCred("carol", "pw"))
	if res.Accepted || res.BackendChallenge != nil || res.Branches[0].Outcome != authpolicy.Rejected || u.allowed[0] {
		t.Errorf("without WithChallenge: %s (allowed %v)", res.Reason(), u.allowed)
	}

	e, u = upstreamEngine(t, "RADIUS and OATH")
	res, _ = e.Authenticate(authpolicy.WithChallenge(context.Background()), "vpn", plainCred("carol", "pw111111"))
	if res.Accepted || res.BackendChallenge != nil || res.Branches[0].Outcome != authpolicy.Rejected || len(u.allowed) == 0 || u.allowed[0] {
		t.Errorf("with another factor: %s (allowed %v)", res.Reason(), u.allowed)
	}
}
