package radclient_test

import (
	"fmt"
	"strings"
	"testing"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/server/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/server/radius/rfc3579"
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
