package chap_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
)

// FuzzParseResponse checks that a parsed Response encodes back to the
// packet, apart from the Reserved octets (which the parser ignores and
// Append zeroes) and padding beyond Length.
func FuzzParseResponse(f *testing.F) {
	f.Add(responseRFC)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := chap.ParseResponse(b)
		if err != nil {
			return
		}
		if len(r.Name) > chap.MaxNameLen {
			t.Fatalf("name of %d octets", len(r.Name))
		}
		enc := r.Append(nil)
		want := bytes.Clone(b[:len(enc)])
		clear(want[4+1+16 : 4+1+24])
		if !bytes.Equal(enc, want) {
			t.Fatalf("Append = [% x], want [% x]", enc, want)
		}
		if back, err := chap.ParseResponse(enc); err != nil || back != r {
			t.Fatalf("re-parse %+v %v", back, err)
		}
	})
}

// FuzzParseMessages checks the Success and Failure parsers: whatever
// they accept re-encodes to something they parse to the same value.
func FuzzParseMessages(f *testing.F) {
	f.Add([]byte("\x03\x01\x00\x45S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome to Gatehouse"))
	f.Add([]byte("\x04\x07\x00\x4dE=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failure"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0xff00 {
			return // re-encoding may need room the packet lacks; TestLongMessages covers it
		}
		if s, err := chap.ParseSuccess(b); err == nil {
			back, err := chap.ParseSuccess(s.Append(nil))
			if err != nil || back != s {
				t.Fatalf("Success %+v → %+v %v", s, back, err)
			}
		}
		if f, err := chap.ParseFailure(b); err == nil {
			back, err := chap.ParseFailure(f.Append(nil))
			if err != nil || back != f {
				t.Fatalf("Failure %+v → %+v %v", f, back, err)
			}
		}
	})
}

// FuzzParseLegacyResponse checks the CHAP-MD5 and MS-CHAPv1 Response
// parsers: what they accept encodes back to the packet (up to Length)
// and parses to the same value.
func FuzzParseLegacyResponse(f *testing.F) {
	f.Add(v1ResponsePacket())
	f.Add([]byte("\x02\x03\x00\x1a\x10ABCDEFGHIJKLMNOPalice"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := chap.ParseMD5Response(b); err == nil {
			enc := r.Append(nil)
			if !bytes.Equal(enc, b[:len(enc)]) {
				t.Fatalf("MD5 Append = [% x], want [% x]", enc, b[:len(enc)])
			}
			if back, err := chap.ParseMD5Response(enc); err != nil || back != r {
				t.Fatalf("MD5 re-parse %+v %v", back, err)
			}
		}
		if r, err := chap.ParseV1Response(b); err == nil {
			enc := r.Append(nil)
			if !bytes.Equal(enc, b[:len(enc)]) {
				t.Fatalf("V1 Append = [% x], want [% x]", enc, b[:len(enc)])
			}
			if back, err := chap.ParseV1Response(enc); err != nil || back != r {
				t.Fatalf("V1 re-parse %+v %v", back, err)
			}
		}
		if code, id, msg, err := chap.ParseMessage(b); err == nil {
			enc := chap.AppendMessage(nil, code, id, msg)
			if c2, i2, m2, err := chap.ParseMessage(enc); err != nil || c2 != code || i2 != id || m2 != msg {
				t.Fatalf("message %v %d %q → %v %d %q %v", code, id, msg, c2, i2, m2, err)
			}
		}
	})
}
