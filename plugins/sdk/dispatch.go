package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// server stands in front of a vendor's Backend for both transports (the
// channel of protocol version 2, and gRPC for a gateway that speaks only
// version 1, through package v1relay). It converts between protocol messages and
// the SDK's Go types, answers UNIMPLEMENTED for a capability whose
// interface the back-end lacks, checks what the back-end returns, and
// turns a panic into an error for that one call. Its errors are gRPC
// statuses, whose codes are the protocol's (pluginv2.Code); the channel
// sends them as error frames.
type server struct {
	b          Backend
	configurer Configurer
	fragments  FragmentSource
	plaintext  PlaintextVerifier
	mschapv2   MSCHAPv2Verifier
	committer  Committer
	identity   IdentitySource
	health     HealthChecker
	// identityInVerdicts and identityInFragments are what the last
	// Describe promised: only then does a verification, or a Fragments
	// call, run the back-end's Lookup alongside.
	identityInVerdicts, identityInFragments atomic.Bool
}

func newServer(b Backend) *server {
	s := &server{b: b}
	s.configurer, _ = b.(Configurer)
	s.fragments, _ = b.(FragmentSource)
	s.plaintext, _ = b.(PlaintextVerifier)
	s.mschapv2, _ = b.(MSCHAPv2Verifier)
	s.committer, _ = b.(Committer)
	s.identity, _ = b.(IdentitySource)
	s.health, _ = b.(HealthChecker)
	return s
}

var _ channel.Handler = (*server)(nil)

// NewRequest implements channel.Handler. A ping never reaches it: the
// frame loop answers pings.
func (s *server) NewRequest(m pluginv2.Method) proto.Message {
	if m == pluginv2.Method_METHOD_PING {
		return nil
	}
	return m.NewRequest()
}

// Serve implements channel.Handler: it runs the call and turns its gRPC
// status into the channel's error.
func (s *server) Serve(ctx context.Context, m pluginv2.Method, req proto.Message) (proto.Message, error) {
	resp, err := s.serve(ctx, m, req)
	if err != nil {
		st := status.Convert(err)
		return nil, &channel.RemoteError{Code: pluginv2.Code(st.Code()), Message: st.Message()}
	}
	return resp, nil
}

// serve runs one call; req is what NewRequest returned for m.
func (s *server) serve(ctx context.Context, m pluginv2.Method, req proto.Message) (proto.Message, error) {
	switch r := req.(type) {
	case *pluginv2.DescribeRequest:
		return s.Describe(ctx, r)
	case *pluginv2.ConfigureRequest:
		return s.Configure(ctx, r)
	case *pluginv2.FragmentsRequest:
		return s.Fragments(ctx, r)
	case *pluginv2.VerifyPlaintextRequest:
		return s.VerifyPlaintext(ctx, r)
	case *pluginv2.VerifyMSCHAPv2Request:
		return s.VerifyMSCHAPv2(ctx, r)
	case *pluginv2.CommitRequest:
		return s.Commit(ctx, r)
	case *pluginv2.LookupRequest:
		return s.Lookup(ctx, r)
	case *pluginv2.HealthRequest:
		return s.Health(ctx, r)
	}
	return nil, status.Errorf(codes.Unimplemented, "this plugin does not know method %s", m)
}

// rpcError turns a back-end's error into a gRPC status. A status the
// back-end made itself keeps its code, except UNAVAILABLE: the host reads
// that as a broken connection and restarts the plugin, so a back-end's own
// "directory unavailable" travels as UNKNOWN.
func rpcError(method string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.FromContextError(err).Err()
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unavailable && st.Code() != codes.Unknown {
		return st.Err()
	}
	return status.Errorf(codes.Unknown, "%s: %v", method, err)
}

// recoverCall turns a panic in the back-end into an INTERNAL error for the
// call that caused it, and prints the stack to the plugin's stderr, which
// the gateway logs.
func recoverCall(method string, err *error) {
	if r := recover(); r != nil {
		Logger().Error("back-end panicked", slog.String("method", method), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		*err = status.Errorf(codes.Internal, "%s: the back-end panicked: %v", method, r)
	}
}

func unimplemented(method string, c Capability, iface string) error {
	return status.Errorf(codes.Unimplemented, "%s: this plugin does not implement %s (capability %s)", method, iface, c)
}

func (s *server) Describe(ctx context.Context, _ *pluginv2.DescribeRequest) (_ *pluginv2.DescribeResponse, err error) {
	defer recoverCall("Describe", &err)
	d, err := s.b.Describe(ctx)
	if err != nil {
		return nil, rpcError("Describe", err)
	}
	if err := checkDescription(d, s.b); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "Describe: %v", err)
	}
	r := describeToProto(d)
	// What the shim does on the back-end's behalf: no Commit round trip
	// when there is nothing to consume, no Lookup round trip after a
	// verification or with fragments (the shim attaches the identity to
	// the verdict, or to the fragments).
	r.NothingToCommit = s.committer == nil && !d.OneTime
	r.IdentityInVerdicts = s.identity != nil && slices.Contains(d.Capabilities, CapIdentity)
	r.IdentityInFragments = r.IdentityInVerdicts && s.fragments != nil && slices.Contains(d.Capabilities, CapFragments)
	s.identityInVerdicts.Store(r.IdentityInVerdicts)
	s.identityInFragments.Store(r.IdentityInFragments)
	return r, nil
}

