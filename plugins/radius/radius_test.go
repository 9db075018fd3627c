package radius_test

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
	"github.com/gatehouse-vpn/gatehouse/plugins/radius"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

var users = []radiuspeer.User{
	{Name: "alice", Password: "password"},
	{Name: "bob", Password: "bobpass", Reply: []string{`Filter-Id := "vpn-users"`, `Framed-IP-Address := 10.8.0.2`, `Class := "bob-class"`, `Session-Timeout := 3600`}},
	{Name: "mallory", Reject: true, Reply: []string{`Reply-Message := "Account disabled"`}},
	{Name: "dora", Password: "dorapass", Check: []string{`SMB-Account-CTRL-TEXT := "[UL]"`}},
}

func configure(t *testing.T, opts map[string]string) *radius.Backend {
	t.Helper()
	b := radius.New(nil)
	if err := b.Configure(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFreeRADIUSPAP(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: users})
	b := configure(t, map[string]string{"servers": srv.AuthAddr, "secret_file": srv.SecretFile, "timeout": "1s"})
	ctx := context.Background()
	for _, c := range []struct {
		user, pw string
		ok       bool
		reason   string
	}{
		{"alice", "password", true, ""},
		{"alice", "wrong", false, "rejected"},
		{"bob", "bobpass", true, ""},
		{"mallory", "password", false, "Account disabled"},
		{"nobody", "x", false, "rejected"},
	} {
		v, err := b.VerifyPlaintext(ctx, c.user, c.pw)
		if err != nil {
			t.Fatalf("%s: %v", c.user, err)
		}
		if v.OK != c.ok || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s/%s: got %+v, want ok=%t reason ~ %q", c.user, c.pw, v, c.ok, c.reason)
		}
	}
	// What FreeRADIUS received: the NAS attributes and a Message-Authenticator.
	detail := radiuspeer.ParseDetail(readFile(t, srv.AuthDetail))
	if len(detail) == 0 {
		t.Fatal("auth-detail is empty")
	}
	r := detail[0]
	for k, want := range map[string]string{"NAS-Identifier": "gatehouse", "NAS-Port-Type": "Virtual", "Service-Type": "Framed-User", "Framed-Protocol": "PPP"} {
		if got := r[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}
	if len(r["Message-Authenticator"]) != 1 {
		t.Errorf("no Message-Authenticator in %v", r)
	}
}

func TestFreeRADIUSAuthorization(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: users})
	c := radclient.New(radclient.Config{Servers: []radclient.Server{{Addr: srv.AuthAddr, Secret: radclient.Secret(srv.Secret)}}}, nil)
	p := &lr.Packet{}
	p.Add(1, lr.Attribute("bob"))
	resp, err := c.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte("bobpass")})
	if err != nil {
		t.Fatal(err)
	}
	a := radius.ParseAuthorization(resp.Packet)
	if a.FilterID != "vpn-users" || a.FramedIP.String() != "10.8.0.2" || len(a.Class) != 1 || string(a.Class[0]) != "bob-class" || a.SessionTimeout != time.Hour {
		t.Errorf("authorization %+v", a)
	}
	if got := a.Attributes()["Session-Timeout"]; len(got) != 1 || got[0] != "3600" {
		t.Errorf("Attributes() = %v", a.Attributes())
	}
	if got := a.Attributes()["Filter-Id"]; len(got) != 1 || got[0] != "vpn-users" {
		t.Errorf("Attributes() = %v", a.Attributes())
	}
}

func mschapRequest(user, password string) (sdk.MSCHAPv2Request, [24]byte) {
	var r sdk.MSCHAPv2Request
	_, _ = rand.Read(r.AuthenticatorChallenge[:])
	_, _ = rand.Read(r.PeerChallenge[:])
	r.UserName = user
	r.NTResponse = mschapv2.GenerateNTResponse(r.AuthenticatorChallenge, r.PeerChallenge, user, mschapv2.NTHash(password))
	return r, r.NTResponse
}

