package radclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
)

func TestEncodeAccounting(t *testing.T) {
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, "alice")
	b, _, err := radclient.Encode(&radclient.Request{Code: lr.CodeAccountingRequest, Attributes: p.Attributes}, []byte("s"))
	if err != nil {
		t.Fatal(err)
	}
	if !lr.IsAuthenticRequest(b, []byte("s")) {
		t.Error("Accounting-Request Authenticator wrong (RFC 2866 section 3)")
	}
	if err := rfc3579.Verify(b, []byte("s"), &[16]byte{}); err != nil {
		t.Errorf("Message-Authenticator: %v", err)
	}
}

func TestSecretRedacted(t *testing.T) {
	s := radclient.Secret("hunter2")
	for _, f := range []string{"%v", "%s", "%q", "%x", "%#v", "%+v"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, "hunter2") || strings.Contains(out, "68756e74657232") {
			t.Errorf("%s prints the secret: %s", f, out)
		}
	}
	if out := fmt.Sprintf("%v", radclient.Server{Addr: "a", Secret: s}); strings.Contains(out, "hunter2") {
		t.Errorf("Server prints the secret: %s", out)
	}
}

// FuzzVerify: reply checking never panics, and never accepts a reply that
// is not signed with the secret.
func FuzzVerify(f *testing.F) {
	req, _, _ := radclient.Encode(&radclient.Request{Code: lr.CodeAccessRequest, UserPassword: []byte("x")}, []byte("s"))
	f.Add([]byte{2, req[1], 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(append([]byte{2, req[1], 0, 38}, make([]byte, 34)...))
	f.Fuzz(func(t *testing.T, reply []byte) {
		r, err := radclient.Verify(reply, req, []byte("s"), true)
		if err == nil && !lr.IsAuthenticResponse(reply, req, []byte("s")) {
			t.Fatalf("accepted an unauthentic reply %v", r)
		}
	})
}

// TestDeadAfterTimeouts: a server that never answers is marked dead after
// DeadAfter exchanges, and then skipped at once.
func TestDeadAfterTimeouts(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	addr := pc.LocalAddr().String()
	c := radclient.New(radclient.Config{Servers: []radclient.Server{{Addr: addr, Secret: []byte("s")}},
		Timeout: 30 * time.Millisecond, Retries: -1, DeadAfter: 2, ProbeInterval: time.Hour}, nil)
	for i := range 2 {
		if c.Dead(addr) {
			t.Fatalf("dead after %d timeouts", i)
		}
		if _, err := c.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest}); !errors.Is(err, radclient.ErrNoServer) {
			t.Fatalf("exchange %d: %v", i, err)
		}
	}
	if !c.Dead(addr) {
		t.Fatal("not dead after 2 timeouts")
	}
	// Every server dead: one inline Status-Server probe, which times out.
	start := time.Now()
	_, err = c.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest})
	if err == nil || time.Since(start) > time.Second {
		t.Errorf("all dead: %v after %v", err, time.Since(start))
	}
}
