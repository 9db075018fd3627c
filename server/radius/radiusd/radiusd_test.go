package radiusd_test

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
	"github.com/gatehouse-vpn/gatehouse/server/radius/radiusd"
)

var (
	secret = []byte("nas-secret")
	nas    = netip.MustParseAddrPort("10.1.2.3:40000")
)

// decider accepts alice with "pw" and counts its calls.
type decider struct {
	calls   atomic.Int32
	station atomic.Value
}

func (d *decider) auth(_ context.Context, c authpolicy.Credential) (*authpolicy.Result, error) {
	d.calls.Add(1)
	d.station.Store(c.CallingStation)
	r := &authpolicy.Result{User: c.User, Kind: c.Kind}
	switch c.Kind {
	case authpolicy.Plaintext:
		r.Accepted = c.User == "alice" && c.Secret.Reveal() == "pw"
		r.Identity.Attributes = map[string][]string{"Filter-Id": {"from-backend"}, "Class": {"c1"}, "Framed-IP-Address": {"10.8.0.2"}, "Session-Timeout": {"60"}}
	case authpolicy.CHAPMD5:
		m := c.CHAPMD5
		r.Accepted = c.User == "alice" && authpolicy.CHAPMD5Sum(m.Identifier, []byte("pw"), m.Challenge) == m.Response
	case authpolicy.MSCHAPv2:
		h := mschapv2.NTHash("pw")
		m := c.MSCHAPv2
		if mschapv2.Verify(m.AuthenticatorChallenge, m.PeerChallenge, m.UserName, m.NTResponse, h) {
			r.Accepted = true
			r.AuthenticatorResponse = mschapv2.GenerateAuthenticatorResponse(h, m.NTResponse, m.PeerChallenge, m.AuthenticatorChallenge, m.UserName)
			s, rv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(h), m.NTResponse, true)
			r.Keys = &authpolicy.MPPEKeys{Send: s, Recv: rv}
		}
	}
	return r, nil
}

func newServer(t testing.TB, d *decider) *radiusd.Server {
	t.Helper()
	s, err := radiusd.New(radiusd.Config{
		Clients:                     []radiusd.Client{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: secret}},
		RequireMessageAuthenticator: true,
		Reply:                       map[string]string{"Filter-Id": "vpn"},
	}, d.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(t testing.TB, user string, pw string, sign bool) []byte {
	t.Helper()
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, user)
	b, _, err := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte(pw)}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !sign {
		b[len(b)-1] ^= 1 // spoil the Message-Authenticator (the last attribute)
	}
	return b
}

func answer(t testing.TB, req, reply []byte) *radclient.Response {
	t.Helper()
	if reply == nil {
		return nil
	}
	r, err := radclient.Verify(reply, req, secret, true)
	if err != nil {
		t.Fatalf("reply does not verify: %v", err)
	}
	return r
}

