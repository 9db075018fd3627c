package ccp_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
)

// FuzzParseOptions checks that decoded CCP options encode back to the
// octets they came from.
func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{0x12, 0x06, 0x01, 0x00, 0x00, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := ccp.ParseOptions(b)
		if err != nil {
			return
		}
		if enc := ccp.AppendOptions(nil, opts...); !bytes.Equal(enc, b) {
			t.Fatalf("round trip [% x], want [% x]", enc, b)
		}
		for _, o := range opts {
			_ = o.String()
		}
	})
}

// FuzzConfigureRequest feeds arbitrary options to the server's CCP as a
// peer's Configure-Request under each policy: an Ack echoes the request
// and acknowledges only MPPE the policy allows; a Nak offers only such
// MPPE; a Reject lists only options of the request.
func FuzzConfigureRequest(f *testing.F) {
	f.Add([]byte{0x12, 0x06, 0x01, 0x00, 0x00, 0x40}, uint8(0))
	f.Add([]byte{0x12, 0x06, 0x01, 0x00, 0x00, 0x20}, uint8(3))
	f.Fuzz(func(t *testing.T, opts []byte, pol uint8) {
		if len(opts) > ppp.MaxDataLen {
			return
		}
		p := ccp.Policy{Required: pol&1 == 0, Allow40: pol&2 != 0, Allow56: pol&4 != 0}
		if pol&8 != 0 {
			p.Stateless = ccp.StatelessPreferred
		}
		n := ccp.NewNegotiator(p)
		var sent [][]byte
		a := ppp.NewAutomaton(ppp.ProtoCCP, n, func(b []byte) { sent = append(sent, bytes.Clone(b)) })
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
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ppp.ParseOptions(pk.Data)
		if err != nil {
			t.Fatalf("answer options: %v", err)
		}
		// A Reject returns options as sent, malformed ones included;
		// an Ack or Nak must decode.
		reply, err := ccp.ParseOptions(pk.Data)
		if err != nil && pk.Code != ppp.ConfigureReject {
			t.Fatalf("answer options: %v", err)
		}
		allowed := func(b ccp.Bits) bool {
			k := b & ccp.KeyLengths
			ok := k == ccp.MPPE128 || k == ccp.MPPE40 && p.Allow40 || k == ccp.MPPE56 && p.Allow56
			return ok && b&^(ccp.KeyLengths|ccp.Stateless) == 0 && (b&ccp.Stateless != 0 || p.Stateless == ccp.StatelessPreferred)
		}
		switch pk.Code {
		case ppp.ConfigureAck:
			if !bytes.Equal(pk.Data, opts) {
				t.Fatalf("Ack [% x] of [% x]", pk.Data, opts)
			}
			for _, o := range reply {
				if m, ok := o.(ccp.MPPE); !ok || !allowed(m.Bits) {
					t.Fatalf("acknowledged %v under %+v", o, p)
				}
			}
		case ppp.ConfigureNak:
			for _, o := range reply {
				if m, ok := o.(ccp.MPPE); !ok || !allowed(m.Bits) {
					t.Fatalf("Naked with %v under %+v", o, p)
				}
			}
		case ppp.ConfigureReject:
			for o := range raw.All() {
				if !bytes.Contains(opts, o.Append(nil)) {
					t.Fatalf("rejected %v not in request", o)
				}
			}
		default:
			t.Fatalf("answered %v", pk.Code)
		}
	})
}
