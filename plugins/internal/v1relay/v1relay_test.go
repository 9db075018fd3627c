package v1relay

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// TestRecode: a version 2 answer crosses to version 1 and back with what
// version 1 knows intact, and what it does not (identity in fragments)
// dropped.
func TestRecode(t *testing.T) {
	v2 := &pluginv2.FragmentsResponse{
		Fragments: []*pluginv2.Fragment{{Secret: []byte("123456"), Token: "s:1:0"}},
		Identity:  &pluginv2.LookupResponse{Found: true, Groups: []string{"vpn"}},
	}
	var v1 pluginv1.FragmentsResponse
	if err := Recode(v2, &v1); err != nil {
		t.Fatal(err)
	}
	if len(v1.GetFragments()) != 1 || string(v1.GetFragments()[0].GetSecret()) != "123456" || v1.GetFragments()[0].GetToken() != "s:1:0" {
		t.Fatalf("v1 %v", &v1)
	}
	var back pluginv2.FragmentsResponse
	if err := Recode(&v1, &back); err != nil {
		t.Fatal(err)
	}
	v2.Identity = nil
	// Version 1 keeps the identity it does not know as unknown bytes;
	// compare what the fields say.
	if len(back.GetFragments()) != 1 || !proto.Equal(back.GetFragments()[0], v2.GetFragments()[0]) {
		t.Fatalf("back %v", &back)
	}
}

// TestErrorsBothWays: gRPC statuses and the channel's errors map onto each
// other: UNAVAILABLE is a broken connection, deadlines and cancellations
// are the context's, every other code is the plugin's answer.
func TestErrorsBothWays(t *testing.T) {
	if err := fromStatus(status.Error(codes.Unavailable, "gone")); !errors.Is(err, channel.ErrBroken) {
		t.Errorf("UNAVAILABLE: %v", err)
	}
	if err := fromStatus(status.Error(codes.DeadlineExceeded, "late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DEADLINE_EXCEEDED: %v", err)
	}
	if err := fromStatus(status.Error(codes.Canceled, "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("CANCELED: %v", err)
	}
	var re *channel.RemoteError
	if err := fromStatus(status.Error(codes.Unimplemented, "no")); !errors.As(err, &re) || re.Code != pluginv2.Code_CODE_UNIMPLEMENTED || re.Message != "no" {
		t.Errorf("UNIMPLEMENTED: %v", err)
	}
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{&channel.RemoteError{Code: pluginv2.Code_CODE_INTERNAL, Message: "panic"}, codes.Internal},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{errors.New("directory down"), codes.Unknown},
	} {
		if got := status.Code(toStatus(tc.err)); got != tc.code {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.code)
		}
	}
}

// handler answers VerifyPlaintext for "alice" and fails otherwise.
type handler struct{}

func (handler) NewRequest(m pluginv2.Method) proto.Message { return m.NewRequest() }

func (handler) Serve(_ context.Context, _ pluginv2.Method, req proto.Message) (proto.Message, error) {
	r, ok := req.(*pluginv2.VerifyPlaintextRequest)
	if !ok {
		return nil, &channel.RemoteError{Code: pluginv2.Code_CODE_UNIMPLEMENTED, Message: "only VerifyPlaintext"}
	}
	if r.GetUser() != "alice" {
		return nil, errors.New("directory down")
	}
	return &pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{Ok: string(r.GetSecret()) == "pw", Reason: "checked"}}, nil
}

// TestServer: the version 1 service relays to a version 2 handler.
func TestServer(t *testing.T) {
	s := NewServer(handler{})
	ctx := context.Background()
	r, err := s.VerifyPlaintext(ctx, &pluginv1.VerifyPlaintextRequest{User: "alice", Secret: []byte("pw")})
	if err != nil || !r.GetVerdict().GetOk() || r.GetVerdict().GetReason() != "checked" {
		t.Fatalf("%v %v", r, err)
	}
	if _, err := s.VerifyPlaintext(ctx, &pluginv1.VerifyPlaintextRequest{User: "bob"}); status.Code(err) != codes.Unknown {
		t.Errorf("a handler's error: %v", err)
	}
	if _, err := s.Lookup(ctx, &pluginv1.LookupRequest{User: "alice"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("an unserved method: %v", err)
	}
}

// challenger answers VerifyPlaintext with a challenge, as a version 2
// plugin behind which a RADIUS server challenges.
type challenger struct{ handler }

func (challenger) Serve(context.Context, pluginv2.Method, proto.Message) (proto.Message, error) {
	return &pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{
		Challenge: &pluginv2.BackendChallenge{Message: "Code?", Continuation: []byte("up-state")}}}, nil
}

// TestChallengeToVersion1: a version 1 gateway gets a challenge as a
// refusal that says why, without the continuation; a version 1 plugin is
// never sent an answer to resume: the relay refuses it itself.
func TestChallengeToVersion1(t *testing.T) {
	r, err := NewServer(challenger{}).VerifyPlaintext(context.Background(), &pluginv1.VerifyPlaintextRequest{User: "carol", Secret: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(r)
	if r.GetVerdict().GetOk() || r.GetVerdict().GetReason() != ErrNoChallenges || bytes.Contains(b, []byte("up-state")) {
		t.Errorf("version 1 answer %v", r)
	}

	c := NewClient(nil) // no connection: the relay must not call
	resp := &pluginv2.VerifyPlaintextResponse{}
	err = c.Call(context.Background(), time.Time{}, pluginv2.Method_METHOD_VERIFY_PLAINTEXT,
		&pluginv2.VerifyPlaintextRequest{User: "carol", Secret: []byte("424242"), Continuation: []byte("up-state")}, resp)
	if err != nil || resp.GetVerdict().GetOk() || resp.GetVerdict().GetReason() != ErrNoChallenges {
		t.Errorf("an answer to a version 1 plugin: %v %v", resp, err)
	}
}
