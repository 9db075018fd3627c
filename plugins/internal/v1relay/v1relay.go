// Package v1relay lets the host and the SDK, which speak protocol version
// 2's messages, reach a peer that speaks only version 1: gRPC service
// gatehouse.plugin.v1.Backend. Version 1's messages are a wire-compatible
// subset of version 2's (TestV1IsWireSubsetOfV2 in proto/ holds it), so a
// message crosses by being re-encoded ([Recode]); what version 1 does not
// know is dropped on the way.
//
// [Client] is the host's end, for a plugin built before version 2.
// [NewServer] is the plugin's end, for a gateway built before version 2.
// Both map errors between gRPC statuses and the channel's: a status code
// is a pluginv2.Code of the same number, UNAVAILABLE is a broken
// connection (channel.ErrBroken), and DEADLINE_EXCEEDED and CANCELED are
// the context's errors.
package v1relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// Recode re-encodes from as to, a message of another protocol version
// whose fields have the same numbers.
func Recode(from, to proto.Message) error {
	b, err := proto.Marshal(from)
	if err != nil {
		return err
	}
	return proto.Unmarshal(b, to)
}

// methods maps each method to its version 1 messages; its gRPC name is
// Method.Name.
var methods = map[pluginv2.Method]struct {
	req, resp func() proto.Message
}{
	pluginv2.Method_METHOD_DESCRIBE: {
		func() proto.Message { return &pluginv1.DescribeRequest{} }, func() proto.Message { return &pluginv1.DescribeResponse{} }},
	pluginv2.Method_METHOD_CONFIGURE: {
		func() proto.Message { return &pluginv1.ConfigureRequest{} }, func() proto.Message { return &pluginv1.ConfigureResponse{} }},
	pluginv2.Method_METHOD_FRAGMENTS: {
		func() proto.Message { return &pluginv1.FragmentsRequest{} }, func() proto.Message { return &pluginv1.FragmentsResponse{} }},
	pluginv2.Method_METHOD_VERIFY_PLAINTEXT: {
		func() proto.Message { return &pluginv1.VerifyPlaintextRequest{} }, func() proto.Message { return &pluginv1.VerifyPlaintextResponse{} }},
	pluginv2.Method_METHOD_VERIFY_MSCHAPV2: {
		func() proto.Message { return &pluginv1.VerifyMSCHAPv2Request{} }, func() proto.Message { return &pluginv1.VerifyMSCHAPv2Response{} }},
	pluginv2.Method_METHOD_COMMIT: {
		func() proto.Message { return &pluginv1.CommitRequest{} }, func() proto.Message { return &pluginv1.CommitResponse{} }},
	pluginv2.Method_METHOD_LOOKUP: {
		func() proto.Message { return &pluginv1.LookupRequest{} }, func() proto.Message { return &pluginv1.LookupResponse{} }},
	pluginv2.Method_METHOD_HEALTH: {
		func() proto.Message { return &pluginv1.HealthRequest{} }, func() proto.Message { return &pluginv1.HealthResponse{} }},
}

// Client calls a version 1 plugin on its gRPC connection.
type Client struct{ conn *grpc.ClientConn }

// NewClient returns a Client on conn, the connection go-plugin dispensed.
func NewClient(conn *grpc.ClientConn) *Client { return &Client{conn: conn} }

// Call has the meaning and the errors of channel.Client.Call. Version 1
// has no ping: a ping is a Health call, which only a live process answers.
func (c *Client) Call(ctx context.Context, deadline time.Time, m pluginv2.Method, req, resp proto.Message) error {
	if m == pluginv2.Method_METHOD_PING {
		return c.Call(ctx, deadline, pluginv2.Method_METHOD_HEALTH, &pluginv2.HealthRequest{}, &pluginv2.HealthResponse{})
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	spec, ok := methods[m]
	if !ok {
		return &channel.RemoteError{Code: pluginv2.Code_CODE_UNIMPLEMENTED, Message: fmt.Sprintf("protocol version 1 has no method %s", m)}
	}
	if r, ok := req.(*pluginv2.VerifyPlaintextRequest); ok && len(r.GetContinuation()) > 0 {
		// A version 1 plugin never challenges, so this answer is not for
		// it: it would take the answer for a password. Refused here.
		if out, ok := resp.(*pluginv2.VerifyPlaintextResponse); ok {
			out.Verdict = &pluginv2.Verdict{Reason: ErrNoChallenges}
			return nil
		}
	}
	if r, ok := req.(*pluginv2.VerifyPlaintextRequest); ok && (r.GetChallengeOk() || r.GetContinuation() != nil) {
		// Not fields of version 1: do not send them as unknown fields.
		c := proto.CloneOf(r)
		c.ChallengeOk, c.Continuation = false, nil
		req = c
	}
	in, out := spec.req(), spec.resp()
	if err := Recode(req, in); err != nil {
		return fmt.Errorf("%s: re-encoding the request: %w", m, err)
	}
	if err := c.conn.Invoke(ctx, "/gatehouse.plugin.v1.Backend/"+m.Name(), in, out); err != nil {
		return fromStatus(err)
	}
	if err := Recode(out, resp); err != nil {
		return fmt.Errorf("%w: the answer to %s does not re-encode: %v", channel.ErrBroken, m, err)
	}
	return nil
}

// ErrNoChallenges is the reason of the refusal the relay answers for a
// version 1 plugin asked to resume a challenge, and of the verdict a
// version 2 plugin's challenge becomes for a version 1 gateway.
const ErrNoChallenges = "the plugin or the gateway speaks protocol version 1, which has no challenges (a second prompt): refused"

// fromStatus maps a gRPC error to the channel's errors.
func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", channel.ErrBroken, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	}
	return &channel.RemoteError{Code: pluginv2.Code(st.Code()), Message: st.Message()}
}

