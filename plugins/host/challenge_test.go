package host_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
)

// TestBackendChallenge: a back-end's challenge crosses the plugin channel
// (SDK to host) only when the login allows it; the engine reports the
// branch as challenged by the back-end, and the answer, with the
// continuation handed back, decides. Over protocol version 1 there are no
// challenges: a refusal, and an answer is refused by the relay.
func TestBackendChallenge(t *testing.T) {
	for _, version := range []string{"2", "1"} {
		t.Run("protocol "+version, func(t *testing.T) {
			_, b, logs := startOne(t, spec("Password", func(s *host.Spec) { s.Env = []string{"TESTPLUGIN_PROTOCOL=" + version} }))
			engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": b},
				[]authpolicy.Service{{Name: "vpn", Policy: "Password"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			cred := func(s string) authpolicy.Credential {
				return authpolicy.Credential{Kind: authpolicy.Plaintext, User: "challenged", Secret: secret(s)}
			}

			// Not allowed: the challenge the plugin sets anyway is dropped.
			v, err := b.VerifyPlaintext(ctx, "challenged", secret("pw"))
			if err != nil || v.OK || v.Challenge != nil || !strings.Contains(v.Reason, "cannot answer") {
				t.Fatalf("without the marker: %+v %v", v, err)
			}
			res, err := engine.Authenticate(ctx, "vpn", cred("pw"))
			if err != nil || res.Accepted || res.BackendChallenge != nil || res.Branches[0].Outcome != authpolicy.Rejected {
				t.Fatalf("without WithChallenge: %s %v", res.Reason(), err)
			}

			res, err = engine.Authenticate(authpolicy.WithChallenge(ctx), "vpn", cred("pw"))
			if err != nil {
				t.Fatal(err)
			}
			if version == "1" {
				if res.Accepted || res.BackendChallenge != nil || !strings.Contains(res.Reason(), "cannot answer") {
					t.Errorf("version 1 with WithChallenge: %s", res.Reason())
				}
				up := &authpolicy.BackendChallenge{Backend: "Password", Branch: "Password", Continuation: []byte("cont-1")}
				res, err = engine.Authenticate(authpolicy.WithResume(ctx, up), "vpn", cred("424242"))
				if err != nil || res.Accepted || !strings.Contains(res.Reason(), "protocol version 1") {
					t.Errorf("version 1 answer: %s %v", res.Reason(), err)
				}
				return
			}
			c := res.BackendChallenge
			if res.Accepted || c == nil || c.Backend != "Password" || c.Branch != "Password" || c.Message != "Code?" || string(c.Continuation) != "cont-1" {
				t.Fatalf("challenge %+v: %s", c, res.Reason())
			}
			if br := res.Branches[0]; br.Outcome != authpolicy.Challenged || br.Reason != "Password: asks for a code" {
				t.Errorf("branch %+v", br)
			}
			for answer, ok := range map[string]bool{"424242": true, "000000": false} {
				res, err := engine.Authenticate(authpolicy.WithResume(ctx, c), "vpn", cred(answer))
				if err != nil || res.Accepted != ok {
					t.Errorf("answer %s: accepted %t (%s) %v", answer, res.Accepted, res.Reason(), err)
				}
			}
			if strings.Contains(logs.String(), "cont-1") || strings.Contains(logs.String(), "424242") {
				t.Errorf("a continuation or an answer in the log:\n%s", logs)
			}
		})
	}
}
