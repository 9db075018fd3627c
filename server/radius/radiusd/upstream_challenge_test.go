package radiusd_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/radius/radiusd"
)

// upstreamCont is the continuation of upstreamBackend's challenges: it
// must never reach the NAS.
const upstreamCont = "UPSTREAM-STATE-0123456789"

// upstreamBackend is a back-end behind which a RADIUS server challenges:
// carol's "pw" gets "Code?", whose answer "424242" is accepted; erin is
// challenged for ever. It records the continuations it is handed.
type upstreamBackend struct {
	mu    sync.Mutex
	conts []string
}

func (*upstreamBackend) Info() authpolicy.Info {
	return authpolicy.Info{Capabilities: authpolicy.CapVerifyPlaintext, NothingToCommit: true}
}
func (*upstreamBackend) Fragments(context.Context, string) ([]authpolicy.Fragment, error) {
	return nil, nil
}
func (u *upstreamBackend) VerifyPlaintext(ctx context.Context, user string, secret authpolicy.Secret) (authpolicy.Verdict, error) {
	cont := string(authpolicy.Continuation(ctx))
	u.mu.Lock()
	u.conts = append(u.conts, cont)
	u.mu.Unlock()
	ask := authpolicy.Verdict{Reason: "upstream asks", Challenge: &authpolicy.BackendChallenge{Message: "Code?\n", Continuation: []byte(upstreamCont)}}
	switch {
	case !authpolicy.BackendChallengeAllowed(ctx) && (user == "erin" || cont == "" && secret.Reveal() == "pw"):
		return authpolicy.Verdict{Reason: "upstream asks, and this login cannot answer"}, nil
	case user == "erin":
		return ask, nil
	case cont == "" && secret.Reveal() == "pw":
		return ask, nil
	case cont == upstreamCont && secret.Reveal() == "424242":
		return authpolicy.Verdict{OK: true}, nil
	}
	return authpolicy.Verdict{Reason: "wrong"}, nil
}
func (*upstreamBackend) VerifyMSCHAPv2(context.Context, string, *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	return authpolicy.MSCHAPv2Verdict{}, nil
}
func (*upstreamBackend) Commit(context.Context, string, string) error { return nil }
func (*upstreamBackend) Lookup(context.Context, string) (authpolicy.Identity, error) {
	return authpolicy.Identity{}, nil
}

func newUpstreamRig(t *testing.T) (*radiusd.Server, *atomic.Bool, *upstreamBackend, *bytes.Buffer) {
	t.Helper()
	u := &upstreamBackend{}
	engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"RADIUS": u},
		[]authpolicy.Service{{Name: "radius", Policy: "RADIUS"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	on := &atomic.Bool{}
	on.Store(true)
	logs := &bytes.Buffer{}
	s, err := radiusd.New(radiusd.Config{
		Clients:                     []radiusd.Client{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: secret}},
		RequireMessageAuthenticator: true,
		Challenge:                   radiusd.ChallengeConfig{Enabled: on.Load},
	}, func(ctx context.Context, c authpolicy.Credential) (*authpolicy.Result, error) {
		return engine.Authenticate(ctx, "radius", c)
	}, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s, on, u, logs
}

// TestUpstreamChallenge: a back-end's challenge reaches the NAS as an
// Access-Challenge with the back-end's prompt (made printable) and a State
// of the front door's own, never the continuation; the answer with that
// State goes to the back-end with the continuation; a State is good once;
// a back-end that challenges for ever gets MaxUpstreamRounds rounds.
func TestUpstreamChallenge(t *testing.T) {
	s, on, u, logs := newUpstreamRig(t)
	send := func(req []byte) *lr.Packet {
		t.Helper()
		reply := s.Handle(context.Background(), req, nas)
		if bytes.Contains(reply, []byte(upstreamCont)) {
			t.Fatal("the continuation reached the NAS")
		}
		return answer(t, req, reply).Packet
	}
	challenge := func(user, pw string, state []byte) []byte {
		t.Helper()
		p := send(pap(t, user, pw, state))
		if p.Code != lr.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(p) != "Code?" {
			t.Fatalf("%s/%s: %v %q, want Access-Challenge \"Code?\"", user, pw, p.Code, rfc2865.ReplyMessage_GetString(p))
		}
		st := rfc2865.State_Get(p)
		if len(st) != radiusd.StateLen {
			t.Fatalf("State %x", st)
		}
		return st
	}

	state := challenge("carol", "pw", nil)
	if p := send(pap(t, "carol", "424242", state)); p.Code != lr.CodeAccessAccept {
		t.Fatalf("answer: %v %s", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	if u.conts[len(u.conts)-1] != upstreamCont {
		t.Errorf("the answer came with continuation %q", u.conts[len(u.conts)-1])
	}
	if p := send(pap(t, "carol", "424242", state)); p.Code != lr.CodeAccessReject {
		t.Errorf("replayed: %v", p.Code)
	}
	state = challenge("carol", "pw", nil)
	if p := send(pap(t, "carol", "000000", state)); p.Code != lr.CodeAccessReject {
		t.Errorf("wrong answer: %v", p.Code)
	}
	if p := send(pap(t, "carol", "424242", []byte(upstreamCont))); p.Code != lr.CodeAccessReject {
		t.Errorf("the upstream's State: %v", p.Code)
	}

	state = challenge("erin", "x", nil)
	for range radiusd.MaxUpstreamRounds - 1 {
		state = challenge("erin", "x", state)
	}
	if p := send(pap(t, "erin", "x", state)); p.Code != lr.CodeAccessReject {
		t.Errorf("round %d: %v", radiusd.MaxUpstreamRounds+1, p.Code)
	}
	if st := s.Stats(); st.ChallengesPending != 0 {
		t.Errorf("%d pending", st.ChallengesPending)
	}

	// Challenges off: the back-end's refusal.
	on.Store(false)
	if p := send(pap(t, "carol", "pw", nil)); p.Code != lr.CodeAccessReject || rfc2865.State_Get(p) != nil {
		t.Errorf("challenges off: %v", p.Code)
	}
	if text := logs.String(); strings.Contains(text, upstreamCont) || strings.Contains(text, "424242") ||
		!strings.Contains(text, `"msg":"RADIUS login challenged by a back-end: Access-Challenge sent"`) {
		t.Errorf("log:\n%s", text)
	}
}