func describeToProto(d Description) *pluginv2.DescribeResponse {
	r := &pluginv2.DescribeResponse{Name: d.Name, Version: d.Version, OneTime: d.OneTime}
	for _, c := range d.Capabilities {
		r.Capabilities = append(r.Capabilities, pluginv2.Capability(c))
	}
	for _, n := range d.FragmentLengths {
		r.FragmentLengths = append(r.FragmentLengths, uint32(n))
	}
	for _, k := range d.ConfigKeys {
		r.ConfigKeys = append(r.ConfigKeys, &pluginv2.ConfigKey{Name: k.Name, Required: k.Required, Description: k.Description})
	}
	return r
}

// Configure checks the options against the declared keys, then hands them
// to the back-end. Problems are an answer (ok false), not an RPC error.
func (s *server) Configure(ctx context.Context, req *pluginv2.ConfigureRequest) (_ *pluginv2.ConfigureResponse, err error) {
	defer recoverCall("Configure", &err)
	d, err := s.b.Describe(ctx)
	if err != nil {
		return nil, rpcError("Configure", err)
	}
	var problems []string
	declared := map[string]bool{}
	var names []string
	for _, k := range d.ConfigKeys {
		declared[k.Name] = true
		names = append(names, k.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(req.GetOptions())) {
		if !declared[k] {
			if len(names) == 0 {
				problems = append(problems, fmt.Sprintf("unknown key %q: this plugin takes no configuration", k))
			} else {
				problems = append(problems, fmt.Sprintf("unknown key %q (known keys: %v)", k, names))
			}
		}
	}
	for _, k := range d.ConfigKeys {
		if _, ok := req.GetOptions()[k.Name]; k.Required && !ok {
			problems = append(problems, fmt.Sprintf("missing required key %q (%s)", k.Name, k.Description))
		}
	}
	if len(problems) == 0 && s.configurer != nil {
		opts := maps.Clone(req.GetOptions())
		if opts == nil {
			opts = map[string]string{}
		}
		if err := s.configurer.Configure(ctx, opts); err != nil {
			if ctx.Err() != nil {
				return nil, rpcError("Configure", err)
			}
			problems = append(problems, splitJoined(err)...)
		}
	}
	return &pluginv2.ConfigureResponse{Ok: len(problems) == 0, Problems: problems}, nil
}

// splitJoined lists the errors of an errors.Join, or err alone.
func splitJoined(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func (s *server) Fragments(ctx context.Context, req *pluginv2.FragmentsRequest) (_ *pluginv2.FragmentsResponse, err error) {
	defer recoverCall("Fragments", &err)
	if s.fragments == nil {
		return nil, unimplemented("Fragments", CapFragments, "sdk.FragmentSource")
	}
	attach := s.identityFor(ctx, req.GetUser(), s.identityInFragments.Load())
	frags, err := s.fragments.Fragments(ctx, req.GetUser())
	if err != nil {
		attach(false)
		return nil, rpcError("Fragments", err)
	}
	r := &pluginv2.FragmentsResponse{Fragments: make([]*pluginv2.Fragment, 0, len(frags))}
	for i, f := range frags {
		if f.Secret == "" {
			attach(false)
			return nil, status.Errorf(codes.Internal, "Fragments: fragment %d has an empty secret", i)
		}
		r.Fragments = append(r.Fragments, &pluginv2.Fragment{Secret: []byte(f.Secret), Token: f.Token})
	}
	if r.Identity, err = attach(len(frags) > 0); err != nil {
		return nil, rpcError("Fragments", err)
	}
	return r, nil
}

// maxContinuation bounds Challenge.Continuation (the host's
// authpolicy.MaxContinuation).
const maxContinuation = 1024

func verdictToProto(v Verdict) *pluginv2.Verdict {
	out := &pluginv2.Verdict{Ok: v.OK, Reason: v.Reason, Token: v.Token}
	if !v.OK && v.MSCHAPError > 0 && v.MSCHAPError < 1<<31 {
		out.MschapError = uint32(v.MSCHAPError)
	}
	if v.OK {
		out.Attributes = attributesToProto(v.Attributes)
	}
	return out
}

// attributesToProto is an attribute map on the wire; nil when empty.
func attributesToProto(attrs map[string][]string) map[string]*pluginv2.StringList {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]*pluginv2.StringList, len(attrs))
	for k, vs := range attrs {
		out[k] = &pluginv2.StringList{Values: vs}
	}
	return out
}

