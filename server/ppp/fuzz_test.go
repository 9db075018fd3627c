package ppp_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

// FuzzParseFrame checks that every frame ParseFrame accepts has a valid
// protocol and survives AppendFrame in each of its four forms.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04})
	f.Add([]byte{0x21, 0x45, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		proto, info, err := ppp.ParseFrame(b)
		if err != nil {
			return
		}
		if !proto.Valid() {
			t.Fatalf("accepted invalid protocol %v", proto)
		}
		for _, acfc := range []bool{false, true} {
			for _, pfc := range []bool{false, true} {
				enc := ppp.AppendFrame(nil, proto, info, acfc, pfc)
				p2, i2, err := ppp.ParseFrame(enc)
				if err != nil || p2 != proto || !bytes.Equal(i2, info) {
					t.Fatalf("acfc=%v pfc=%v: [% x] → %v [% x] %v", acfc, pfc, enc, p2, i2, err)
				}
			}
		}
	})
}

// FuzzParsePacket checks that Append reproduces what ParsePacket read.
func FuzzParsePacket(f *testing.F) {
	f.Add([]byte{0x01, 0x01, 0x00, 0x08, 0x01, 0x04, 0x05, 0x78})
	f.Add([]byte{0x09, 0x02, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ppp.ParsePacket(b)
		if err != nil {
			return
		}
		if enc := p.Append(nil); !bytes.Equal(enc, b[:p.Len()]) {
			t.Fatalf("Append = [% x], want [% x]", enc, b[:p.Len()])
		}
		switch p.Code {
		case ppp.EchoRequest, ppp.EchoReply, ppp.DiscardRequest:
			if magic, rest, err := ppp.ParseEcho(p.Data); err == nil {
				enc := ppp.AppendEcho(nil, p.Code, p.Identifier, magic, rest)
				if !bytes.Equal(enc, b[:p.Len()]) {
					t.Fatalf("AppendEcho = [% x]", enc)
				}
			}
		case ppp.ProtocolReject:
			if proto, info, err := ppp.ParseProtocolReject(p.Data); err == nil {
				enc := ppp.AppendProtocolReject(nil, p.Identifier, proto, info, ppp.MaxDataLen+ppp.HeaderLen)
				if !bytes.Equal(enc, b[:p.Len()]) {
					t.Fatalf("AppendProtocolReject = [% x]", enc)
				}
			}
		}
	})
}

// FuzzParseOptions checks that the options ParseOptions accepts encode
// back to the same octets.
func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78, 0x07, 0x02, 0x08, 0x02})
	f.Add([]byte{0x03, 0x06, 0x00, 0x00, 0x00, 0x00, 0x81, 0x06, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := ppp.ParseOptions(b)
		if err != nil {
			// Whatever All yields of a malformed sequence is a
			// well-formed prefix.
			var enc []byte
			for o := range ppp.Options(b).All() {
				enc = o.Append(enc)
			}
			if !bytes.HasPrefix(b, enc) {
				t.Fatalf("All on malformed input yielded [% x]", enc)
			}
			return
		}
		var enc []byte
		for o := range opts.All() {
			enc = o.Append(enc)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip [% x], want [% x]", enc, b)
		}
	})
}

// FuzzAutomaton feeds arbitrary packets and timeouts to an automaton: it
// must never panic, send a malformed packet, or reach an unknown state.
// The input is a sequence of length-prefixed packets; a zero length is a
// timeout, 0xff an administrative Close, 0xfe Open.
func FuzzAutomaton(f *testing.F) {
	f.Add([]byte{8, 0x01, 0x05, 0x00, 0x08, 0x01, 0x04, 0x05, 0x78, 4, 0x02, 0x01, 0x00, 0x04})
	f.Add([]byte{0, 0, 4, 0x05, 0x01, 0x00, 0x04, 0xff, 6, 0x07, 0x01, 0x00, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		peer := &ppptest.LinkPeer{Peer: ppptest.Peer{
			Request: func(bool) []byte { return []byte{0x01, 0x04, 0x05, 0xdc} },
			Judge: func(v *ppp.Verdict) {
				for o := range v.Options.All() {
					switch {
					case o.Type == 1 && len(o.Data) != 2:
						v.Reject(o)
					case o.Type > 8:
						v.Reject(o)
					case o.Type == 3:
						v.Nak(ppp.Option{Type: 3, Data: []byte{0xc2, 0x23, 0x81}})
					}
				}
			},
		}}
		a := ppp.NewAutomaton(ppp.ProtoLCP, peer, func(b []byte) {
			if _, err := ppp.ParsePacket(b); err != nil {
				t.Fatalf("sent malformed [% x]", b)
			}
		})
		a.MRU = 64
		a.Open()
		a.Up()
		for len(in) > 0 {
			n := int(in[0])
			in = in[1:]
			switch {
			case n == 0:
				a.Timeout()
			case n == 0xff:
				a.Close(nil)
			case n == 0xfe:
				a.Open()
			default:
				n = min(n, len(in))
				_ = a.Receive(in[:n])
				in = in[n:]
			}
			if a.State() >= ppp.NumStates {
				t.Fatalf("state %d", a.State())
			}
		}
	})
}
