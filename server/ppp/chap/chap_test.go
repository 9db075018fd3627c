package chap_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
)

// RFC 2759 section 9.2.
var (
	authChallenge = h16("5B5D7C7D7B3F2F3E3C2C602132262628")
	peerChallenge = h16("21402324255E262A28295F2B3A337C7E")
	ntResponse    = h24("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
	authResponse  = "S=407A5589115FD0D6209F510FE9C04566932CDA56"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func h16(s string) (a [16]byte) { copy(a[:], h(s)); return }
func h24(s string) (a [24]byte) { copy(a[:], h(s)); return }

// The Challenge of RFC 1994 section 4.1 with RFC 2759 section 3's
// 16-octet value.
func TestChallenge(t *testing.T) {
	got := chap.AppendChallenge(nil, 1, authChallenge, "gatehouse")
	want := h("01 01 001e 10 5B5D7C7D7B3F2F3E3C2C602132262628") // Code, Id, Length 30, Value-Size 16, Value
	want = append(want, "gatehouse"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  [% x]\nwant [% x]", got, want)
	}
	c, err := chap.ParseChallenge(got)
	if err != nil || c.Identifier != 1 || c.Value != authChallenge || c.Name != "gatehouse" {
		t.Errorf("ParseChallenge = %+v, %v", c, err)
	}
	long := chap.AppendChallenge(nil, 1, authChallenge, strings.Repeat("x", 300))
	if c, err := chap.ParseChallenge(long); err != nil || len(c.Name) != chap.MaxNameLen {
		t.Errorf("long name: %d %v", len(c.Name), err)
	}
}

// responseRFC is the Response of RFC 2759 section 9.2, laid out as
// section 4 draws it.
var responseRFC = append(h(
	"02 01 003a 31"+ // Code Response, Id 1, Length 58, Value-Size 49
		"21402324255E262A28295F2B3A337C7E"+ // Peer-Challenge
		"0000000000000000"+ // Reserved
		"82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"+ // NT-Response
		"00"), // Flags
	"User"...)

func TestParseResponse(t *testing.T) {
	r, err := chap.ParseResponse(responseRFC)
	if err != nil {
		t.Fatal(err)
	}
	want := chap.Response{Identifier: 1, PeerChallenge: peerChallenge, NTResponse: ntResponse, Name: "User"}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	if enc := r.Append(nil); !bytes.Equal(enc, responseRFC) {
		t.Errorf("Append = [% x]", enc)
	}
	cred := r.MSCHAPv2(authChallenge)
	wantCred := authpolicy.MSCHAPv2Response{
		AuthenticatorChallenge: authChallenge, PeerChallenge: peerChallenge, NTResponse: ntResponse, UserName: "User",
	}
	if cred != wantCred {
		t.Errorf("MSCHAPv2 = %+v", cred)
	}
	// The parsed values verify against the RFC's password.
	ntHash := mschapv2.NTHash("clientPass")
	if !mschapv2.Verify(cred.AuthenticatorChallenge, cred.PeerChallenge, cred.UserName, cred.NTResponse, ntHash) {
		t.Error("RFC 2759 response does not verify")
	}
	if got := mschapv2.GenerateAuthenticatorResponse(ntHash, cred.NTResponse, cred.PeerChallenge, cred.AuthenticatorChallenge, cred.UserName); got != authResponse {
		t.Errorf("authenticator response %s", got)
	}
}

func TestParseResponseReservedAndFlags(t *testing.T) {
	b := bytes.Clone(responseRFC)
	b[5+16] = 0xff // Reserved
	b[5+48] = 0x01 // Flags
	r, err := chap.ParseResponse(b)
	if err != nil || r.Flags != 1 || r.NTResponse != ntResponse {
		t.Errorf("%+v %v", r, err)
	}
}

func TestParseResponseMalformed(t *testing.T) {
	withLen := func(b []byte) []byte {
		b[2], b[3] = byte(len(b)>>8), byte(len(b))
		return b
	}
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, nil},
		{"header only", h("02 01 0004"), chap.ErrShort},
		{"challenge code", append([]byte{1}, responseRFC[1:]...), chap.ErrCode},
		{"success code", append([]byte{3}, responseRFC[1:]...), chap.ErrCode},
		{"value size 48", withLen(append(h("02 01 0000 30"), make([]byte, 48)...)), chap.ErrValueSize},
		{"value size 50", withLen(append(h("02 01 0000 32"), make([]byte, 50)...)), chap.ErrValueSize},
		{"value size 16 (MD5)", withLen(append(h("02 01 0000 10"), make([]byte, 16)...)), chap.ErrValueSize},
		{"truncated value", withLen(append(h("02 01 0000 31"), make([]byte, 30)...)), chap.ErrShort},
		{"length beyond packet", responseRFC[:40], nil},
		{"name too long", withLen(append(bytes.Clone(responseRFC), strings.Repeat("n", 253)...)), chap.ErrNameLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := chap.ParseResponse(tt.in)
			if err == nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
		})
	}
	// A name of exactly 256 octets is fine; an empty one parses too.
	if _, err := chap.ParseResponse(withLen(append(bytes.Clone(responseRFC), strings.Repeat("n", 252)...))); err != nil {
		t.Errorf("256-octet name: %v", err)
	}
	if r, err := chap.ParseResponse(withLen(bytes.Clone(responseRFC[:len(responseRFC)-4]))); err != nil || r.Name != "" {
		t.Errorf("empty name: %v", err)
	}
}

