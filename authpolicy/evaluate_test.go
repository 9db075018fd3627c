package authpolicy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

var (
	authChallenge = [16]byte{0x5B, 0x5D, 0x7C, 0x7D, 0x7B, 0x3F, 0x2F, 0x3E, 0x3C, 0x2C, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28}
	peerChallenge = [16]byte{0x21, 0x40, 0x23, 0x24, 0x25, 0x5E, 0x26, 0x2A, 0x28, 0x29, 0x5F, 0x2B, 0x3A, 0x33, 0x7C, 0x7E}
)

// mschapCred is what a client that typed secret sends.
func mschapCred(user, secret string) authpolicy.Credential {
	nt := mschapv2.NTHash(secret)
	return authpolicy.Credential{Kind: authpolicy.MSCHAPv2, User: user, MSCHAPv2: &authpolicy.MSCHAPv2Response{
		AuthenticatorChallenge: authChallenge,
		PeerChallenge:          peerChallenge,
		NTResponse:             mschapv2.GenerateNTResponse(authChallenge, peerChallenge, user, nt),
		UserName:               user,
	}}
}

func plainCred(user, secret string) authpolicy.Credential {
	return authpolicy.Credential{Kind: authpolicy.Plaintext, User: user, Secret: authpolicy.NewSecret(secret)}
}

const otpCaps = authpolicy.CapFragments | authpolicy.CapVerifyPlaintext

type fixture struct {
	password, oath, digipass *memory.Backend
	engine                   *authpolicy.Engine
}

