package radius_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/plugins/radius"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// secondPrompt is FreeRADIUS unlang: carol's "carolpass" gets an
// Access-Challenge ("Code?", State "fr-state"); the answer 424242 with
// that State is accepted, anything else rejected.
const secondPrompt = `		if (&User-Name == "carol") {
			if (&State) {
				if ((&State == 0x66722d7374617465) && (&User-Password == "424242")) {
					update control {
						&Auth-Type := Accept
					}
				}
				else {
					reject
				}
			}
			elsif (&User-Password == "carolpass") {
				update reply {
					&Reply-Message := "Code?"
					&State := 0x66722d7374617465
					&Message-Authenticator := 0x00
				}
				update control {
					&Response-Packet-Type := Access-Challenge
				}
				handled
			}
			else {
				reject
			}
		}`

// TestFreeRADIUSChallengePassedOn: over the plugin channel, with the
// gateway's marker, FreeRADIUS's Access-Challenge is a verdict carrying
// its prompt and a continuation; the answer with the continuation goes to
// the same server with its State and decides. Without the marker it is a
// refusal that says why; a malformed continuation is an error.
func TestFreeRADIUSChallengePassedOn(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: users, Authorize: secondPrompt})
	c := sdktest.Start(t, radius.New(nil))
	if problems, err := c.Configure(context.Background(), map[string]string{"servers": srv.AuthAddr, "secret_file": srv.SecretFile, "timeout": "1s"}); err != nil || len(problems) > 0 {
		t.Fatalf("configure: %v %v", problems, err)
	}
	ctx := context.Background()

	v, err := c.VerifyPlaintext(ctx, "carol", "carolpass")
	if err != nil || v.OK || v.Challenge != nil || !strings.Contains(v.Reason, "which this login cannot answer") {
		t.Fatalf("without the marker: %+v %v", v, err)
	}
	v, err = c.VerifyPlaintextChallenge(ctx, "carol", "carolpass", nil)
	if err != nil || v.OK || v.Challenge == nil || v.Challenge.Message != "Code?" || !bytes.Contains(v.Challenge.Continuation, []byte("fr-state")) {
		t.Fatalf("with the marker: %+v %v", v, err)
	}
	cont := v.Challenge.Continuation
	if v, err := c.VerifyPlaintextChallenge(ctx, "carol", "000000", cont); err != nil || v.OK || v.Challenge != nil {
		t.Errorf("wrong answer: %+v %v", v, err)
	}
	if v, err := c.VerifyPlaintextChallenge(ctx, "carol", "424242", cont); err != nil || !v.OK {
		t.Errorf("right answer: %+v %v", v, err)
	}
	// The alice of every other test is not challenged.
	if v, err := c.VerifyPlaintextChallenge(ctx, "alice", "password", nil); err != nil || !v.OK || v.Challenge != nil {
		t.Errorf("alice: %+v %v", v, err)
	}
	for _, bad := range [][]byte{{9}, {1, 0}, {1, 200, 'x'}, []byte("garbage")} {
		if _, err := c.VerifyPlaintextChallenge(ctx, "carol", "424242", bad); err == nil {
			t.Errorf("continuation %q: no error", bad)
		}
	}
}
