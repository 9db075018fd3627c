package gre_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
)

// FuzzParse checks that Parse never panics, that every error is a
// ParseError with a known code, and that whatever parses re-encodes to
// exactly the octets it came from (the header has no free bits: every
// flag Parse accepts is fixed or carried in Header). The seed corpus is
// in testdata/fuzz/FuzzParse; the vectors are added here as well.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add(unhex(f, v.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := gre.Parse(b)
		if err != nil {
			var pe gre.ParseError
			if !errors.As(err, &pe) || pe.Code < gre.ParseTruncated || pe.Code > gre.ParsePayloadTruncated {
				t.Fatalf("Parse(% x) error %v is not a ParseError with a known code", b, err)
			}
			return
		}
		n := h.Len() + int(h.PayloadLength)
		if n > len(b) || len(payload) != int(h.PayloadLength) {
			t.Fatalf("Parse(% x) = %+v with %d payload octets: beyond the input", b, h, len(payload))
		}
		if len(payload) > 0 && &payload[0] != &b[h.Len()] {
			t.Fatalf("payload does not alias the input")
		}
		if re := gre.AppendPacket(nil, h, payload); !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoding differs:\n in:  % x\n out: % x", b[:n], re)
		}
	})
}