func newFixture(t testing.TB, policy string) *fixture {
	t.Helper()
	f := &fixture{
		password: memory.New(memory.Options{}),
		oath:     memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true}),
		digipass: memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6, 8}, OneTime: true}),
	}
	f.password.SetUser("alice", memory.User{Secrets: []string{"correct horse"}, Groups: []string{"vpn-users"}})
	f.password.SetUser("mallory", memory.User{Secrets: []string{"letmein"}, Disabled: true})
	f.oath.SetUser("alice", memory.User{Secrets: []string{"111111", "222222", "333333"}})
	f.oath.SetUser("mallory", memory.User{Secrets: []string{"111111"}})
	f.digipass.SetUser("alice", memory.User{Secrets: []string{"87654321", "765432"}})
	backends := map[string]authpolicy.Backend{"Password": f.password, "OATH": f.oath, "DIGIPASS": f.digipass}
	var err error
	f.engine, err = authpolicy.NewEngine(backends, []authpolicy.Service{{Name: "pptp", Policy: policy, BackendTimeout: 200 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) auth(t testing.TB, cred authpolicy.Credential, opts ...authpolicy.Option) *authpolicy.Result {
	t.Helper()
	res, err := f.engine.Authenticate(context.Background(), "pptp", cred, opts...)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return res
}

func TestEvaluateMSCHAPv2Composition(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")

	res := f.auth(t, mschapCred("alice", "correct horse222222"))
	if !res.Accepted || res.Branch != "Password and OATH" {
		t.Fatalf("want accept by Password and OATH, got %s", res.Reason())
	}
	// What the PPP layer needs equals the RFC 2759/3079 computation over
	// the whole typed secret.
	nt := mschapv2.NTHash("correct horse222222")
	c := mschapCred("alice", "correct horse222222").MSCHAPv2
	if want := mschapv2.GenerateAuthenticatorResponse(nt, c.NTResponse, peerChallenge, authChallenge, "alice"); res.AuthenticatorResponse != want {
		t.Errorf("authenticator response %q, want %q", res.AuthenticatorResponse, want)
	}
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(nt), c.NTResponse, true)
	if res.Keys == nil || res.Keys.Send != send || res.Keys.Recv != recv {
		t.Errorf("MPPE keys differ from RFC 3079 derivation")
	}
	if strings.Join(res.Identity.Groups, ",") != "vpn-users" {
		t.Errorf("identity groups %v", res.Identity.Groups)
	}

	// The code is consumed: the same secret again is a replay.
	res = f.auth(t, mschapCred("alice", "correct horse222222"))
	if res.Accepted {
		t.Fatal("replayed code accepted")
	}
	if want := `"Password and OATH" rejected: no combination matches the response (Password: 1 candidate, OATH: 2 candidates); "DIGIPASS" rejected: no combination matches the response (DIGIPASS: 2 candidates)`; res.Reason() != want {
		t.Errorf("reason:\n got %s\nwant %s", res.Reason(), want)
	}

	// The second branch: a DIGIPASS code alone, 8 digits.
	res = f.auth(t, mschapCred("alice", "87654321"))
	if !res.Accepted || res.Branch != "DIGIPASS" {
		t.Fatalf("want accept by DIGIPASS, got %s", res.Reason())
	}
	if res.Branches[0].Outcome != authpolicy.Rejected {
		t.Errorf("first branch outcome %v", res.Branches[0].Outcome)
	}

	// Order matters: the code before the password is not the policy.
	if res := f.auth(t, mschapCred("alice", "333333correct horse")); res.Accepted {
		t.Error("secret in the wrong order accepted")
	}
}

func TestEvaluateDryRunConsumesNothing(t *testing.T) {
	f := newFixture(t, "Password and OATH")
	for range 2 {
		res := f.auth(t, mschapCred("alice", "correct horse111111"), authpolicy.DryRun())
		if !res.Accepted || !res.DryRun {
			t.Fatalf("dry run: %s", res.Reason())
		}
	}
	if res := f.auth(t, mschapCred("alice", "correct horse111111")); !res.Accepted {
		t.Fatalf("real login after dry runs: %s", res.Reason())
	}
	if res := f.auth(t, mschapCred("alice", "correct horse111111")); res.Accepted {
		t.Fatal("code accepted twice")
	}
}

func TestEvaluatePlaintextSplit(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or (Password and DIGIPASS)")
	cases := []struct {
		secret, branch string
	}{
		{"correct horse111111", "Password and OATH"},
		{"correct horse765432", "Password and DIGIPASS"},   // 6-digit DIGIPASS
		{"correct horse87654321", "Password and DIGIPASS"}, // 8-digit: the 6-digit split fails first
		{"correct horse111111", ""},                        // replay
		{"correct horse", ""},                              // no code
		{"wrong horse222222", ""},
		{"222222", ""}, // too short for a password and a code
	}
	for _, tc := range cases {
		res := f.auth(t, plainCred("alice", tc.secret))
		if res.Branch != tc.branch || res.Accepted != (tc.branch != "") {
			t.Errorf("%q: got accepted=%v branch=%q (%s), want branch %q", tc.secret, res.Accepted, res.Branch, res.Reason(), tc.branch)
		}
	}
	res := f.auth(t, plainCred("alice", "wrong horse222222"))
	if want := `"Password and OATH" rejected: Password: wrong secret; "Password and DIGIPASS" rejected: Password: wrong secret`; res.Reason() != want {
		t.Errorf("reason:\n got %s\nwant %s", res.Reason(), want)
	}
}

func TestEvaluateDisabledUser(t *testing.T) {
	f := newFixture(t, "Password and OATH")
	// The memory back-end refuses disabled users itself; the identity check
	// is a second line: a back-end that verifies but reports disabled.
	f.password.SetUser("mallory", memory.User{Secrets: []string{"letmein"}, Locked: true})
	res := f.auth(t, plainCred("mallory", "letmein111111"))
	if res.Accepted || !strings.Contains(res.Reason(), `Password: account "mallory" is locked`) {
		t.Fatalf("locked user: %s", res.Reason())
	}
	// Nothing was consumed: the code still works once unlocked.
	f.password.SetUser("mallory", memory.User{Secrets: []string{"letmein"}})
	if res := f.auth(t, plainCred("mallory", "letmein111111")); !res.Accepted {
		t.Fatalf("after unlock: %s", res.Reason())
	}
}

func TestEvaluateFailClosed(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	f.oath.SetFault(0, errors.New("plugin crashed"))
	res := f.auth(t, mschapCred("alice", "correct horse111111"))
	if res.Accepted {
		t.Fatal("back-end error became an accept")
	}
	if got := res.Branches[0]; got.Outcome != authpolicy.Failed || got.Reason != "OATH: plugin crashed" {
		t.Errorf("branch 1: %v %q", got.Outcome, got.Reason)
	}
	if got := res.Branches[1]; got.Outcome != authpolicy.Rejected {
		t.Errorf("branch 2 not tried after branch 1 failed: %v", got.Outcome)
	}
	// The next branch still decides.
	if res := f.auth(t, mschapCred("alice", "765432")); !res.Accepted || res.Branch != "DIGIPASS" {
		t.Fatalf("DIGIPASS with OATH down: %s", res.Reason())
	}
}

func TestEvaluateBackendDeadline(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	f.oath.SetFault(time.Hour, nil) // hangs, honours its context
	start := time.Now()
	res := f.auth(t, plainCred("alice", "correct horse111111"))
	if res.Accepted {
		t.Fatal("hanging back-end became an accept")
	}
	if got := res.Branches[0]; got.Outcome != authpolicy.Failed || got.Reason != "OATH: no answer within 200ms (deadline)" {
		t.Errorf("branch 1: %v %q", got.Outcome, got.Reason)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("login took %s despite a 200ms back-end deadline", time.Since(start))
	}
}

// hung ignores its context entirely.
type hung struct{ authpolicy.Backend }

func (hung) VerifyPlaintext(context.Context, string, authpolicy.Secret) (authpolicy.Verdict, error) {
	select {}
}

func TestEvaluateLoginDeadline(t *testing.T) {
	pw := memory.New(memory.Options{})
	pw.SetUser("alice", memory.User{Secrets: []string{"pw"}})
	backends := map[string]authpolicy.Backend{"A": hung{pw}, "B": hung{pw}, "C": pw}
	e, err := authpolicy.NewEngine(backends, []authpolicy.Service{{
		Name: "s", Policy: "A or B or C", LoginTimeout: 300 * time.Millisecond, BackendTimeout: 200 * time.Millisecond,
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Authenticate(context.Background(), "s", plainCred("alice", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted {
		t.Fatal("accepted after the login deadline")
	}
	want := []string{
		"A: no answer within 200ms (deadline)",
		"B: the login deadline passed before it answered",
		"login deadline of 300ms passed before this branch was tried",
	}
	for i, w := range want {
		if res.Branches[i].Outcome != authpolicy.Failed || res.Branches[i].Reason != w {
			t.Errorf("branch %d: %v %q, want failed %q", i, res.Branches[i].Outcome, res.Branches[i].Reason, w)
		}
	}
}

func TestEvaluateLoneVerifierAskedDirectly(t *testing.T) {
	radius := memory.New(memory.Options{Capabilities: authpolicy.CapVerifyMSCHAPv2 | authpolicy.CapVerifyPlaintext})
	radius.SetUser("bob", memory.User{Secrets: []string{"s3cret"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"RADIUS": radius},
		[]authpolicy.Service{{Name: "pptp", Policy: "RADIUS"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Authenticate(context.Background(), "pptp", mschapCred("bob", "s3cret"))
	if err != nil || !res.Accepted {
		t.Fatalf("%v %s", err, res.Reason())
	}
	nt := mschapv2.NTHash("s3cret")
	c := mschapCred("bob", "s3cret").MSCHAPv2
	if want := mschapv2.GenerateAuthenticatorResponse(nt, c.NTResponse, peerChallenge, authChallenge, "bob"); res.AuthenticatorResponse != want {
		t.Errorf("authenticator response %q, want %q", res.AuthenticatorResponse, want)
	}
}

// noKeys accepts an MS-CHAPv2 response but returns no key material.
type noKeys struct{ authpolicy.Backend }

func (noKeys) VerifyMSCHAPv2(context.Context, string, *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	return authpolicy.MSCHAPv2Verdict{Verdict: authpolicy.Verdict{OK: true}}, nil
}

func TestEvaluateAcceptWithoutKeysFailsClosed(t *testing.T) {
	m := memory.New(memory.Options{Capabilities: authpolicy.CapVerifyMSCHAPv2})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"R": noKeys{m}}, []authpolicy.Service{{Name: "s", Policy: "R"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Authenticate(context.Background(), "s", mschapCred("bob", "x"))
	if res.Accepted || res.Branches[0].Outcome != authpolicy.Failed {
		t.Fatalf("accept without keys: %s", res.Reason())
	}
}

func TestAuthenticateErrors(t *testing.T) {
	f := newFixture(t, "Password")
	if _, err := f.engine.Authenticate(context.Background(), "nope", plainCred("alice", "x")); !errors.Is(err, authpolicy.ErrUnknownService) {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := f.engine.Authenticate(context.Background(), "pptp", authpolicy.Credential{Kind: authpolicy.MSCHAPv2, User: "a"}); err == nil {
		t.Error("MS-CHAPv2 credential without response accepted")
	}
}

func TestSkippedBranch(t *testing.T) {
	ldap := memory.New(memory.Options{Capabilities: authpolicy.CapVerifyPlaintext})
	ldap.SetUser("alice", memory.User{Secrets: []string{"pw"}})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}})
	oath.SetUser("alice", memory.User{Secrets: []string{"123456"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"DirectoryService": ldap, "OATH": oath},
		[]authpolicy.Service{{Name: "radius", Policy: "(DirectoryService and OATH) or OATH"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Authenticate(context.Background(), "radius", mschapCred("alice", "pw123456"))
	if res.Branches[0].Outcome != authpolicy.Skipped || !strings.Contains(res.Branches[0].Reason, "can only verify a whole secret") {
		t.Errorf("branch 1: %v %q", res.Branches[0].Outcome, res.Branches[0].Reason)
	}
	res, _ = e.Authenticate(context.Background(), "radius", plainCred("alice", "pw123456"))
	if !res.Accepted || res.Branch != "DirectoryService and OATH" {
		t.Errorf("plaintext: %s", res.Reason())
	}
}