func (s *server) VerifyPlaintext(ctx context.Context, req *pluginv2.VerifyPlaintextRequest) (_ *pluginv2.VerifyPlaintextResponse, err error) {
	defer recoverCall("VerifyPlaintext", &err)
	if s.plaintext == nil {
		return nil, unimplemented("VerifyPlaintext", CapVerifyPlaintext, "sdk.PlaintextVerifier")
	}
	ctx = withCallingStation(ctx, req.GetCallingStationId())
	ctx = withChallenge(ctx, req.GetChallengeOk(), req.GetContinuation())
	attach := s.identityFor(ctx, req.GetUser(), s.identityInVerdicts.Load())
	v, err := s.plaintext.VerifyPlaintext(ctx, req.GetUser(), string(req.GetSecret()))
	if err != nil {
		attach(false)
		return nil, rpcError("VerifyPlaintext", err)
	}
	pv := verdictToProto(v)
	if c := v.Challenge; c != nil && !v.OK && req.GetChallengeOk() {
		if len(c.Continuation) > maxContinuation {
			return nil, rpcError("VerifyPlaintext", fmt.Errorf("a challenge's continuation is %d bytes, more than %d", len(c.Continuation), maxContinuation))
		}
		pv.Challenge = &pluginv2.BackendChallenge{Message: c.Message, Continuation: c.Continuation}
	}
	if pv.Identity, err = attach(pv.GetOk()); err != nil {
		return nil, rpcError("VerifyPlaintext", err)
	}
	return &pluginv2.VerifyPlaintextResponse{Verdict: pv}, nil
}

// identityFor gets the back-end's own Lookup of user, in-process, for the
// identity Describe promised (promised: identity_in_verdicts for a
// verification, identity_in_fragments for Fragments): one round trip from
// the host instead of two. attach(want) returns it when want (the verdict
// accepts, there are fragments), nil otherwise; when nothing was
// promised, attach returns nil.
//
// A call that ends within lookupBudget is followed by the Lookup, in the
// same goroutine: a quick back-end pays for no goroutine. A slower one has
// the Lookup started in parallel once the budget has passed, so that a
// directory's look-up overlaps its bind; attach then waits for it, or
// abandons it when not wanted.
func (s *server) identityFor(ctx context.Context, user string, promised bool) (attach func(want bool) (*pluginv2.LookupResponse, error)) {
	if !promised {
		return func(bool) (*pluginv2.LookupResponse, error) { return nil, nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	type answer struct {
		id  Identity
		err error
	}
	ch := make(chan answer, 1)
	lookup := func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- answer{err: fmt.Errorf("Lookup panicked: %v", r)}
			}
		}()
		id, err := s.identity.Lookup(ctx, user)
		ch <- answer{id, err}
	}
	parallel := time.AfterFunc(lookupBudget, lookup)
	return func(want bool) (*pluginv2.LookupResponse, error) {
		defer cancel()
		inline := parallel.Stop()
		if !want {
			return nil, nil
		}
		if inline {
			lookup()
		}
		a := <-ch
		if a.err != nil {
			return nil, fmt.Errorf("identity: %w", a.err)
		}
		return lookupToProto(a.id), nil
	}
}

// lookupBudget is how long a verification runs before the identity's
// Lookup is started beside it (see identityFor).
const lookupBudget = 50 * time.Microsecond

