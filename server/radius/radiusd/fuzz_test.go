package radiusd_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/server/radius/radiusd"
)

// FuzzHandle feeds arbitrary packets from a known client to the front
// door: it must never panic, and whatever it answers must be a reply that
// verifies against the request (Response Authenticator and
// Message-Authenticator).
func FuzzHandle(f *testing.F) {
	f.Add(request(f, "alice", "pw", true))
	f.Add(request(f, "alice", "bad", true))
	f.Add(request(f, "alice", "pw", false))
	ss, _, _ := radclient.Encode(&radclient.Request{Code: lr.CodeStatusServer}, secret)
	f.Add(ss)
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, "bob")
	b, _, _ := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes}, secret)
	f.Add(b)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s := newServer(t, &decider{})
		reply := s.Handle(context.Background(), pkt, nas)
		if reply == nil {
			return
		}
		if _, err := radclient.Verify(reply, pkt, secret, true); err != nil {
			t.Fatalf("reply does not verify: %v", err)
		}
	})
}

// FuzzChallengeState sends answers with arbitrary State values, user names
// and codes to a front door with a pending challenge for alice: none is
// accepted (a State the gateway did not issue, or issued to someone else,
// is a reject), none panics, every reply verifies, and alice's own State
// still works afterwards.
func FuzzChallengeState(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), "alice", "111111")
	f.Add([]byte{}, "alice", "111111")
	f.Add([]byte{0}, "bob", "")
	f.Add(bytes.Repeat([]byte{0xff}, 253), "alice", "pw-secret111111")
	r := newChallengeRig(f, radiusd.ChallengeConfig{Timeout: time.Hour})
	real := r.challenge(f, "alice", "pw-secret", nas)
	f.Fuzz(func(t *testing.T, state []byte, user, code string) {
		if len(state) > 253 {
			state = state[:253]
		}
		if len(user) == 0 || len(user) > 253 || len(code) > 128 || bytes.Equal(state, real) {
			return
		}
		req := pap(t, user, code, state)
		reply := r.s.Handle(context.Background(), req, nas)
		if reply == nil {
			t.Fatal("no answer")
		}
		resp, err := radclient.Verify(reply, req, secret, true)
		if err != nil {
			t.Fatalf("reply does not verify: %v", err)
		}
		if resp.Code != lr.CodeAccessReject {
			t.Fatalf("State %x for %q answered %v", state, user, resp.Code)
		}
	})
	if resp := r.send(f, pap(f, "alice", "111111", real), nas); resp.Code != lr.CodeAccessAccept {
		f.Errorf("alice's own State after the fuzzing: %v", resp.Code)
	}
}
