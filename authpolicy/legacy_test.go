package authpolicy_test

import (
	"context"
	"crypto/md5"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

var v1Challenge = [8]byte{0x10, 0x2D, 0xB5, 0xDF, 0x08, 0x5D, 0x30, 0x41}

// mschapv1Cred is what an MS-CHAPv1 client that typed secret sends.
func mschapv1Cred(user, secret string) authpolicy.Credential {
	return authpolicy.Credential{Kind: authpolicy.MSCHAPv1, User: user, MSCHAPv1: &authpolicy.MSCHAPv1Response{
		Challenge:  v1Challenge,
		NTResponse: mschapv2.NTResponseV1(v1Challenge, mschapv2.NTHash(secret)),
	}}
}

// md5Cred is what a CHAP-MD5 client that typed secret sends (RFC 1994
// section 4.1).
func md5Cred(user, secret string) authpolicy.Credential {
	r := &authpolicy.CHAPMD5Response{Identifier: 7, Challenge: []byte("sixteen octets!!")}
	r.Response = authpolicy.CHAPMD5Sum(r.Identifier, []byte(secret), r.Challenge)
	return authpolicy.Credential{Kind: authpolicy.CHAPMD5, User: user, CHAPMD5: r}
}

// TestCHAPMD5Sum checks the hash against crypto/md5 over the RFC 1994
// layout, written out.
func TestCHAPMD5Sum(t *testing.T) {
	want := md5.Sum([]byte("\x07secretchallenge"))
	if got := authpolicy.CHAPMD5Sum(7, []byte("secret"), []byte("challenge")); got != want {
		t.Fatalf("%x, want %x", got, want)
	}
}

func TestEvaluateMSCHAPv1Composition(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	res := f.auth(t, mschapv1Cred("alice", "correct horse222222"))
	if !res.Accepted || res.Branch != "Password and OATH" {
		t.Fatalf("want accept by Password and OATH, got %s", res.Reason())
	}
	want := mschapv2.MSCHAPv1StartKey(mschapv2.HashNTHash(mschapv2.NTHash("correct horse222222")), v1Challenge)
	if res.Keys == nil || res.Keys.Send != want || res.Keys.Recv != want {
		t.Errorf("MPPE keys %v, want the RFC 3079 start key both ways", res.Keys)
	}
	if res.AuthenticatorResponse != "" {
		t.Errorf("MS-CHAPv1 has no authenticator response, got %q", res.AuthenticatorResponse)
	}
	// The code was consumed.
	if res := f.auth(t, mschapv1Cred("alice", "correct horse222222")); res.Accepted {
		t.Fatal("replayed code accepted")
	}
	if res := f.auth(t, mschapv1Cred("alice", "wrong horse333333")); res.Accepted || !strings.Contains(res.Reason(), "no combination matches") {
		t.Fatalf("wrong password: %s", res.Reason())
	}
	if res := f.auth(t, mschapv1Cred("alice", "765432")); !res.Accepted || res.Branch != "DIGIPASS" {
		t.Fatalf("DIGIPASS alone: %s", res.Reason())
	}
}

func TestEvaluateCHAPMD5(t *testing.T) {
	f := newFixture(t, "Password and OATH")
	res := f.auth(t, md5Cred("alice", "correct horse111111"))
	if !res.Accepted {
		t.Fatalf("CHAP-MD5: %s", res.Reason())
	}
	if res.Keys != nil || res.AuthenticatorResponse != "" {
		t.Errorf("CHAP-MD5 gives no keys, got %v %q", res.Keys, res.AuthenticatorResponse)
	}
	if res := f.auth(t, md5Cred("alice", "correct horse111111")); res.Accepted {
		t.Fatal("replayed code accepted")
	}
	bad := md5Cred("alice", "correct horse222222")
	bad.CHAPMD5.Identifier++ // the response answers another identifier
	if res := f.auth(t, bad); res.Accepted {
		t.Fatal("response to another identifier accepted")
	}
	if res := f.auth(t, md5Cred("alice", "correct horse222222")); !res.Accepted {
		t.Fatalf("the code is still unused after the failure: %s", res.Reason())
	}
}

// A back-end that only verifies (LDAP, RADIUS) cannot take part: the engine
// never sees the secret, and the back-ends check only MS-CHAPv2 and
// plaintext themselves.
func TestLegacyKindsNeedFragments(t *testing.T) {
	radius := memory.New(memory.Options{Capabilities: authpolicy.CapVerifyMSCHAPv2 | authpolicy.CapVerifyPlaintext})
	radius.SetUser("bob", memory.User{Secrets: []string{"s3cret"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"RADIUS": radius},
		[]authpolicy.Service{{Name: "pptp", Policy: "RADIUS"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cred := range []authpolicy.Credential{mschapv1Cred("bob", "s3cret"), md5Cred("bob", "s3cret")} {
		res, err := e.Authenticate(context.Background(), "pptp", cred)
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted || res.Branches[0].Outcome != authpolicy.Skipped || !strings.Contains(res.Branches[0].Reason, "offers no fragments") {
			t.Errorf("%v: %v %q", cred.Kind, res.Branches[0].Outcome, res.Branches[0].Reason)
		}
	}
}

func TestAuthenticateLegacyWithoutResponse(t *testing.T) {
	f := newFixture(t, "Password")
	for _, k := range []authpolicy.CredentialKind{authpolicy.MSCHAPv1, authpolicy.CHAPMD5} {
		if _, err := f.engine.Authenticate(context.Background(), "pptp", authpolicy.Credential{Kind: k, User: "a"}); err == nil {
			t.Errorf("%v credential without a response accepted", k)
		}
	}
}

func TestCheckLegacyKinds(t *testing.T) {
	v1, md := authpolicy.MSCHAPv1, authpolicy.CHAPMD5
	got := findings(t, "DirectoryService or (Password and OATH) or DIGIPASS", authpolicy.MSCHAPv2, v1, md)
	joined := strings.Join(got, "\n")
	for _, w := range []string{
		`branch "DirectoryService" cannot work over MS-CHAPv1: DirectoryService cannot supply the secret that MS-CHAPv1 responses are checked against`,
		`branch "DirectoryService" cannot work over CHAP-MD5: DirectoryService cannot supply`,
		`warning: service pptp: branch "DIGIPASS" is weak over MS-CHAPv2 and MS-CHAPv1: its only secret`,
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("missing %q in:\n%s", w, joined)
		}
	}
	if strings.Contains(joined, `"Password and OATH"`) {
		t.Errorf("Password and OATH works over every kind:\n%s", joined)
	}
	if got := findings(t, "DirectoryService", v1, md); len(got) != 2 || !strings.HasPrefix(got[0], "error:") {
		t.Errorf("a branch no enabled kind can use is an error: %q", got)
	}
}