func (s *server) VerifyMSCHAPv2(ctx context.Context, req *pluginv2.VerifyMSCHAPv2Request) (_ *pluginv2.VerifyMSCHAPv2Response, err error) {
	defer recoverCall("VerifyMSCHAPv2", &err)
	if s.mschapv2 == nil {
		return nil, unimplemented("VerifyMSCHAPv2", CapVerifyMSCHAPv2, "sdk.MSCHAPv2Verifier")
	}
	var r MSCHAPv2Request
	if len(req.GetAuthenticatorChallenge()) != len(r.AuthenticatorChallenge) ||
		len(req.GetPeerChallenge()) != len(r.PeerChallenge) ||
		len(req.GetNtResponse()) != len(r.NTResponse) {
		return nil, status.Errorf(codes.InvalidArgument,
			"VerifyMSCHAPv2: challenge, peer challenge and NT-Response must be 16, 16 and 24 bytes, not %d, %d and %d",
			len(req.GetAuthenticatorChallenge()), len(req.GetPeerChallenge()), len(req.GetNtResponse()))
	}
	copy(r.AuthenticatorChallenge[:], req.GetAuthenticatorChallenge())
	copy(r.PeerChallenge[:], req.GetPeerChallenge())
	copy(r.NTResponse[:], req.GetNtResponse())
	ctx = withCallingStation(ctx, req.GetCallingStationId())
	r.UserName = req.GetUserName()
	attach := s.identityFor(ctx, req.GetUser(), s.identityInVerdicts.Load())
	v, err := s.mschapv2.VerifyMSCHAPv2(ctx, req.GetUser(), r)
	if err != nil {
		attach(false)
		return nil, rpcError("VerifyMSCHAPv2", err)
	}
	resp := &pluginv2.VerifyMSCHAPv2Response{Verdict: verdictToProto(v.Verdict)}
	if !v.OK {
		attach(false)
		return resp, nil
	}
	if err := setMSCHAPv2Proof(resp, v); err != nil {
		attach(false)
		return nil, status.Errorf(codes.Internal, "VerifyMSCHAPv2: %v", err)
	}
	if resp.Verdict.Identity, err = attach(true); err != nil {
		return nil, rpcError("VerifyMSCHAPv2", err)
	}
	return resp, nil
}

// setMSCHAPv2Proof checks that an accepting verdict carries exactly one
// proof and puts it into resp.
func setMSCHAPv2Proof(resp *pluginv2.VerifyMSCHAPv2Response, v MSCHAPv2Verdict) error {
	delegated := v.AuthenticatorResponse != "" || v.SendKey != nil || v.RecvKey != nil
	switch {
	case v.PasswordHashHash != nil && delegated:
		return errors.New("the verdict sets both PasswordHashHash and the authenticator response or keys; set one")
	case v.PasswordHashHash != nil:
		resp.Proof = &pluginv2.VerifyMSCHAPv2Response_PasswordHashHash{PasswordHashHash: v.PasswordHashHash[:]}
		return nil
	case v.AuthenticatorResponse == "" || v.SendKey == nil || v.RecvKey == nil:
		return errors.New("an accepting verdict needs PasswordHashHash, or AuthenticatorResponse with both SendKey and RecvKey")
	}
	resp.Proof = &pluginv2.VerifyMSCHAPv2Response_Authenticator{Authenticator: &pluginv2.AuthenticatorResult{
		AuthenticatorResponse: v.AuthenticatorResponse,
		MppeSendKey:           v.SendKey[:],
		MppeRecvKey:           v.RecvKey[:],
	}}
	return nil
}

func (s *server) Commit(ctx context.Context, req *pluginv2.CommitRequest) (_ *pluginv2.CommitResponse, err error) {
	defer recoverCall("Commit", &err)
	if s.committer == nil {
		// Nothing to consume: see Committer.
		return &pluginv2.CommitResponse{}, nil
	}
	if err := s.committer.Commit(ctx, req.GetUser(), req.GetToken()); err != nil {
		return nil, rpcError("Commit", err)
	}
	return &pluginv2.CommitResponse{}, nil
}

func (s *server) Lookup(ctx context.Context, req *pluginv2.LookupRequest) (_ *pluginv2.LookupResponse, err error) {
	defer recoverCall("Lookup", &err)
	if s.identity == nil {
		return nil, unimplemented("Lookup", CapIdentity, "sdk.IdentitySource")
	}
	id, err := s.identity.Lookup(ctx, req.GetUser())
	if err != nil {
		return nil, rpcError("Lookup", err)
	}
	return lookupToProto(id), nil
}

func lookupToProto(id Identity) *pluginv2.LookupResponse {
	return &pluginv2.LookupResponse{Found: id.Found, Disabled: id.Disabled, Locked: id.Locked, Groups: id.Groups,
		Attributes: attributesToProto(id.Attributes)}
}

func (s *server) Health(ctx context.Context, _ *pluginv2.HealthRequest) (_ *pluginv2.HealthResponse, err error) {
	defer recoverCall("Health", &err)
	if s.health == nil {
		return &pluginv2.HealthResponse{Ok: true}, nil
	}
	if err := s.health.Health(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, rpcError("Health", err)
		}
		return &pluginv2.HealthResponse{Ok: false, Message: err.Error()}, nil
	}
	return &pluginv2.HealthResponse{Ok: true}, nil
}
