package pap

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// RFC 1334 section 2.2.1: Code 1, Identifier, Length, Peer-ID Length,
// Peer-ID, Passwd-Length, Password.
func TestRequestVector(t *testing.T) {
	raw := []byte{0x01, 0x07, 0x00, 0x0e, 0x05, 'a', 'l', 'i', 'c', 'e', 0x03, 'p', 'w', '!'}
	r, err := ParseRequest(raw)
	if err != nil || r.Identifier != 7 || r.PeerID != "alice" || r.Password != "pw!" {
		t.Fatalf("ParseRequest = %+v, %v", r, err)
	}
	if got := AppendRequest(nil, r); !bytes.Equal(got, raw) {
		t.Fatalf("AppendRequest = % x, want % x", got, raw)
	}
	if s := fmt.Sprint(r); bytes.Contains([]byte(s), []byte("pw!")) {
		t.Fatalf("String shows the password: %s", s)
	}
}

func TestReplies(t *testing.T) {
	if got, want := AppendAck(nil, 7, "Welcome"), []byte{0x02, 0x07, 0x00, 0x0c, 0x07, 'W', 'e', 'l', 'c', 'o', 'm', 'e'}; !bytes.Equal(got, want) {
		t.Errorf("Ack = % x, want % x", got, want)
	}
	if got, want := AppendNak(nil, 8, ""), []byte{0x03, 0x08, 0x00, 0x05, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("Nak = % x, want % x", got, want)
	}
}

func TestParseRequestErrors(t *testing.T) {
	for _, tt := range []struct {
		raw  []byte
		want error
	}{
		{[]byte{0x02, 0x01, 0x00, 0x05, 0x00}, ErrNotRequest},
		{[]byte{0x01, 0x01, 0x00, 0x04}, ErrTruncated},
		{[]byte{0x01, 0x01, 0x00, 0x07, 0x05, 'a', 'b'}, ErrTruncated},
		{[]byte{0x01, 0x01, 0x00, 0x08, 0x01, 'a', 0x05, 'b'}, ErrTruncated},
	} {
		if _, err := ParseRequest(tt.raw); !errors.Is(err, tt.want) {
			t.Errorf("ParseRequest(% x) = %v, want %v", tt.raw, err, tt.want)
		}
	}
	if _, err := ParseRequest([]byte{0x01}); err == nil {
		t.Error("a 1-octet packet parsed")
	}
}

// FuzzParseRequest: whatever parses encodes back to a request that parses
// to the same values.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte{0x01, 0x07, 0x00, 0x0e, 0x05, 'a', 'l', 'i', 'c', 'e', 0x03, 'p', 'w', '!'})
	f.Add([]byte{0x01, 0x01, 0x00, 0x06, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		r2, err := ParseRequest(AppendRequest(nil, r))
		if err != nil || r2 != r {
			t.Fatalf("round trip %+v -> %+v, %v", r, r2, err)
		}
		if p, err := ppp.ParsePacket(AppendAck(nil, r.Identifier, r.PeerID)); err != nil || p.Code != CodeAuthenticateAck {
			t.Fatalf("Ack: %v", err)
		}
	})
}

// TestRequestRedacted: the password shows in no formatting verb and in
// neither of log/slog's handlers.
func TestRequestRedacted(t *testing.T) {
	r := Request{Identifier: 7, PeerID: "alice", Password: "hunter2-secret"}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("pap", "req", r)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("pap", "req", r)
	out := fmt.Sprintf("%v %+v %#v %s", r, r, r, r) + logs.String()
	if strings.Contains(out, "hunter2") {
		t.Fatalf("password in %s", out)
	}
	if !strings.Contains(out, "alice") || !strings.Contains(out, "REDACTED") {
		t.Errorf("redacted form lost the rest: %s", out)
	}
}
