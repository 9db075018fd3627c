package radiusd_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
	"github.com/gatehouse-vpn/gatehouse/server/radius/radiusd"
)

// challengeRig is a front door over a real engine, policy "Password and
// OATH": alice's password is "pw-secret", her codes 111111 to 444444.
type challengeRig struct {
	s              *radiusd.Server
	on             atomic.Bool
	calls          atomic.Int32
	password, oath *memory.Backend
	logs           bytes.Buffer
	engine         *authpolicy.Engine
}

func newChallengeRig(t testing.TB, cfg radiusd.ChallengeConfig) *challengeRig {
	t.Helper()
	r := &challengeRig{}
	password := memory.New(memory.Options{})
	r.password = password
	password.SetUser("alice", memory.User{Secrets: []string{"pw-secret"}})
	password.SetUser("bob", memory.User{Secrets: []string{"bob-secret"}})
	r.oath = memory.New(memory.Options{Capabilities: authpolicy.CapFragments | authpolicy.CapVerifyPlaintext, Lengths: []int{6}, OneTime: true})
	r.oath.SetUser("alice", memory.User{Secrets: []string{"111111", "222222", "333333", "444444"}})
	r.oath.SetUser("bob", memory.User{Secrets: []string{"555555"}})
	var err error
	r.engine, err = authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": password, "OATH": r.oath},
		[]authpolicy.Service{{Name: "radius", Policy: "Password and OATH"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.on.Store(true)
	cfg.Enabled = r.on.Load
	r.s, err = radiusd.New(radiusd.Config{
		Clients:                     []radiusd.Client{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: secret}},
		RequireMessageAuthenticator: true,
		Challenge:                   cfg,
	}, func(ctx context.Context, c authpolicy.Credential) (*authpolicy.Result, error) {
		r.calls.Add(1)
		return r.engine.Authenticate(ctx, "radius", c)
	}, slog.New(slog.NewJSONHandler(&r.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pap is a PAP Access-Request; state, when set, is its State; more adds
// attributes.
func pap(t testing.TB, user, pw string, state []byte, more ...func(*lr.Packet)) []byte {
	t.Helper()
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, user)
	if state != nil {
		_ = rfc2865.State_Set(p, state)
	}
	for _, m := range more {
		m(p)
	}
	b, _, err := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte(pw)}, secret)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *challengeRig) send(t testing.TB, req []byte, from netip.AddrPort) *radclient.Response {
	t.Helper()
	resp := answer(t, req, r.s.Handle(context.Background(), req, from))
	if resp == nil {
		t.Fatal("no answer")
	}
	return resp
}

// challenge runs a first round that must end in an Access-Challenge and
// returns its State.
func (r *challengeRig) challenge(t testing.TB, user, pw string, from netip.AddrPort, more ...func(*lr.Packet)) []byte {
	t.Helper()
	resp := r.send(t, pap(t, user, pw, nil, more...), from)
	if resp.Code != lr.CodeAccessChallenge {
		t.Fatalf("%s/%s: %v (%s), want Access-Challenge", user, pw, resp.Code, rfc2865.ReplyMessage_GetString(resp.Packet))
	}
	return rfc2865.State_Get(resp.Packet)
}

func nasID(id string) func(*lr.Packet) {
	return func(p *lr.Packet) { _ = rfc2865.NASIdentifier_SetString(p, id) }
}

// TestChallengeRounds: the password alone gets an Access-Challenge (State
// of 16 bytes, the prompt, signed); the State with the code logs in; the
// State again, and the same code typed anew, are rejected; nothing of the
// password reaches the log.
func TestChallengeRounds(t *testing.T) {
	r := newChallengeRig(t, radiusd.ChallengeConfig{})
	first := pap(t, "alice", "pw-secret", nil, nasID("vpn-1"))
	resp := r.send(t, first, nas)
	if resp.Code != lr.CodeAccessChallenge {
		t.Fatalf("first round: %v", resp.Code)
	}
	state := rfc2865.State_Get(resp.Packet)
	if len(state) != radiusd.StateLen || rfc2865.ReplyMessage_GetString(resp.Packet) != radiusd.DefaultChallengeMessage {
		t.Errorf("State %x, Reply-Message %q", state, rfc2865.ReplyMessage_GetString(resp.Packet))
	}
	// A retransmission of the first round is the same challenge.
	if again := r.send(t, first, nas); !bytes.Equal(rfc2865.State_Get(again.Packet), state) || r.s.Stats().ChallengesPending != 1 {
		t.Errorf("retransmission: State %x, %d pending", rfc2865.State_Get(again.Packet), r.s.Stats().ChallengesPending)
	}
	if n := r.oath.CallsOf("Commit"); n != 0 {
		t.Errorf("the first round committed %d codes", n)
	}
	resp = r.send(t, pap(t, "alice", "111111", state, nasID("vpn-1")), nas)
	if resp.Code != lr.CodeAccessAccept {
		t.Fatalf("second round: %v %s", resp.Code, rfc2865.ReplyMessage_GetString(resp.Packet))
	}
	// Replayed: the State is good once, whatever the code.
	resp = r.send(t, pap(t, "alice", "222222", state, nasID("vpn-1")), nas)
	if resp.Code != lr.CodeAccessReject {
		t.Fatalf("replayed State: %v", resp.Code)
	}
	// The one-line form still works, and the used code stays used.
	if resp := r.send(t, pap(t, "alice", "pw-secret111111", nil), nas); resp.Code != lr.CodeAccessReject {
		t.Errorf("the used code typed on one line: %v", resp.Code)
	}
	if resp := r.send(t, pap(t, "alice", "pw-secret222222", nil), nas); resp.Code != lr.CodeAccessAccept {
		t.Errorf("password+code on one line: %v", resp.Code)
	}
	st := r.s.Stats()
	if st.Challenges != 1 || st.ChallengeAnswers != 1 || st.StateReplayed != 1 || st.Accepts != 2 || st.Rejects != 2 || st.ChallengesPending != 0 {
		t.Errorf("stats %+v", st)
	}
	logs := r.logs.String()
	for _, want := range []string{`"msg":"RADIUS login needs a one-time code: Access-Challenge sent"`, `"branch":"Password and OATH"`,
		`"reason":"State already used: a replayed answer to an Access-Challenge"`, `"msg":"RADIUS login accepted"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "pw-secret") || strings.Contains(logs, "111111") {
		t.Errorf("a secret in the log:\n%s", logs)
	}
}

// TestChallengeForeignState: a State of another user, of another NAS
// (address, NAS-Identifier, NAS-IP-Address), unknown or expired gets
// Access-Reject; the right answer still works after the wrong ones.
func TestChallengeForeignState(t *testing.T) {
	r := newChallengeRig(t, radiusd.ChallengeConfig{})
	state := r.challenge(t, "alice", "pw-secret", nas, nasID("vpn-1"))
	other := netip.MustParseAddrPort("10.9.9.9:40000")
	sameAddrOtherPort := netip.AddrPortFrom(nas.Addr(), 40001)
	for _, tc := range []struct {
		name string
		req  []byte
		from netip.AddrPort
	}{
		{"other user", pap(t, "bob", "111111", state, nasID("vpn-1")), nas},
		{"other NAS address", pap(t, "alice", "111111", state, nasID("vpn-1")), other},
		{"other NAS-Identifier", pap(t, "alice", "111111", state, nasID("vpn-2")), nas},
		{"no NAS-Identifier", pap(t, "alice", "111111", state), nas},
		{"NAS-IP-Address added", pap(t, "alice", "111111", state, nasID("vpn-1"), func(p *lr.Packet) {
			_ = rfc2865.NASIPAddress_Set(p, netip.MustParseAddr("192.0.2.1").AsSlice())
		}), nas},
		{"unknown", pap(t, "alice", "111111", []byte("0123456789abcdef"), nasID("vpn-1")), nas},
	} {
		if resp := r.send(t, tc.req, tc.from); resp.Code != lr.CodeAccessReject {
			t.Errorf("%s: %v", tc.name, resp.Code)
		}
	}
	// Another source port of the same NAS is the same NAS.
	if resp := r.send(t, pap(t, "alice", "111111", state, nasID("vpn-1")), sameAddrOtherPort); resp.Code != lr.CodeAccessAccept {
		t.Fatalf("the right answer after the wrong ones: %v", resp.Code)
	}
	st := r.s.Stats()
	if st.StateOtherUser != 1 || st.StateOtherNAS != 4 || st.StateUnknown != 1 || st.Rejects != 6 {
		t.Errorf("stats %+v", st)
	}
	// Expired.
	short := newChallengeRig(t, radiusd.ChallengeConfig{Timeout: 50 * time.Millisecond})
	state = short.challenge(t, "alice", "pw-secret", nas)
	time.Sleep(100 * time.Millisecond)
	if resp := short.send(t, pap(t, "alice", "111111", state), nas); resp.Code != lr.CodeAccessReject {
		t.Fatalf("expired State: %v", resp.Code)
	}
	if st := short.s.Stats(); st.StateExpired != 1 || st.ChallengesExpired != 1 {
		t.Errorf("expired stats %+v", st)
	}
	if !strings.Contains(short.logs.String(), "State expired") {
		t.Errorf("log:\n%s", short.logs.String())
	}
	// Nothing was consumed by the refused answer: the code still works.
	if resp := short.send(t, pap(t, "alice", "pw-secret111111", nil), nas); resp.Code != lr.CodeAccessAccept {
		t.Errorf("the code of the expired answer, on one line: %v", resp.Code)
	}
}

// TestChallengeNotSent: a wrong password, an unknown user, MS-CHAPv2 and a
// service without challenge get the plain reject, exactly as before;
// without challenge an unknown State is ignored.
func TestChallengeNotSent(t *testing.T) {
	r := newChallengeRig(t, radiusd.ChallengeConfig{})
	for _, req := range [][]byte{pap(t, "alice", "wrong", nil), pap(t, "nobody", "pw-secret", nil)} {
		resp := r.send(t, req, nas)
		if resp.Code != lr.CodeAccessReject || rfc2865.State_Get(resp.Packet) != nil ||
			!strings.HasPrefix(rfc2865.ReplyMessage_GetString(resp.Packet), "Gatehouse rejected the login (ref ") {
			t.Errorf("%v %q", resp.Code, rfc2865.ReplyMessage_GetString(resp.Packet))
		}
	}
	var auth, peer [16]byte
	nt := mschapv2.GenerateNTResponse(auth, peer, "alice", mschapv2.NTHash("pw-secret"))
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, "alice")
	p.Add(rfc2865.VendorSpecific_Type, rfc2548.VSA(rfc2548.TypeCHAPChallenge, auth[:]))
	p.Add(rfc2865.VendorSpecific_Type, rfc2548.VSA(rfc2548.TypeCHAP2Response, append(append(append([]byte{9, 0}, peer[:]...), make([]byte, 8)...), nt[:]...)))
	ms, _, _ := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes}, secret)
	if resp := r.send(t, ms, nas); resp.Code != lr.CodeAccessReject {
		t.Errorf("MS-CHAPv2 with the password only: %v", resp.Code)
	}
	// An MS-CHAPv2 request cannot answer a challenge.
	state := r.challenge(t, "alice", "pw-secret", nas)
	p.Add(rfc2865.State_Type, state)
	ms, _, _ = radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes}, secret)
	if resp := r.send(t, ms, nas); resp.Code != lr.CodeAccessReject || !strings.Contains(rfc2865.ReplyMessage_GetString(resp.Packet), "User-Password") {
		t.Errorf("MS-CHAPv2 answer: %v %q", resp.Code, rfc2865.ReplyMessage_GetString(resp.Packet))
	}
	if st := r.s.Stats(); st.Challenges != 1 {
		t.Errorf("%d challenges, want 1", st.Challenges)
	}

	r.on.Store(false)
	if resp := r.send(t, pap(t, "alice", "pw-secret", nil), nas); resp.Code != lr.CodeAccessReject {
		t.Errorf("challenge off: %v", resp.Code)
	}
	if resp := r.send(t, pap(t, "alice", "pw-secret333333", []byte("someone else's State")), nas); resp.Code != lr.CodeAccessAccept {
		t.Errorf("challenge off, a foreign State: %v", resp.Code)
	}
	// A State this server issued is still checked, and good once.
	r.on.Store(true)
	state = r.challenge(t, "alice", "pw-secret", nas)
	r.on.Store(false)
	if resp := r.send(t, pap(t, "alice", "444444", state), nas); resp.Code != lr.CodeAccessAccept {
		t.Errorf("answer after challenge was turned off: %v", resp.Code)
	}
	if resp := r.send(t, pap(t, "alice", "444444", state), nas); resp.Code != lr.CodeAccessReject {
		t.Errorf("replay after challenge was turned off: %v", resp.Code)
	}
}

// TestChallengeLimits: past max_challenges a first round is rejected;
// past max_challenges_per_user the oldest State stops working. The
// configured prompt is sent, and Proxy-State echoed.
func TestChallengeLimits(t *testing.T) {
	r := newChallengeRig(t, radiusd.ChallengeConfig{MaxPending: 2, MaxPendingPerUser: 1, Message: "Code from your app"})
	s1 := r.challenge(t, "alice", "pw-secret", nas)
	resp := r.send(t, pap(t, "alice", "pw-secret", nil, func(p *lr.Packet) { p.Add(rfc2865.ProxyState_Type, lr.Attribute("px")) }), nas)
	s2 := rfc2865.State_Get(resp.Packet)
	if resp.Code != lr.CodeAccessChallenge || rfc2865.ReplyMessage_GetString(resp.Packet) != "Code from your app" || string(rfc2865.ProxyState_Get(resp.Packet)) != "px" {
		t.Fatalf("second challenge: %v %q %q", resp.Code, rfc2865.ReplyMessage_GetString(resp.Packet), rfc2865.ProxyState_Get(resp.Packet))
	}
	r.challenge(t, "bob", "bob-secret", nas)
	// The table is full (alice's newest, bob's): a third user is refused.
	r.password.SetUser("carol", memory.User{Secrets: []string{"carol-secret"}})
	r.oath.SetUser("carol", memory.User{Secrets: []string{"666666"}})
	if resp := r.send(t, pap(t, "carol", "carol-secret", nil), nas); resp.Code != lr.CodeAccessReject {
		t.Errorf("carol, with the table full: %v", resp.Code)
	}
	if !strings.Contains(r.logs.String(), "too many pending challenges (radius_server.max_challenges)") {
		t.Errorf("log:\n%s", r.logs.String())
	}
	if resp := r.send(t, pap(t, "alice", "111111", s1), nas); resp.Code != lr.CodeAccessReject {
		t.Errorf("replaced State: %v", resp.Code)
	}
	if resp := r.send(t, pap(t, "alice", "111111", s2), nas); resp.Code != lr.CodeAccessAccept {
		t.Errorf("newest State: %v", resp.Code)
	}
	st := r.s.Stats()
	if st.ChallengesReplaced != 1 || st.StateReplaced != 1 || st.ChallengesFull != 1 || st.ChallengesPending != 1 {
		t.Errorf("stats %+v", st)
	}
}