func TestFreeRADIUSMSCHAPv2(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: users})
	b := configure(t, map[string]string{"servers": srv.AuthAddr, "secret_file": srv.SecretFile})
	ctx := context.Background()

	r, nt := mschapRequest("alice", "password")
	v, err := b.VerifyMSCHAPv2(ctx, "alice", r)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("alice rejected: %s", v.Reason)
	}
	hash := mschapv2.NTHash("password")
	if want := mschapv2.GenerateAuthenticatorResponse(hash, nt, r.PeerChallenge, r.AuthenticatorChallenge, "alice"); v.AuthenticatorResponse != want {
		t.Errorf("authenticator response %s, want %s", v.AuthenticatorResponse, want)
	}
	// RFC 3079: the server's send key is the NAS's MS-MPPE-Send-Key.
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(hash), nt, true)
	if v.SendKey == nil || v.RecvKey == nil || *v.SendKey != send || *v.RecvKey != recv {
		t.Errorf("MPPE keys from FreeRADIUS differ from RFC 3079's")
	}

	r, _ = mschapRequest("alice", "wrong")
	v, err = b.VerifyMSCHAPv2(ctx, "alice", r)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || !strings.Contains(v.Reason, "691") || v.MSCHAPError != 691 {
		t.Errorf("wrong password: %+v (MS-CHAP error %d)", v, v.MSCHAPError)
	}
	// A locked account ([L]): FreeRADIUS's mschap answers E=647.
	r, _ = mschapRequest("dora", "dorapass")
	v, err = b.VerifyMSCHAPv2(ctx, "dora", r)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || v.MSCHAPError != 647 || !strings.Contains(v.Reason, "disabled") {
		t.Errorf("disabled account: %+v (MS-CHAP error %d)", v, v.MSCHAPError)
	}
}

// TestFailover stops the first of two servers: logins go to the second,
// the first is marked dead after dead_after timeouts, and once it runs
// again a Status-Server probe brings it back.
func TestFailover(t *testing.T) {
	a := radiuspeer.Start(t, radiuspeer.Options{Users: users})
	b := radiuspeer.Start(t, radiuspeer.Options{Users: users})
	c := radclient.New(radclient.Config{
		Servers: []radclient.Server{
			{Addr: a.AuthAddr, Secret: radclient.Secret(a.Secret)},
			{Addr: b.AuthAddr, Secret: radclient.Secret(b.Secret)},
		},
		Timeout: 200 * time.Millisecond, Retries: -1, DeadAfter: 2, ProbeInterval: 100 * time.Millisecond,
	}, nil)
	login := func() *radclient.Response {
		t.Helper()
		p := &lr.Packet{}
		p.Add(1, lr.Attribute("alice"))
		resp, err := c.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte("password")})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != lr.CodeAccessAccept {
			t.Fatalf("got %v", resp.Code)
		}
		return resp
	}
	if got := login().Server; got != a.AuthAddr {
		t.Fatalf("first login answered by %s, want the first server", got)
	}
	a.Stop()
	for i := range 2 {
		if c.Dead(a.AuthAddr) {
			t.Fatalf("first server marked dead after %d failures, want 2", i)
		}
		if got := login().Server; got != b.AuthAddr {
			t.Fatalf("login %d answered by %s, want the second server", i, got)
		}
	}
	if !c.Dead(a.AuthAddr) {
		t.Fatal("first server not marked dead after 2 timeouts")
	}
	start := time.Now()
	login()
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("login took %v while the first server is dead: it should be skipped", d)
	}
	a.Start()
	deadline := time.Now().Add(5 * time.Second)
	for c.Dead(a.AuthAddr) {
		if time.Now().After(deadline) {
			t.Fatal("restarted server never probed back into service")
		}
		login() // triggers the background probe
		time.Sleep(50 * time.Millisecond)
	}
	if got := login().Server; got != a.AuthAddr {
		t.Errorf("after the probe, answered by %s, want the first server again", got)
	}
}

