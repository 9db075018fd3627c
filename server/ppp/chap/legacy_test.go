package chap_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
)

// An MS-CHAPv1 Response to RFC 2433 appendix B.2's challenge, as pppd
// builds it for user "User" (no LAN Manager response, Use-NT 1).
func v1ResponsePacket() []byte {
	b := []byte{2, 9, 0, 4 + 1 + 49 + 4, 49}
	b = append(b, make([]byte, 24)...)
	nt := mschapv2.NTResponseV1([8]byte{0x10, 0x2D, 0xB5, 0xDF, 0x08, 0x5D, 0x30, 0x41}, mschapv2.NTHash("MyPw"))
	b = append(b, nt[:]...)
	b = append(b, 1)
	return append(b, "User"...)
}

func TestV1Response(t *testing.T) {
	pkt := v1ResponsePacket()
	r, err := chap.ParseV1Response(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Identifier != 9 || r.Name != "User" || !r.UseNT() || r.LMResponse != [24]byte{} {
		t.Fatalf("%+v", r)
	}
	ch := [8]byte{0x10, 0x2D, 0xB5, 0xDF, 0x08, 0x5D, 0x30, 0x41}
	cred := r.MSCHAPv1(ch)
	if cred.Challenge != ch || cred.NTResponse != r.NTResponse {
		t.Errorf("credential %+v", cred)
	}
	if got := r.Append(nil); !bytes.Equal(got, pkt) {
		t.Errorf("Append = % x\nwant     % x", got, pkt)
	}
	// An MS-CHAPv2-sized response parses too (both are 49 octets); a
	// wrong Value-Size does not.
	bad := bytes.Clone(pkt)
	bad[4] = 48
	if _, err := chap.ParseV1Response(bad); !errors.Is(err, chap.ErrValueSize) {
		t.Errorf("Value-Size 48: %v", err)
	}
}

func TestMD5Response(t *testing.T) {
	challenge := []byte("0123456789abcdef")
	sum := md5.Sum(append(append([]byte{3}, "secret"...), challenge...))
	r := chap.MD5Response{Identifier: 3, Value: sum, Name: "alice"}
	pkt := r.Append(nil)
	if want := append([]byte{2, 3, 0, 4 + 1 + 16 + 5, 16}, append(sum[:], "alice"...)...); !bytes.Equal(pkt, want) {
		t.Fatalf("Append = % x\nwant     % x", pkt, want)
	}
	back, err := chap.ParseMD5Response(pkt)
	if err != nil || back != r {
		t.Fatalf("%+v %v", back, err)
	}
	cred := back.CHAPMD5(challenge)
	if cred.Identifier != 3 || cred.Response != sum || !bytes.Equal(cred.Challenge, challenge) {
		t.Errorf("credential %+v", cred)
	}
	if _, err := chap.ParseMD5Response(v1ResponsePacket()); !errors.Is(err, chap.ErrValueSize) {
		t.Errorf("49-octet value as MD5: %v", err)
	}
}

func TestLegacyMessages(t *testing.T) {
	ch := chap.AppendChallengeValue(nil, 4, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "gatehouse")
	if want := append([]byte{1, 4, 0, 4 + 1 + 8 + 9, 8, 1, 2, 3, 4, 5, 6, 7, 8}, "gatehouse"...); !bytes.Equal(ch, want) {
		t.Errorf("challenge % x", ch)
	}
	f := chap.AppendV1Failure(nil, 4, chap.AuthenticationFailure)
	code, id, msg, err := chap.ParseMessage(f)
	if err != nil || code != chap.CodeFailure || id != 4 || msg != "E=691 R=0" {
		t.Errorf("failure %v %d %q %v", code, id, msg, err)
	}
	s := chap.AppendMessage(nil, chap.CodeSuccess, 5, "Welcome")
	code, id, msg, err = chap.ParseMessage(s)
	if err != nil || code != chap.CodeSuccess || id != 5 || msg != "Welcome" {
		t.Errorf("success %v %d %q %v", code, id, msg, err)
	}
	if _, _, _, err := chap.ParseMessage(ch); !errors.Is(err, chap.ErrCode) {
		t.Errorf("a Challenge as a message: %v", err)
	}
	long := chap.AppendMessage(nil, chap.CodeSuccess, 1, string(make([]byte, 70000)))
	if len(long) != 0xffff {
		t.Errorf("long message packet of %d octets", len(long))
	}
}
