package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// The upstream States of upstreamChallenge, in hex: they must never reach
// the NAS.
const (
	upstreamState1 = "75702d7374617465"     // "up-state"
	upstreamState2 = "75702d7374617465322e" // "up-state2."
	upstreamState3 = "6c6f6f702d7374617465" // "loop-state"
)

// upstreamChallenge is FreeRADIUS unlang for a second prompt, as an OTP
// server sends one: carol's password "carolpass" gets an Access-Challenge
// ("Code?", State up-state), whose answer 424242 is accepted; dave's
// needs two codes (111111, then "Second code?" and 222222); erin is
// challenged for ever. Any request without a password (MS-CHAPv2) from
// carol is challenged too.
const upstreamChallenge = `		if (&User-Name == "carol") {
			if (&State) {
				if ((&State == 0x` + upstreamState1 + `) && (&User-Password == "424242")) {
					update control {
						&Auth-Type := Accept
					}
				}
				else {
					reject
				}
			}
			elsif (&User-Password && (&User-Password != "carolpass")) {
				reject
			}
			else {
				update reply {
					&Reply-Message := "Code?"
					&State := 0x` + upstreamState1 + `
					&Message-Authenticator := 0x00
				}
				update control {
					&Response-Packet-Type := Access-Challenge
				}
				handled
			}
		}
		if (&User-Name == "dave") {
			if (!&State) {
				if (&User-Password != "davepass") {
					reject
				}
				update reply {
					&Reply-Message := "First code?"
					&State := 0x` + upstreamState1 + `
					&Message-Authenticator := 0x00
				}
				update control {
					&Response-Packet-Type := Access-Challenge
				}
				handled
			}
			elsif ((&State == 0x` + upstreamState1 + `) && (&User-Password == "111111")) {
				update reply {
					&Reply-Message := "Second code?"
					&State := 0x` + upstreamState2 + `
					&Message-Authenticator := 0x00
				}
				update control {
					&Response-Packet-Type := Access-Challenge
				}
				handled
			}
			elsif ((&State == 0x` + upstreamState2 + `) && (&User-Password == "222222")) {
				update control {
					&Auth-Type := Accept
				}
			}
			else {
				reject
			}
		}
		if (&User-Name == "erin") {
			update reply {
				&Reply-Message := "Again?"
				&State := 0x` + upstreamState3 + `
				&Message-Authenticator := 0x00
			}
			update control {
				&Response-Packet-Type := Access-Challenge
			}
			handled
		}`

// upstreamChallengeState is the State of the Access-Challenge in out,
// which must carry prompt, a State of the gateway's own (16 bytes) and none
// of FreeRADIUS's.
func upstreamChallengeState(t *testing.T, out, prompt string) string {
	t.Helper()
	if !strings.Contains(out, "Received Access-Challenge") || !strings.Contains(out, `Reply-Message = "`+prompt+`"`) {
		t.Fatalf("want an Access-Challenge with %q:\n%s", prompt, out)
	}
	for _, up := range []string{upstreamState1, upstreamState2, upstreamState3} {
		if strings.Contains(out, up) {
			t.Fatalf("the upstream State reached the NAS:\n%s", out)
		}
	}
	m := radclientState.FindStringSubmatch(out[strings.Index(out, "Received Access-Challenge"):])
	if m == nil || len(m[1]) != 32 {
		t.Fatalf("no State of 16 bytes in the Access-Challenge:\n%s", out)
	}
	return m[1]
}