// fakeServer answers every Access-Request with an Access-Accept signed by
// sign (which gets the reply bytes with a Message-Authenticator attribute,
// the request and the secret).
func fakeServer(t *testing.T, secret []byte, sign func(reply, req []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := lr.Parse(buf[:n], secret)
			if err != nil {
				continue
			}
			resp := req.Response(lr.CodeAccessAccept)
			resp.Add(rfc3579.Type, make([]byte, 16))
			b, _ := resp.MarshalBinary()
			b = sign(b, buf[:n])
			_, _ = pc.WriteTo(b, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// responseAuth fills in the Response Authenticator (RFC 2865 section 3).
func responseAuth(b, req, secret []byte) {
	p, _ := lr.Parse(b, secret)
	copy(p.Authenticator[:], req[4:20])
	e, _ := p.Encode()
	copy(b[4:20], e[4:20])
}

func TestBrokenMessageAuthenticatorRefused(t *testing.T) {
	secret := []byte("s3cret")
	var reqAuth [16]byte
	cases := []struct {
		name         string
		sign         func(b, req []byte) []byte
		allowMissing bool
		ok           bool
	}{
		{"valid", func(b, req []byte) []byte {
			copy(reqAuth[:], req[4:20])
			_ = rfc3579.Sign(b, secret, &reqAuth)
			responseAuth(b, req, secret)
			return b
		}, false, true},
		{"broken", func(b, req []byte) []byte {
			copy(reqAuth[:], req[4:20])
			_ = rfc3579.Sign(b, secret, &reqAuth)
			off, _ := rfc3579.Find(b)
			b[off] ^= 1
			responseAuth(b, req, secret) // the MD5 authenticator is right
			return b
		}, false, false},
		{"missing", stripMA(secret), false, false},
		{"missing but allowed", stripMA(secret), true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := fakeServer(t, secret, c.sign)
			cl := radclient.New(radclient.Config{
				Servers: []radclient.Server{{Addr: addr, Secret: secret}},
				Timeout: 150 * time.Millisecond, Retries: -1, AllowMissingMessageAuthenticator: c.allowMissing,
			}, nil)
			resp, err := cl.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest, UserPassword: []byte("x")})
			if c.ok {
				if err != nil || resp.Code != lr.CodeAccessAccept {
					t.Fatalf("refused a good reply: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted a reply it must refuse")
			}
			if !strings.Contains(err.Error(), "Message-Authenticator") {
				t.Errorf("error does not say why: %v", err)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		err  string
	}{
		{map[string]string{"servers": "127.0.0.1:1812", "secret": "x"}, ""},
		{map[string]string{"servers": "127.0.0.1", "secret": "x"}, "servers"},
		{map[string]string{"servers": "127.0.0.1:1812"}, "no shared secret"},
		{map[string]string{"servers": "127.0.0.1:1812", "secret": "x", "secret_file": "y"}, "not both"},
		{map[string]string{"servers": "127.0.0.1:1812", "secret_file": "/nonexistent"}, "secret_file"},
		{map[string]string{"servers": "127.0.0.1:1812", "secret": "x", "timeout": "soon"}, "timeout"},
		{map[string]string{"servers": "127.0.0.1:1812", "secret": "x", "require_message_authenticator": "maybe"}, "require_message_authenticator"},
	} {
		_, _, err := radius.ParseOptions(c.opts)
		if (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: error %v, want ~%q", c.opts, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), "x") && c.opts["secret"] == "x" && strings.Contains(err.Error(), `"x"`) {
			t.Errorf("error reveals the secret: %v", err)
		}
	}
}

// stripMA drops the (last) Message-Authenticator attribute and signs the
// reply with a correct Response Authenticator only.
func stripMA(secret []byte) func(b, req []byte) []byte {
	return func(b, req []byte) []byte {
		b = b[:len(b)-rfc3579.Len]
		b[2], b[3] = byte(len(b)>>8), byte(len(b))
		responseAuth(b, req, secret)
		return b
	}
}

// TestUpstreamChallengeRefused: an Access-Challenge from the server (a
// second prompt, an OTP server asking for the code) is a reject whose
// reason says that challenges are not passed on.
func TestUpstreamChallengeRefused(t *testing.T) {
	secret := []byte("s3cret")
	addr := fakeServer(t, secret, func(b, req []byte) []byte {
		b[0] = byte(lr.CodeAccessChallenge)
		var reqAuth [16]byte
		copy(reqAuth[:], req[4:20])
		_ = rfc3579.Sign(b, secret, &reqAuth)
		responseAuth(b, req, secret)
		return b
	})
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	b := configure(t, map[string]string{"servers": addr, "secret_file": file, "timeout": "1s", "retries": "0"})
	v, err := b.VerifyPlaintext(context.Background(), "alice", "password")
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || !strings.Contains(v.Reason, "sent an Access-Challenge") || !strings.Contains(v.Reason, "cannot answer") {
		t.Errorf("verdict %+v", v)
	}
}
