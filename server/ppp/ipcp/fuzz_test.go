package ipcp_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
)

// FuzzParseOptions checks that decoded IPCP options encode back to the
// octets they came from.
func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{0x02, 0x06, 0x00, 0x2d, 0x0f, 0x01, 0x03, 0x06, 0, 0, 0, 0, 0x81, 0x06, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := ipcp.ParseOptions(b)
		if err != nil {
			return
		}
		if enc := ipcp.AppendOptions(nil, opts...); !bytes.Equal(enc, b) {
			t.Fatalf("round trip [% x], want [% x]", enc, b)
		}
		for _, o := range opts {
			_ = o.String()
		}
	})
}

// FuzzConfigureRequest feeds arbitrary options to the server's IPCP as a
// peer's Configure-Request, with the client's address allowed or not:
// the answer is well formed, an Ack echoes the request, a Reject lists
// only options of the request, and the held address is always one the
// policy could give.
func FuzzConfigureRequest(f *testing.F) {
	f.Add([]byte{0x03, 0x06, 0, 0, 0, 0, 0x81, 0x06, 0, 0, 0, 0}, false)
	f.Add([]byte{0x03, 0x06, 10, 8, 0, 9, 0x84, 0x06, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, opts []byte, accept bool) {
		if len(opts) > ppp.MaxDataLen {
			return
		}
		p := &pool{size: 3}
		pol := policy(p)
		if accept {
			pol.AcceptPeerAddress = p.accept
		}
		n, err := ipcp.NewNegotiator(pol)
		if err != nil {
			t.Fatal(err)
		}
		var sent [][]byte
		a := ppp.NewAutomaton(ppp.ProtoIPCP, n, func(b []byte) { sent = append(sent, bytes.Clone(b)) })
		a.Open()
		a.Up()
		sent = nil
		if err := a.Receive(ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 1, Data: opts}.Append(nil)); err != nil {
			return
		}
		if len(sent) != 1 {
			t.Fatalf("sent %d packets", len(sent))
		}
		pk, err := ppp.ParsePacket(sent[0])
		if err != nil || pk.Identifier != 1 {
			t.Fatalf("answer [% x]: %v", sent[0], err)
		}
		reply, err := ppp.ParseOptions(pk.Data)
		if err != nil {
			t.Fatalf("answer options: %v", err)
		}
		switch pk.Code {
		case ppp.ConfigureAck:
			if !bytes.Equal(pk.Data, opts) {
				t.Fatalf("Ack [% x] of [% x]", pk.Data, opts)
			}
		case ppp.ConfigureReject:
			for o := range reply.All() {
				if !bytes.Contains(opts, o.Append(nil)) {
					t.Fatalf("rejected %v not in request", o)
				}
			}
		case ppp.ConfigureNak:
		default:
			t.Fatalf("answered %v", pk.Code)
		}
		if h := n.Address(); h.IsValid() && !netip.MustParsePrefix("10.8.0.0/24").Contains(h) {
			t.Fatalf("holds %v", h)
		}
	})
}
