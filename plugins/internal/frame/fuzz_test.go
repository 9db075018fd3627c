package frame

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// FuzzParse: any 12 bytes either fail with ErrLength or parse into a
// header that encodes back to the same bytes, save the kind byte's method
// bits (always kept) and a timeout that is always in whole milliseconds.
func FuzzParse(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.h.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrLength) {
				t.Fatalf("error %v is not ErrLength", err)
			}
			return
		}
		if h.Length < 0 || h.Length > MaxPayload {
			t.Fatalf("length %d", h.Length)
		}
		if got := h.Append(nil); !bytes.Equal(got, b[:HeaderLen]) {
			t.Fatalf("round trip %x, want %x", got, b[:HeaderLen])
		}
	})
}

// FuzzReader: whatever the stream, the Reader returns frames whose
// re-encoded headers and payloads are the stream's own bytes, in order,
// then an error; it never panics or returns a payload longer than its
// header says.
func FuzzReader(f *testing.F) {
	b, _ := stream(f)
	f.Add(b)
	f.Add(b[:40])
	f.Add([]byte{0, 0, 0, 8, 0, 0, 0, 1, 0x49, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := NewReader(bytes.NewReader(in), 16)
		var rebuilt []byte
		for {
			h, p, err := fr.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrLength) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(p) != h.Length {
				t.Fatalf("payload %d bytes, header says %d", len(p), h.Length)
			}
			rebuilt = append(h.Append(rebuilt), p...)
		}
		if !bytes.HasPrefix(in, rebuilt) {
			t.Fatal("the frames read are not the stream's bytes")
		}
	})
}

// FuzzUnmarshal: the generated decoding the channel uses (UnmarshalVT)
// agrees with protobuf's own on every answer the host reads and every
// request a plugin reads, whenever the input is what a conforming encoder
// writes (protobuf decodes it and encodes the result back to the same
// bytes): it decodes an equal message, or refuses one whose known field
// has another wire type (which protobuf keeps as an unknown field, a
// message of another schema). On other input it may refuse or
// decode differently, as Unmarshal's documentation says, but must not
// panic; whatever it accepts, the host then checks as any answer.
func FuzzUnmarshal(f *testing.F) {
	type pair struct{ fast, slow func() proto.Message }
	msgs := []pair{
		{func() proto.Message { return &pluginv2.FragmentsResponse{} }, func() proto.Message { return &pluginv2.FragmentsResponse{} }},
		{func() proto.Message { return &pluginv2.VerifyPlaintextResponse{} }, func() proto.Message { return &pluginv2.VerifyPlaintextResponse{} }},
		{func() proto.Message { return &pluginv2.VerifyMSCHAPv2Response{} }, func() proto.Message { return &pluginv2.VerifyMSCHAPv2Response{} }},
		{func() proto.Message { return &pluginv2.LookupResponse{} }, func() proto.Message { return &pluginv2.LookupResponse{} }},
		{func() proto.Message { return &pluginv2.DescribeResponse{} }, func() proto.Message { return &pluginv2.DescribeResponse{} }},
		{func() proto.Message { return &pluginv2.Error{} }, func() proto.Message { return &pluginv2.Error{} }},
		{func() proto.Message { return &pluginv2.VerifyMSCHAPv2Request{} }, func() proto.Message { return &pluginv2.VerifyMSCHAPv2Request{} }},
		{func() proto.Message { return &pluginv2.ConfigureRequest{} }, func() proto.Message { return &pluginv2.ConfigureRequest{} }},
	}
	for _, m := range seedMessages() {
		b, err := canonical.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range msgs {
			fast, slow := m.fast(), m.slow()
			errFast := Unmarshal(b, fast)
			if proto.Unmarshal(b, slow) != nil {
				continue
			}
			if again, err := canonical.Marshal(slow); err != nil || !bytes.Equal(again, b) {
				continue
			}
			if errFast != nil && strings.Contains(errFast.Error(), "wrong wireType") {
				continue // a known field number of another type: protobuf kept it as unknown
			}
			if errFast != nil {
				t.Fatalf("%T: protobuf decodes it, the generated code does not: %v", fast, errFast)
			}
			if !proto.Equal(fast, slow) {
				t.Fatalf("%T: decoded differently:\n generated %v\n protobuf  %v", fast, fast, slow)
			}
		}
	})
}

var canonical = proto.MarshalOptions{Deterministic: true}

// seedMessages fill every field of the answers the host reads.
func seedMessages() []proto.Message {
	id := &pluginv2.LookupResponse{Found: true, Disabled: true, Locked: true, Groups: []string{"vpn", "staff"},
		Attributes: map[string]*pluginv2.StringList{"vpn_access": {Values: []string{"on"}}, "mail": {Values: []string{"a@b", "c@d"}}}}
	v := &pluginv2.Verdict{Ok: true, Reason: "r", Token: "t", MschapError: 691, Identity: id,
		Attributes: map[string]*pluginv2.StringList{"Filter-Id": {Values: []string{"staff"}}}}
	k := make([]byte, 16)
	return []proto.Message{
		&pluginv2.FragmentsResponse{Fragments: []*pluginv2.Fragment{{Secret: []byte("123456"), Token: "s:1:0"}, {Secret: []byte("pw")}}, Identity: id},
		&pluginv2.VerifyPlaintextResponse{Verdict: v},
		&pluginv2.VerifyMSCHAPv2Response{Verdict: v, Proof: &pluginv2.VerifyMSCHAPv2Response_PasswordHashHash{PasswordHashHash: k}},
		&pluginv2.VerifyMSCHAPv2Response{Verdict: v, Proof: &pluginv2.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv2.AuthenticatorResult{AuthenticatorResponse: "S=00", MppeSendKey: k, MppeRecvKey: k}}},
		&pluginv2.DescribeResponse{Name: "n", Version: "1", Capabilities: []pluginv2.Capability{1, 2, 3, 4}, FragmentLengths: []uint32{6, 8},
			OneTime: true, ConfigKeys: []*pluginv2.ConfigKey{{Name: "k", Required: true, Description: "d"}},
			NothingToCommit: true, IdentityInVerdicts: true, IdentityInFragments: true},
		&pluginv2.Error{Code: pluginv2.Code_CODE_UNKNOWN, Message: "directory down"},
		&pluginv2.VerifyMSCHAPv2Request{User: "alice", AuthenticatorChallenge: k, PeerChallenge: k, NtResponse: make([]byte, 24), UserName: `CORP\alice`, CallingStationId: "192.0.2.1"},
		&pluginv2.ConfigureRequest{Options: map[string]string{"a": "1", "b": "2"}},
	}
}