// RFC 2759 section 5.
func TestSuccess(t *testing.T) {
	got := chap.AppendSuccess(nil, 1, authResponse, "Welcome to Gatehouse")
	want := append(h("03 01 0045"), "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome to Gatehouse"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	s, err := chap.ParseSuccess(got)
	if err != nil || s.AuthenticatorResponse != authResponse || s.Message != "Welcome to Gatehouse" || s.Identifier != 1 {
		t.Errorf("ParseSuccess = %+v, %v", s, err)
	}
	bare := chap.AppendSuccess(nil, 2, authResponse, "")
	if s, err := chap.ParseSuccess(bare); err != nil || len(bare) != 4+42 || s.Message != "" {
		t.Errorf("bare: %q %+v %v", bare, s, err)
	}
	for _, msg := range []string{
		"S=407A5589115FD0D6209F510FE9C04566932CDA5",              // 39 digits
		"S=407A5589115FD0D6209F510FE9C04566932CDA5G",             // not hex
		"s=407A5589115FD0D6209F510FE9C04566932CDA56",             // lower-case s
		"S=407A5589115FD0D6209F510FE9C04566932CDA56 X=junk",      // not M=
		"E=691 R=0 C=00000000000000000000000000000000 V=3 M=bad", // a Failure message
	} {
		pkt := append([]byte{3, 1, 0, byte(4 + len(msg))}, msg...)
		if _, err := chap.ParseSuccess(pkt); !errors.Is(err, chap.ErrMessage) {
			t.Errorf("%q: %v", msg, err)
		}
	}
	pppdStyle := append([]byte{3, 1, 0, 4 + 42 + 4}, "S=407A5589115FD0D6209F510FE9C04566932CDA56M=ok"...)
	if s, err := chap.ParseSuccess(pppdStyle); err != nil || s.Message != "ok" {
		t.Errorf("M= without space: %+v %v", s, err)
	}
}

// RFC 2759 section 6.
func TestFailure(t *testing.T) {
	f := chap.NewFailure(7, chap.AuthenticationFailure, authChallenge, "Authentication failure")
	got := f.Append(nil)
	msg := "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failure"
	want := append([]byte{0x04, 0x07, 0x00, byte(4 + len(msg))}, msg...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	back, err := chap.ParseFailure(got)
	if err != nil || back != f {
		t.Errorf("ParseFailure = %+v, %v", back, err)
	}
	for _, tt := range []struct {
		code chap.ErrorCode
		name string
	}{
		{chap.RestrictedLogonHours, "ERROR_RESTRICTED_LOGON_HOURS"},
		{chap.AccountDisabled, "ERROR_ACCT_DISABLED"},
		{chap.PasswordExpired, "ERROR_PASSWD_EXPIRED"},
		{chap.NoDialinPermission, "ERROR_NO_DIALIN_PERMISSION"},
		{chap.AuthenticationFailure, "ERROR_AUTHENTICATION_FAILURE"},
		{chap.ChangingPassword, "ERROR_CHANGING_PASSWORD"},
	} {
		f := chap.NewFailure(1, tt.code, [16]byte{}, "")
		back, err := chap.ParseFailure(f.Append(nil))
		if err != nil || back.Error != tt.code || tt.code.String() != tt.name {
			t.Errorf("%d: %+v %v %s", tt.code, back, err, tt.code)
		}
	}
}

func TestParseFailureVariants(t *testing.T) {
	ok := []struct {
		msg  string
		want chap.Failure
	}{
		// pppd's own server.
		{"E=691 R=1 C=5b5d7c7d7b3f2f3e3c2c602132262628 V=0 M=Access denied",
			chap.Failure{Error: 691, Retry: true, Challenge: authChallenge, Message: "Access denied"}},
		{"E=649 R=0", chap.Failure{Error: 649}},
		{"E=646", chap.Failure{Error: 646}},
		{"E=691 M=bad password", chap.Failure{Error: 691, Message: "bad password"}},
		{"E=648 R=0 V=3 M=", chap.Failure{Error: 648, Version: 3}},
	}
	for _, tt := range ok {
		pkt := append([]byte{4, 0, 0, byte(4 + len(tt.msg))}, tt.msg...)
		got, err := chap.ParseFailure(pkt)
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v %v", tt.msg, got, err)
		}
	}
	for _, msg := range []string{
		"",
		"M=no code",
		"E=abc R=0",
		"E=-1",
		"E=691 R=2",
		"E=691 R=0 C=5B5D",
		"E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C60213226262Z",
		"E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=x",
		"E=691 V=3 R=0",
		"E=691 R=0 junk",
	} {
		pkt := append([]byte{4, 0, 0, byte(4 + len(msg))}, msg...)
		if _, err := chap.ParseFailure(pkt); !errors.Is(err, chap.ErrMessage) {
			t.Errorf("%q: err = %v", msg, err)
		}
	}
	if _, err := chap.ParseFailure(responseRFC); !errors.Is(err, chap.ErrCode) {
		t.Errorf("wrong code: %v", err)
	}
}

func TestNewChallenge(t *testing.T) {
	c, err := chap.NewChallenge(bytes.NewReader(authChallenge[:]))
	if err != nil || c != authChallenge {
		t.Errorf("%x %v", c, err)
	}
	if _, err := chap.NewChallenge(bytes.NewReader(nil)); err == nil {
		t.Error("empty reader")
	}
	if chap.CodeChangePassword.String() != "Change-Password" || chap.Code(9).String() != "Code(9)" {
		t.Error("code names")
	}
}

// Messages too long for a packet are cut, never encoded with a wrong
// Length.
func TestLongMessages(t *testing.T) {
	long := strings.Repeat("m", 70000)
	s := chap.Success{Identifier: 1, AuthenticatorResponse: authResponse, Message: long}
	b := s.Append(nil)
	if len(b) != 0xffff {
		t.Errorf("Success of %d octets", len(b))
	}
	if _, err := chap.ParseSuccess(b); err != nil {
		t.Errorf("ParseSuccess: %v", err)
	}
	f := chap.NewFailure(1, chap.AuthenticationFailure, authChallenge, long)
	b = f.Append(nil)
	if len(b) != 0xffff {
		t.Errorf("Failure of %d octets", len(b))
	}
	if _, err := chap.ParseFailure(b); err != nil {
		t.Errorf("ParseFailure: %v", err)
	}
}