// TestRADIUSUpstreamChallenge: radclient -> the front door (challenge on)
// -> the radius back-end (a plugin process) -> FreeRADIUS, which
// challenges. The NAS gets the gateway's own State with FreeRADIUS's
// prompt; the answer with that State is accepted; a wrong answer, a
// replayed State and FreeRADIUS's own State are rejected; a second
// upstream round works; an endless one stops after MaxUpstreamRounds. A
// login that cannot answer (MS-CHAPv2, as PPTP's; PAP without the
// front door's marker) is refused with the reason.
func TestRADIUSUpstreamChallenge(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{{Name: "alice", Password: "password"}}, Authorize: upstreamChallenge})
	cfg, engine := radiusBackendEngine(t, srv, ", challenge: true")
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	addr, secret, _ := frontDoorReply(t, cfg, engine, "127.0.0.0/8", log, nil)
	send := func(req string) string { return runRadclient(t, addr, secret, req) }

	// One round, then the answer.
	state := upstreamChallengeState(t, send(papRequest("carol", "carolpass", "")), "Code?")
	if out := send(papRequest("carol", "424242", state)); !strings.Contains(out, "Received Access-Accept") {
		t.Fatalf("the right answer:\n%s", out)
	}
	// Replayed.
	if out := send(papRequest("carol", "424242", state)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("replayed State:\n%s", out)
	}
	// Wrong answer.
	state = upstreamChallengeState(t, send(papRequest("carol", "carolpass", "")), "Code?")
	if out := send(papRequest("carol", "000000", state)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("wrong answer:\n%s", out)
	}
	// FreeRADIUS's own State, and a made-up one: not the gateway's.
	var forged [16]byte
	_, _ = rand.Read(forged[:])
	for _, st := range []string{upstreamState1, fmt.Sprintf("%x", forged)} {
		if out := send(papRequest("carol", "424242", st)); !strings.Contains(out, "Received Access-Reject") {
			t.Errorf("foreign State %s:\n%s", st, out)
		}
	}
	// Wrong password: FreeRADIUS rejects at once, no challenge.
	if out := send(papRequest("carol", "wrong", "")); !strings.Contains(out, "Received Access-Reject") || strings.Contains(out, "State = ") {
		t.Errorf("wrong password:\n%s", out)
	}

	// Two upstream rounds.
	state = upstreamChallengeState(t, send(papRequest("dave", "davepass", "")), "First code?")
	state2 := upstreamChallengeState(t, send(papRequest("dave", "111111", state)), "Second code?")
	if state2 == state {
		t.Error("the second round reuses the first State")
	}
	if out := send(papRequest("dave", "222222", state2)); !strings.Contains(out, "Received Access-Accept") {
		t.Fatalf("the second code:\n%s", out)
	}

	// Endless: MaxUpstreamRounds challenges, then a reject.
	state = upstreamChallengeState(t, send(papRequest("erin", "x", "")), "Again?")
	state = upstreamChallengeState(t, send(papRequest("erin", "x", state)), "Again?")
	state = upstreamChallengeState(t, send(papRequest("erin", "x", state)), "Again?")
	if out := send(papRequest("erin", "x", state)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("a fourth round:\n%s", out)
	}

	text := logs.String()
	for _, want := range []string{
		`"msg":"RADIUS login challenged by a back-end: Access-Challenge sent"`,
		`"backend":"RADIUS"`,
		`"reason":"State already used: a replayed answer to an Access-Challenge"`,
		`"reason":"unknown State: not issued by this gateway, or so long ago that it is forgotten"`,
		`which this login cannot answer`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %s:\n%s", want, text)
		}
	}
	for _, secret := range []string{"carolpass", "424242", "111111", "222222", upstreamState1, upstreamState2} {
		if strings.Contains(text, secret) {
			t.Errorf("%s in the log:\n%s", secret, text)
		}
	}

	// Logins that cannot answer a challenge: MS-CHAPv2 (PPTP's), and PAP
	// without the front door's marker.
	var auth, peer [16]byte
	_, _ = rand.Read(auth[:])
	_, _ = rand.Read(peer[:])
	nt := mschapv2.GenerateNTResponse(auth, peer, "carol", mschapv2.NTHash("carolpass"))
	m := &authpolicy.MSCHAPv2Response{AuthenticatorChallenge: auth, PeerChallenge: peer, NTResponse: nt, UserName: "carol"}
	for name, cred := range map[string]authpolicy.Credential{
		"MS-CHAPv2":          {Kind: authpolicy.MSCHAPv2, User: "carol", MSCHAPv2: m},
		"PAP without marker": {Kind: authpolicy.Plaintext, User: "carol", Secret: authpolicy.NewSecret("carolpass")},
	} {
		res, err := engine.Authenticate(context.Background(), "pptp", cred)
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted || res.BackendChallenge != nil || !strings.Contains(res.Reason(), "sent an Access-Challenge (a second prompt), which this login cannot answer") {
			t.Errorf("%s: want a refusal with the reason, got %s (challenge %v)", name, res.Reason(), res.BackendChallenge)
		}
	}
}

// askingBackend challenges "pw" (continuation "c1") and accepts the
// answer "424242".
type askingBackend struct{}

func (askingBackend) Info() authpolicy.Info {
	return authpolicy.Info{Capabilities: authpolicy.CapVerifyPlaintext, NothingToCommit: true}
}
func (askingBackend) Fragments(context.Context, string) ([]authpolicy.Fragment, error) {
	return nil, nil
}
func (askingBackend) VerifyPlaintext(ctx context.Context, _ string, s authpolicy.Secret) (authpolicy.Verdict, error) {
	switch {
	case authpolicy.Continuation(ctx) == nil && s.Reveal() == "pw":
		return authpolicy.Verdict{Reason: "asks", Challenge: &authpolicy.BackendChallenge{Message: "Code?", Continuation: []byte("c1")}}, nil
	case string(authpolicy.Continuation(ctx)) == "c1" && s.Reveal() == "424242":
		return authpolicy.Verdict{OK: true}, nil
	}
	return authpolicy.Verdict{Reason: "wrong"}, nil
}
func (askingBackend) VerifyMSCHAPv2(context.Context, string, *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	return authpolicy.MSCHAPv2Verdict{}, nil
}
func (askingBackend) Commit(context.Context, string, string) error { return nil }
func (askingBackend) Lookup(context.Context, string) (authpolicy.Identity, error) {
	return authpolicy.Identity{}, nil
}

// TestGateBackendChallengeIsNotALogin: a back-end's challenge is no login
// decision for the lockout, the events or the metrics; its answer is.
func TestGateBackendChallengeIsNotALogin(t *testing.T) {
	engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"RADIUS": askingBackend{}},
		[]authpolicy.Service{{Name: "radius", Policy: "RADIUS"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[running]
	current.Store(&running{cfg: &config.Config{}, engine: engine, backends: &backends{}})
	g := &gate{current: &current, metrics: newMetrics(&current), lockout: lockout.New(lockout.Settings{Threshold: 2, Window: time.Minute, Duration: time.Hour}, nil, nil),
		log: slog.New(slog.DiscardHandler)}
	var res *authpolicy.Result
	for range 3 {
		res, err = g.authenticate(authpolicy.WithChallenge(context.Background()), "radius", "radius", plain("carol", "pw"))
		if err != nil || res.Accepted || res.BackendChallenge == nil {
			t.Fatalf("first round: %v %+v", err, res)
		}
	}
	if locked, _ := g.lockout.Check("carol", time.Now()); locked {
		t.Fatal("back-end challenges counted as failed logins")
	}
	if res, _ := g.authenticate(authpolicy.WithResume(context.Background(), res.BackendChallenge), "radius", "radius", plain("carol", "424242")); !res.Accepted {
		t.Fatalf("answer: %s", res.Reason())
	}
}
