package pptp_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// span is a field of a message: offset and size in octets.
type span struct{ off, size int }

// lossy lists, per type, the fields that Append does not reproduce from
// the input octets, written down independently of the codec from the
// RFC's drawings: reserved fields (Append writes zero) and fixed-size
// strings (Append writes zero after the first NUL). Reserved0 of the
// header is common to all.
var lossy = map[pptp.ControlMessageType]struct{ reserved, strings []span }{
	pptp.TypeStartControlConnectionRequest: {[]span{{14, 2}}, []span{{28, 64}, {92, 64}}},
	pptp.TypeStartControlConnectionReply:   {nil, []span{{28, 64}, {92, 64}}},
	pptp.TypeStopControlConnectionRequest:  {[]span{{13, 1}, {14, 2}}, nil},
	pptp.TypeStopControlConnectionReply:    {[]span{{14, 2}}, nil},
	pptp.TypeEchoRequest:                   {nil, nil},
	pptp.TypeEchoReply:                     {[]span{{18, 2}}, nil},
	pptp.TypeOutgoingCallRequest:           {[]span{{38, 2}}, []span{{40, 64}, {104, 64}}},
	pptp.TypeOutgoingCallReply:             {nil, nil},
	pptp.TypeIncomingCallRequest:           {nil, []span{{28, 64}, {92, 64}, {156, 64}}},
	pptp.TypeIncomingCallReply:             {[]span{{22, 2}}, nil},
	pptp.TypeIncomingCallConnected:         {[]span{{14, 2}}, nil},
	pptp.TypeCallClearRequest:              {[]span{{14, 2}}, nil},
	pptp.TypeCallDisconnectNotify:          {[]span{{18, 2}}, []span{{20, 128}}},
	pptp.TypeWANErrorNotify:                {[]span{{14, 2}}, nil},
	pptp.TypeSetLinkInfo:                   {[]span{{14, 2}}, nil},
}

// mayDiffer reports whether octet i of the message in may re-encode to a
// different value: it is reserved, or in a string field after the
// field's first NUL.
func mayDiffer(in []byte, ty pptp.ControlMessageType, i int) bool {
	if i == 10 || i == 11 { // Reserved0
		return true
	}
	l := lossy[ty]
	for _, s := range l.reserved {
		if i >= s.off && i < s.off+s.size {
			return true
		}
	}
	for _, s := range l.strings {
		if i >= s.off && i < s.off+s.size {
			nul := bytes.IndexByte(in[s.off:s.off+s.size], 0)
			return nul >= 0 && i > s.off+nul
		}
	}
	return false
}

// FuzzParse checks that Parse never panics, that its errors are
// *ParseError with a known code, and that whatever parses re-encodes to
// the same octets, except in reserved fields and after a string's
// terminating NUL, which re-encode as zero (every control message has a
// fixed size, so this covers them all). The seed corpus in
// testdata/fuzz/FuzzParse has each message type and each error.
func FuzzParse(f *testing.F) {
	for _, m := range samples() {
		f.Add(pptp.Append(nil, m))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := pptp.Parse(in)
		if err != nil {
			var pe *pptp.ParseError
			if !errors.As(err, &pe) || pe.Code < pptp.ParseTruncated || pe.Code > pptp.ParseTrailingData {
				t.Fatalf("Parse error %v is not a *ParseError with a known code", err)
			}
			if m != nil {
				t.Fatalf("Parse returned %+v alongside %v", m, err)
			}
			return
		}
		ty := m.ControlMessageType()
		out := pptp.Append(nil, m)
		if len(out) != len(in) {
			t.Fatalf("%v: re-encoded to %d octets from %d", ty, len(out), len(in))
		}
		for i := range in {
			if out[i] == in[i] {
				continue
			}
			if !mayDiffer(in, ty, i) || out[i] != 0 {
				t.Fatalf("%v: octet %d re-encoded as %#02x, was %#02x\n in: % x\nout: % x", ty, i, out[i], in[i], in, out)
			}
		}
		again, err := pptp.Parse(out)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("%v: Parse(Append(m)) = %+v, %v; want %+v", ty, again, err, m)
		}
	})
}

// FuzzReader checks that Reader, fed a stream one octet at a time, never
// panics and yields the same messages, in the same order, as Parse does
// on the stream cut at the Length fields.
func FuzzReader(f *testing.F) {
	f.Add(stream())
	f.Add(append(echoRequest(), 0x13, 0x88))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := pptp.NewReader(iotest.OneByteReader(bytes.NewReader(in)))
		rest := in
		for {
			m, err := r.ReadMessage()
			if err != nil {
				var pe *pptp.ParseError
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
					t.Fatalf("ReadMessage error %v", err)
				}
				if err == io.EOF && len(rest) != 0 {
					t.Fatalf("io.EOF with %d octets left", len(rest))
				}
				return
			}
			n := m.ControlMessageType().Length()
			if n > len(rest) {
				t.Fatalf("Reader returned a %d-octet message with %d octets left", n, len(rest))
			}
			want, err := pptp.Parse(rest[:n])
			if err != nil || !reflect.DeepEqual(want, m) {
				t.Fatalf("Reader returned %+v, Parse of the same octets %+v, %v", m, want, err)
			}
			rest = rest[n:]
		}
	})
}
