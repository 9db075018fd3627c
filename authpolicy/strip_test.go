package authpolicy_test

import (
	"context"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

func TestStripDomain(t *testing.T) {
	for in, want := range map[string]string{
		`alice`:              "alice",
		`CORP\alice`:         "alice",
		`alice@corp.example`: "alice",
		`CORP\alice@corp`:    "alice",
		`CORP\`:              `CORP\`,
		`@corp`:              "@corp",
		``:                   "",
	} {
		if got := authpolicy.StripDomain(in); got != want {
			t.Errorf("StripDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// With strip_domain the back-ends see the user part, and an MS-CHAPv2
// response computed by a Windows client that sent CORP\alice verifies.
func TestServiceStripsDomain(t *testing.T) {
	pw := memory.New(memory.Options{})
	pw.SetUser("alice", memory.User{Secrets: []string{"correct horse"}})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": pw}, []authpolicy.Service{
		{Name: "strip", Policy: "Password", StripDomain: true},
		{Name: "keep", Policy: "Password"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, cred := range []authpolicy.Credential{mschapCred(`CORP\alice`, "correct horse"), plainCred("alice@corp.example", "correct horse")} {
		res, err := e.Authenticate(ctx, "strip", cred)
		if err != nil || !res.Accepted || res.User != "alice" {
			t.Errorf("strip_domain, %q: %+v, %v; want accepted as alice", cred.User, res, err)
		}
		res, _ = e.Authenticate(ctx, "keep", cred)
		if res.Accepted {
			t.Errorf("without strip_domain %q was accepted", cred.User)
		}
	}
	if got := e.UserName("strip", `CORP\alice`); got != "alice" {
		t.Errorf("UserName = %q", got)
	}
	if got := e.UserName("keep", `CORP\alice`); got != `CORP\alice` {
		t.Errorf("UserName without strip_domain = %q", got)
	}
}
