package authpolicy_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := authpolicy.Parse("(Password and OATH) or DIGIPASS"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEngine: 1 password x 3 TOTP codes (the window), then a DIGIPASS
// look-ahead of 20 codes, as the policy engine sees them in memory.
func benchEngine(b *testing.B) *authpolicy.Engine {
	pw := memory.New(memory.Options{})
	pw.SetUser("alice", memory.User{Secrets: []string{"correct horse"}})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111", "222222", "333333"}})
	dp := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}})
	var codes []string
	for i := range 20 {
		codes = append(codes, fmt.Sprintf("%06d", 500000+i))
	}
	dp.SetUser("alice", memory.User{Secrets: codes})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": pw, "OATH": oath, "DIGIPASS": dp},
		[]authpolicy.Service{{Name: "pptp", Policy: "(Password and OATH) or DIGIPASS"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func benchLogin(b *testing.B, cred authpolicy.Credential, branch string) {
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.Authenticate(ctx, "pptp", cred)
		if err != nil || res.Branch != branch {
			b.Fatalf("%v %s", err, res.Reason())
		}
	}
}

// BenchmarkEvaluateMSCHAPv2 decides by the first branch: 3 combinations.
func BenchmarkEvaluateMSCHAPv2(b *testing.B) {
	benchLogin(b, mschapCred("alice", "correct horse333333"), "Password and OATH")
}

// BenchmarkEvaluateMSCHAPv2Fallthrough fails the first branch (3
// combinations) and matches the last of 20 DIGIPASS codes.
func BenchmarkEvaluateMSCHAPv2Fallthrough(b *testing.B) {
	benchLogin(b, mschapCred("alice", "500019"), "DIGIPASS")
}

// BenchmarkEvaluateMSCHAPv1 and BenchmarkEvaluateCHAPMD5 are the same
// login under the weak methods an operator may enable for PPTP.
func BenchmarkEvaluateMSCHAPv1(b *testing.B) {
	benchLogin(b, mschapv1Cred("alice", "correct horse333333"), "Password and OATH")
}

func BenchmarkEvaluateCHAPMD5(b *testing.B) {
	benchLogin(b, md5Cred("alice", "correct horse333333"), "Password and OATH")
}

func BenchmarkEvaluatePlaintext(b *testing.B) {
	benchLogin(b, plainCred("alice", "correct horse333333"), "Password and OATH")
}

// BenchmarkNTResponseCheck is one candidate secret checked against an
// NT-Response: NT hash, DES x3, constant-time compare.
func BenchmarkNTResponseCheck(b *testing.B) {
	c := mschapCred("alice", "correct horse333333").MSCHAPv2
	b.ReportAllocs()
	for b.Loop() {
		nt := mschapv2.NTHash("correct horse333333")
		if !mschapv2.Verify(c.AuthenticatorChallenge, c.PeerChallenge, c.UserName, c.NTResponse, nt) {
			b.Fatal("no match")
		}
	}
}
