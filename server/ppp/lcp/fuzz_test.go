package lcp_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
)

// FuzzParseOptions checks that decoded LCP options encode back to the
// octets they came from.
func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x3a, 0x1b, 0x2c, 0x4d, 0x07, 0x02, 0x08, 0x02, 0x0d, 0x03, 0x06})
	f.Add([]byte{0x03, 0x05, 0xc2, 0x23, 0x81})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := lcp.ParseOptions(b)
		if err != nil {
			return
		}
		if enc := lcp.AppendOptions(nil, opts...); !bytes.Equal(enc, b) {
			t.Fatalf("round trip [% x], want [% x]", enc, b)
		}
		for _, o := range opts {
			_ = o.String()
		}
	})
}

// FuzzConfigureRequest feeds arbitrary options to the server's LCP as a
// peer's Configure-Request: the answer is always a well-formed Ack that
// echoes the request, or a Nak or Reject with well-formed options, the
// Reject listing only options of the request.
func FuzzConfigureRequest(f *testing.F) {
	f.Add([]byte{0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x3a, 0x1b, 0x2c, 0x4d, 0x07, 0x02, 0x08, 0x02, 0x0d, 0x03, 0x06})
	f.Add([]byte{0x01, 0x04, 0x00, 0x01, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, opts []byte) {
		if len(opts) > ppp.MaxDataLen {
			return
		}
		n, err := lcp.NewNegotiator(lcp.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		var sent [][]byte
		a := ppp.NewAutomaton(ppp.ProtoLCP, n, func(b []byte) { sent = append(sent, bytes.Clone(b)) })
		a.Open()
		a.Up()
		sent = nil
		req := ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 1, Data: opts}.Append(nil)
		if err := a.Receive(req); err != nil {
			return // malformed option list
		}
		if len(sent) != 1 {
			if a.State() == ppp.Closing {
				return // looped back is impossible here, but Fail is allowed
			}
			t.Fatalf("sent %d packets", len(sent))
		}
		p, err := ppp.ParsePacket(sent[0])
		if err != nil || p.Identifier != 1 {
			t.Fatalf("answer [% x]: %v", sent[0], err)
		}
		reply, err := ppp.ParseOptions(p.Data)
		if err != nil {
			t.Fatalf("answer options [% x]: %v", p.Data, err)
		}
		switch p.Code {
		case ppp.ConfigureAck:
			if !bytes.Equal(p.Data, opts) {
				t.Fatalf("Ack [% x] of [% x]", p.Data, opts)
			}
		case ppp.ConfigureReject:
			for o := range reply.All() {
				if !bytes.Contains(opts, o.Append(nil)) {
					t.Fatalf("rejected %v not in request", o)
				}
			}
		case ppp.ConfigureNak:
		default:
			t.Fatalf("answered %v", p.Code)
		}
	})
}