func TestHandle(t *testing.T) {
	d := &decider{}
	s := newServer(t, d)
	ctx := context.Background()

	req := request(t, "alice", "pw", true)
	r := answer(t, req, s.Handle(ctx, req, nas))
	if r == nil || r.Code != lr.CodeAccessAccept || rfc2865.FilterID_GetString(r.Packet) != "vpn" {
		t.Fatalf("alice/pw: %+v", r)
	}
	// The configured Filter-Id wins; the back-end's Class, address and
	// Session-Timeout are passed on.
	if fids, _ := rfc2865.FilterID_Gets(r.Packet); len(fids) != 1 || rfc2865.Class_GetString(r.Packet) != "c1" ||
		rfc2865.FramedIPAddress_Get(r.Packet).String() != "10.8.0.2" || rfc2865.SessionTimeout_Get(r.Packet) != 60 {
		t.Errorf("identity attributes not passed on: %v", r.Packet.Attributes)
	}
	// A retransmission is answered from the cache, not decided again.
	if r2 := answer(t, req, s.Handle(ctx, req, nas)); r2 == nil || r2.Code != lr.CodeAccessAccept || d.calls.Load() != 1 {
		t.Errorf("duplicate: reply %v, %d decisions", r2, d.calls.Load())
	}
	req = request(t, "alice", "bad", true)
	r = answer(t, req, s.Handle(ctx, req, nas))
	if r == nil || r.Code != lr.CodeAccessReject || !strings.HasPrefix(rfc2865.ReplyMessage_GetString(r.Packet), "Gatehouse rejected the login (ref ") {
		t.Errorf("alice/bad: %+v", r)
	}
	if reply := s.Handle(ctx, request(t, "alice", "pw", false), nas); reply != nil {
		t.Error("spoilt Message-Authenticator answered")
	}
	if reply := s.Handle(ctx, request(t, "alice", "pw", true), netip.MustParseAddrPort("192.0.2.1:1")); reply != nil {
		t.Error("unknown client answered")
	}
	// Proxy-State comes back unmodified, in order.
	ps := &lr.Packet{}
	rfc2865.UserName_SetString(ps, "alice")
	ps.Add(rfc2865.ProxyState_Type, lr.Attribute("one"))
	ps.Add(rfc2865.ProxyState_Type, lr.Attribute("two"))
	preq, _, _ := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: ps.Attributes, UserPassword: []byte("bad")}, secret)
	if r := answer(t, preq, s.Handle(ctx, preq, nas)); r == nil || len(r.Packet.Attributes) < 2 {
		t.Errorf("Proxy-State: %+v", r)
	} else if got, _ := rfc2865.ProxyState_Gets(r.Packet); len(got) != 2 || string(got[0]) != "one" || string(got[1]) != "two" {
		t.Errorf("Proxy-State not echoed: %q", got)
	}
	// Status-Server.
	ss, _, _ := radclient.Encode(&radclient.Request{Code: lr.CodeStatusServer}, secret)
	if r := answer(t, ss, s.Handle(ctx, ss, nas)); r == nil || r.Code != lr.CodeAccessAccept {
		t.Errorf("Status-Server: %+v", r)
	}
	st := s.Stats()
	if st.Accepts != 1 || st.Rejects != 2 || st.Duplicates != 1 || st.UnknownClient != 1 || st.BadMessageAuthenticator != 1 || st.StatusServer != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHandleMSCHAPv2(t *testing.T) {
	d := &decider{}
	s := newServer(t, d)
	var auth, peer [16]byte
	auth[0], peer[0] = 1, 2
	nt := mschapv2.GenerateNTResponse(auth, peer, "alice", mschapv2.NTHash("pw"))
	resp := append(append(append([]byte{9, 0}, peer[:]...), make([]byte, 8)...), nt[:]...)
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, `CORP\alice`)
	rfc2865.CallingStationID_SetString(p, "198.51.100.9")
	p.Add(rfc2865.VendorSpecific_Type, rfc2548.VSA(rfc2548.TypeCHAPChallenge, auth[:]))
	p.Add(rfc2865.VendorSpecific_Type, rfc2548.VSA(rfc2548.TypeCHAP2Response, resp))
	req, _, err := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes}, secret)
	if err != nil {
		t.Fatal(err)
	}
	r := answer(t, req, s.Handle(context.Background(), req, nas))
	if r == nil || r.Code != lr.CodeAccessAccept {
		t.Fatalf("MS-CHAPv2: %+v", r)
	}
	if got := d.station.Load(); got != "198.51.100.9" {
		t.Errorf("Calling-Station-Id not handed to the engine: %v", got)
	}
	// The back-end plugin's reader decodes what the front door wrote.
	var vs [][]byte
	for _, a := range r.Attributes {
		if a.Type == rfc2865.VendorSpecific_Type {
			vs = append(vs, a.Attribute)
		}
	}
	succ, _ := rfc2548.Lookup(vs, rfc2548.TypeCHAP2Success)
	id, ar, err := rfc2548.ParseCHAP2Success(succ)
	h := mschapv2.NTHash("pw")
	if err != nil || id != 9 || ar != mschapv2.GenerateAuthenticatorResponse(h, nt, peer, auth, "alice") {
		t.Errorf("MS-CHAP2-Success %q %d %v", ar, id, err)
	}
	var ra [16]byte
	copy(ra[:], req[4:20])
	sendV, _ := rfc2548.Lookup(vs, rfc2548.TypeMPPESendKey)
	send, err := rfc2548.DecryptKey(sendV, secret, ra)
	want, _ := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(h), nt, true)
	if err != nil || send != want {
		t.Errorf("MS-MPPE-Send-Key: %v", err)
	}
}

func TestReplyAttributes(t *testing.T) {
	if _, err := radiusd.ReplyAttributes(map[string]string{"Filter-Id": "x", "Session-Timeout": "60"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []map[string]string{{"Session-Timeout": "soon"}, {"Framed-Pool": "x"}} {
		if _, err := radiusd.ReplyAttributes(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// chapRequest is an Access-Request with CHAP-Password over an explicit
// CHAP-Challenge.
func chapRequest(t testing.TB, pw string, value []byte) []byte {
	t.Helper()
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, "alice")
	challenge := []byte("0123456789abcdef")
	sum := authpolicy.CHAPMD5Sum(9, []byte(pw), challenge)
	if value == nil {
		value = append([]byte{9}, sum[:]...)
	}
	_ = rfc2865.CHAPPassword_Add(p, value)
	_ = rfc2865.CHAPChallenge_Add(p, challenge)
	b, _, err := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes}, secret)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CHAP-Password is refused unless Config.CHAP is on, and then decided like
// any login; FreeRADIUS's radclient checks the Request Authenticator case
// (cmd/gatehouse).
func TestHandleCHAP(t *testing.T) {
	ctx := context.Background()
	d := &decider{}
	off := newServer(t, d)
	req := chapRequest(t, "pw", nil)
	r := answer(t, req, off.Handle(ctx, req, nas))
	if r == nil || r.Code != lr.CodeAccessReject || !strings.Contains(rfc2865.ReplyMessage_GetString(r.Packet), "radius_server.chap") || d.calls.Load() != 0 {
		t.Fatalf("CHAP while off: %+v, %d decisions", r, d.calls.Load())
	}
	on, err := radiusd.New(radiusd.Config{
		Clients:                     []radiusd.Client{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: secret}},
		RequireMessageAuthenticator: true, CHAP: true,
	}, d.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		req   []byte
		code  lr.Code
		calls int32
	}{
		{"right", chapRequest(t, "pw", nil), lr.CodeAccessAccept, 1},
		{"wrong", chapRequest(t, "bad", nil), lr.CodeAccessReject, 2},
		{"malformed", chapRequest(t, "pw", []byte{9, 1, 2}), lr.CodeAccessReject, 2},
	} {
		r := answer(t, c.req, on.Handle(ctx, c.req, nas))
		if r == nil || r.Code != c.code || d.calls.Load() != c.calls {
			t.Errorf("%s: %+v, %d decisions", c.name, r, d.calls.Load())
		}
	}
}
