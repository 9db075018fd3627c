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

func TestRecheck(t *testing.T) {
	f := newFixture(t, "(Password and OATH) or DIGIPASS")
	res := f.auth(t, plainCred("alice", "correct horse111111"))
	if !res.Accepted {
		t.Fatalf("login: %s", res.Reason())
	}
	res.VerdictAttributes = map[string][]string{"Filter-Id": {"staff"}}
	ctx := context.Background()

	got, err := f.engine.Recheck(ctx, res)
	if err != nil || !got.Allowed {
		t.Fatalf("unchanged user: %+v, %v; want allowed", got, err)
	}
	if !slices.Equal(got.Identity.Groups, []string{"vpn-users"}) || got.Identity.Attributes["Filter-Id"][0] != "staff" {
		t.Errorf("identity %+v: want the back-end's groups and the verdict's Filter-Id", got.Identity)
	}
	// Nothing is verified again: a one-time code stays unspent.
	if n := f.oath.CallsOf("Commit"); n != 1 {
		t.Errorf("OATH commits %d, want the login's 1", n)
	}

	f.password.SetUser("alice", memory.User{Secrets: []string{"correct horse"}, Groups: []string{"contractors"}})
	if got, _ := f.engine.Recheck(ctx, res); !got.Allowed || !slices.Equal(got.Identity.Groups, []string{"contractors"}) {
		t.Errorf("group change: %+v; want allowed with the new groups", got)
	}

	for _, tc := range []struct {
		name string
		user memory.User
		want string
	}{
		{"disabled", memory.User{Secrets: []string{"x"}, Disabled: true}, `account "alice" is disabled`},
		{"locked", memory.User{Secrets: []string{"x"}, Locked: true}, `account "alice" is locked`},
	} {
		f.password.SetUser("alice", tc.user)
		got, err := f.engine.Recheck(ctx, res)
		if err != nil || got.Allowed || !strings.Contains(got.Reason, tc.want) {
			t.Errorf("%s: %+v, %v; want refused with %q", tc.name, got, err, tc.want)
		}
	}

	f.password.SetFault(0, errors.New("directory down"))
	if _, err := f.engine.Recheck(ctx, res); err == nil || !strings.Contains(err.Error(), "directory down") {
		t.Errorf("back-end error: %v; want it returned, not a refusal", err)
	}
	f.password.SetFault(0, nil)

	// A user the back-end no longer has.
	deleted := *res
	deleted.User = "nobody"
	if got, _ := f.engine.Recheck(ctx, &deleted); got.Allowed || !strings.Contains(got.Reason, "no longer knows") {
		t.Errorf("deleted user: %+v; want refused", got)
	}
}

func TestRecheckPolicyChange(t *testing.T) {
	login := newFixture(t, "Password or DIGIPASS")
	res := login.auth(t, plainCred("alice", "correct horse"))
	if !res.Accepted || res.Branch != "Password" {
		t.Fatalf("login: %s", res.Reason())
	}
	for _, tc := range []struct {
		policy string
		allow  bool
	}{
		{"Password or DIGIPASS", true},
		{"DIGIPASS or Password", true},
		{"Password and OATH", false}, // a second factor is now required
		{"DIGIPASS", false},
	} {
		f := newFixture(t, tc.policy)
		got, err := f.engine.Recheck(context.Background(), res)
		if err != nil || got.Allowed != tc.allow {
			t.Errorf("policy %q: %+v, %v; want allowed %v", tc.policy, got, err, tc.allow)
		}
		if !tc.allow && !strings.Contains(got.Reason, "no longer accepts") {
			t.Errorf("policy %q: reason %q", tc.policy, got.Reason)
		}
	}
	other, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": memory.New(memory.Options{})},
		[]authpolicy.Service{{Name: "radius", Policy: "Password", BackendTimeout: time.Second}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := other.Recheck(context.Background(), res); got.Allowed || !strings.Contains(got.Reason, "no longer configured") {
		t.Errorf("service removed: %+v", got)
	}
}

func TestDeniedIsNotAGuess(t *testing.T) {
	f := newFixture(t, "Password")
	ctx := authpolicy.WithApproval(context.Background(), func(context.Context, *authpolicy.Result) error {
		return errors.New("VPN access off")
	})
	res, err := f.engine.Authenticate(ctx, "pptp", plainCred("alice", "correct horse"))
	if err != nil || res.Accepted || !res.Denied {
		t.Fatalf("approval refused: %+v, %v; want rejected with Denied", res, err)
	}
	res, _ = f.engine.Authenticate(ctx, "pptp", plainCred("alice", "wrong"))
	if res.Accepted || res.Denied {
		t.Fatalf("wrong password: %+v; want rejected, not Denied", res)
	}
}
