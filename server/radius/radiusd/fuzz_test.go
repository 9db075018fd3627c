package radiusd_test

import (
	"context"
	"testing"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
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
