package radius_test

import (
	"testing"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
	"github.com/gatehouse-vpn/gatehouse/plugins/radius"
)

// FuzzReply: whatever attributes a verified Access-Accept carries, reading
// the authorization and the MS-CHAPv2 proof never panics, and an accepted
// proof is well-formed.
func FuzzReply(f *testing.F) {
	var auth [16]byte
	p := &lr.Packet{Code: lr.CodeAccessAccept, Secret: []byte("s")}
	p.Add(26, rfc2548.VSA(rfc2548.TypeCHAP2Success, append([]byte{1}, "S=407A5589115FD0D6209F510FE9C04566932CDA56"...)))
	p.Add(26, rfc2548.VSA(rfc2548.TypeMPPESendKey, rfc2548.EncryptKey([16]byte{1}, []byte("s"), auth, 1)))
	p.Add(26, rfc2548.VSA(rfc2548.TypeMPPERecvKey, rfc2548.EncryptKey([16]byte{2}, []byte("s"), auth, 2)))
	p.Add(11, lr.Attribute("vpn-users"))
	p.Add(8, lr.Attribute{10, 8, 0, 2})
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := lr.Parse(b, []byte("s"))
		if err != nil {
			return
		}
		_ = radius.ParseAuthorization(p).Attributes()
		v, err := radius.MSCHAPv2Keys(&radclient.Response{Packet: p, RequestAuthenticator: auth})
		if err == nil && (len(v.AuthenticatorResponse) != 42 || v.SendKey == nil || v.RecvKey == nil) {
			t.Fatalf("malformed proof accepted: %v", v)
		}
	})
}
