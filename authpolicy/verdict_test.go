package authpolicy_test

import (
	"context"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

// forwarder is a back-end that only verifies, like RADIUS: it accepts
// "good" with reply attributes, rejects everything else with an MS-CHAP
// error code, and records the calling station it was given.
type forwarder struct {
	*memory.Backend
	station string
}

func (f *forwarder) Info() authpolicy.Info {
	return authpolicy.Info{Capabilities: authpolicy.CapVerifyPlaintext | authpolicy.CapVerifyMSCHAPv2}
}

func (f *forwarder) VerifyPlaintext(ctx context.Context, _ string, s authpolicy.Secret) (authpolicy.Verdict, error) {
	f.station = authpolicy.CallingStation(ctx)
	if s.Reveal() == "good" {
		return authpolicy.Verdict{OK: true, Attributes: map[string][]string{"Filter-Id": {"vpn-users"}}}, nil
	}
	return authpolicy.Verdict{Reason: "account locked", MSCHAPError: 647}, nil
}

func (f *forwarder) VerifyMSCHAPv2(context.Context, string, *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	return authpolicy.MSCHAPv2Verdict{Verdict: authpolicy.Verdict{Reason: "password expired", MSCHAPError: 648}}, nil
}

// TestVerdictAttributesAndErrors: a verifying back-end's reply attributes
// join the identity of the login it decided; its MS-CHAP error code is the
// Result's; the credential's calling station reaches it.
func TestVerdictAttributesAndErrors(t *testing.T) {
	f := &forwarder{Backend: memory.New(memory.Options{})}
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"RADIUS": f}, []authpolicy.Service{{Name: "s", Policy: "RADIUS"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := e.Authenticate(ctx, "s", authpolicy.Credential{Kind: authpolicy.Plaintext, User: "u", Secret: authpolicy.NewSecret("good"), CallingStation: "203.0.113.7"})
	if err != nil || !r.Accepted {
		t.Fatalf("%v %+v", err, r)
	}
	if got := r.Identity.Attributes["Filter-Id"]; len(got) != 1 || got[0] != "vpn-users" || r.MSCHAPError != 0 {
		t.Errorf("accept: attributes %v, MS-CHAP error %d", r.Identity.Attributes, r.MSCHAPError)
	}
	if f.station != "203.0.113.7" {
		t.Errorf("calling station %q", f.station)
	}
	r, _ = e.Authenticate(ctx, "s", authpolicy.Credential{Kind: authpolicy.Plaintext, User: "u", Secret: authpolicy.NewSecret("bad")})
	if r.Accepted || r.MSCHAPError != 647 || len(r.Identity.Attributes) != 0 {
		t.Errorf("reject: %+v", r)
	}
	r, _ = e.Authenticate(ctx, "s", authpolicy.Credential{Kind: authpolicy.MSCHAPv2, User: "u", MSCHAPv2: &authpolicy.MSCHAPv2Response{UserName: "u"}})
	if r.Accepted || r.MSCHAPError != 648 {
		t.Errorf("MS-CHAPv2 reject: %+v", r)
	}
}