// NewServer returns version 1's gRPC service, served by h: every call is
// re-encoded as version 2's request, served, and its answer re-encoded as
// version 1's.
func NewServer(h channel.Handler) pluginv1.BackendServer { return &server{h: h} }

type server struct {
	pluginv1.UnimplementedBackendServer
	h channel.Handler
}

// relay serves in as method m and fills out.
func (s *server) relay(ctx context.Context, m pluginv2.Method, in, out proto.Message) error {
	req := s.h.NewRequest(m)
	if req == nil {
		return status.Errorf(codes.Unimplemented, "this plugin does not know method %s", m)
	}
	if err := Recode(in, req); err != nil {
		return status.Errorf(codes.InvalidArgument, "%s: %v", m, err)
	}
	resp, err := s.h.Serve(ctx, m, req)
	if err != nil {
		return toStatus(err)
	}
	if r, ok := resp.(*pluginv2.VerifyPlaintextResponse); ok && r.GetVerdict().GetChallenge() != nil {
		// Version 1 has no challenges: a refusal that says so.
		v := proto.CloneOf(r.GetVerdict())
		v.Challenge, v.Ok = nil, false
		if v.Reason == "" {
			v.Reason = ErrNoChallenges
		}
		resp = &pluginv2.VerifyPlaintextResponse{Verdict: v}
	}
	if err := Recode(resp, out); err != nil {
		return status.Errorf(codes.Internal, "%s: %v", m, err)
	}
	return nil
}

// toStatus maps a handler's error to a gRPC status.
func toStatus(err error) error {
	var re *channel.RemoteError
	if errors.As(err, &re) {
		return status.Error(codes.Code(re.Code), re.Message)
	}
	return status.FromContextError(err).Err()
}

func (s *server) Describe(ctx context.Context, in *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	out := &pluginv1.DescribeResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_DESCRIBE, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) Configure(ctx context.Context, in *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	out := &pluginv1.ConfigureResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_CONFIGURE, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) Fragments(ctx context.Context, in *pluginv1.FragmentsRequest) (*pluginv1.FragmentsResponse, error) {
	out := &pluginv1.FragmentsResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_FRAGMENTS, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) VerifyPlaintext(ctx context.Context, in *pluginv1.VerifyPlaintextRequest) (*pluginv1.VerifyPlaintextResponse, error) {
	out := &pluginv1.VerifyPlaintextResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_VERIFY_PLAINTEXT, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) VerifyMSCHAPv2(ctx context.Context, in *pluginv1.VerifyMSCHAPv2Request) (*pluginv1.VerifyMSCHAPv2Response, error) {
	out := &pluginv1.VerifyMSCHAPv2Response{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_VERIFY_MSCHAPV2, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) Commit(ctx context.Context, in *pluginv1.CommitRequest) (*pluginv1.CommitResponse, error) {
	out := &pluginv1.CommitResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_COMMIT, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) Lookup(ctx context.Context, in *pluginv1.LookupRequest) (*pluginv1.LookupResponse, error) {
	out := &pluginv1.LookupResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_LOOKUP, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) Health(ctx context.Context, in *pluginv1.HealthRequest) (*pluginv1.HealthResponse, error) {
	out := &pluginv1.HealthResponse{}
	if err := s.relay(ctx, pluginv2.Method_METHOD_HEALTH, in, out); err != nil {
		return nil, err
	}
	return out, nil
}
