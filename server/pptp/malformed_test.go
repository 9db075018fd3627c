package pptp_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// echoRequest returns a valid Echo-Request to break.
func echoRequest() []byte { return pptp.Append(nil, &pptp.EchoRequest{Identifier: 1}) }

func TestParseMalformed(t *testing.T) {
	type edit func(b []byte) []byte
	set16 := func(off int, v uint16) edit {
		return func(b []byte) []byte { binary.BigEndian.PutUint16(b[off:], v); return b }
	}
	set32 := func(off int, v uint32) edit {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	}
	cases := []struct {
		name  string
		edits []edit
		want  pptp.ParseError
		msg   string // a part of the error text
	}{
		{
			name:  "empty",
			edits: []edit{func([]byte) []byte { return nil }},
			want:  pptp.ParseError{Code: pptp.ParseTruncated, Got: 0, Want: pptp.HeaderLength},
			msg:   "0 octets, want 12",
		},
		{
			name:  "shorter than the header",
			edits: []edit{func(b []byte) []byte { return b[:11] }},
			want:  pptp.ParseError{Code: pptp.ParseTruncated, Got: 11, Want: pptp.HeaderLength},
		},
		{
			name:  "header only",
			edits: []edit{func(b []byte) []byte { return b[:12] }},
			want:  pptp.ParseError{Code: pptp.ParseTruncated, Type: pptp.TypeEchoRequest, Got: 12, Want: 16},
			msg:   "Echo-Request: truncated: 12 octets, want 16",
		},
		{
			name:  "one octet short",
			edits: []edit{func(b []byte) []byte { return b[:15] }},
			want:  pptp.ParseError{Code: pptp.ParseTruncated, Type: pptp.TypeEchoRequest, Got: 15, Want: 16},
		},
		{
			name:  "bad magic cookie",
			edits: []edit{set32(4, 0x1a2b3c4e)},
			want:  pptp.ParseError{Code: pptp.ParseBadMagicCookie, Value: 0x1a2b3c4e},
			msg:   "bad magic cookie 0x1a2b3c4e",
		},
		{
			name:  "magic cookie in little-endian order",
			edits: []edit{set32(4, 0x4d3c2b1a)},
			want:  pptp.ParseError{Code: pptp.ParseBadMagicCookie, Value: 0x4d3c2b1a},
		},
		{
			name:  "the magic cookie is checked first",
			edits: []edit{set32(4, 0), set16(2, 2), set16(8, 99), set16(0, 7)},
			want:  pptp.ParseError{Code: pptp.ParseBadMagicCookie, Value: 0},
		},
		{
			name:  "PPTP message type 2 (management)",
			edits: []edit{set16(2, 2)},
			want:  pptp.ParseError{Code: pptp.ParseBadMessageType, Value: 2},
			msg:   "PPTP message type 2",
		},
		{
			name:  "PPTP message type 0",
			edits: []edit{set16(2, 0)},
			want:  pptp.ParseError{Code: pptp.ParseBadMessageType, Value: 0},
		},
		{
			name:  "control message type 0",
			edits: []edit{set16(8, 0)},
			want:  pptp.ParseError{Code: pptp.ParseUnknownControlMessageType, Value: 0},
			msg:   "unknown control message type 0",
		},
		{
			name:  "control message type 16",
			edits: []edit{set16(8, 16)},
			want:  pptp.ParseError{Code: pptp.ParseUnknownControlMessageType, Value: 16},
		},
		{
			name:  "control message type 0xffff",
			edits: []edit{set16(8, 0xffff)},
			want:  pptp.ParseError{Code: pptp.ParseUnknownControlMessageType, Value: 0xffff},
		},
		{
			name:  "length of another type",
			edits: []edit{set16(0, 20), func(b []byte) []byte { return append(b, 0, 0, 0, 0) }},
			want:  pptp.ParseError{Code: pptp.ParseBadLength, Type: pptp.TypeEchoRequest, Got: 20, Want: 16},
			msg:   "Echo-Request: length 20, want 16",
		},
		{
			name:  "length zero",
			edits: []edit{set16(0, 0)},
			want:  pptp.ParseError{Code: pptp.ParseBadLength, Type: pptp.TypeEchoRequest, Got: 0, Want: 16},
		},
		{
			name:  "length longer than any message",
			edits: []edit{set16(0, 5000)},
			want:  pptp.ParseError{Code: pptp.ParseBadLength, Type: pptp.TypeEchoRequest, Got: 5000, Want: 16},
		},
		{
			name:  "length checked against the type, not the buffer",
			edits: []edit{set16(8, uint16(pptp.TypeSetLinkInfo))},
			want:  pptp.ParseError{Code: pptp.ParseBadLength, Type: pptp.TypeSetLinkInfo, Got: 16, Want: 24},
		},
		{
			name:  "a second message behind the first",
			edits: []edit{func(b []byte) []byte { return append(b, b...) }},
			want:  pptp.ParseError{Code: pptp.ParseTrailingData, Type: pptp.TypeEchoRequest, Got: 32, Want: 16},
			msg:   "data after the message: 32 octets, want 16",
		},
		{
			name:  "one octet of padding",
			edits: []edit{func(b []byte) []byte { return append(b, 0) }},
			want:  pptp.ParseError{Code: pptp.ParseTrailingData, Type: pptp.TypeEchoRequest, Got: 17, Want: 16},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := echoRequest()
			for _, e := range c.edits {
				b = e(b)
			}
			m, err := pptp.Parse(b)
			if m != nil {
				t.Errorf("Parse returned a message alongside %v", err)
			}
			var pe *pptp.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if *pe != c.want {
				t.Errorf("Parse error = %+v, want %+v", *pe, c.want)
			}
			if !strings.HasPrefix(err.Error(), "pptp: ") || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error text %q, want it to contain %q", err, c.msg)
			}
		})
	}
}

func TestParseErrorCodeString(t *testing.T) {
	for c := pptp.ParseTruncated; c <= pptp.ParseTrailingData; c++ {
		if strings.HasPrefix(c.String(), "ParseErrorCode(") {
			t.Errorf("code %d has no name", c)
		}
		// Every code has a readable Error, even without details.
		if s := (&pptp.ParseError{Code: c}).Error(); !strings.HasPrefix(s, "pptp: ") {
			t.Errorf("code %v: Error() = %q", c, s)
		}
	}
	if s := pptp.ParseErrorCode(99).String(); s != "ParseErrorCode(99)" {
		t.Errorf("String = %q", s)
	}
}

// Every length of every message type: all but the right one fail, and
// none panics.
func TestParseEveryPrefix(t *testing.T) {
	for _, m := range samples() {
		b := pptp.Append(nil, m)
		for n := 0; n < len(b); n++ {
			if _, err := pptp.Parse(b[:n]); err == nil {
				t.Errorf("%v: Parse of %d of %d octets succeeded", m.ControlMessageType(), n, len(b))
			}
		}
	}
}
