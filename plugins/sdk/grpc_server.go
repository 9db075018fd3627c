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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// server is the gRPC shim in front of a vendor's Backend. It converts
// between protocol messages and the SDK's Go types, answers UNIMPLEMENTED
// for a capability whose interface the back-end lacks, checks what the
// back-end returns, and turns a panic into an error for that one call.
type server struct {
	pluginv1.UnimplementedBackendServer

	b          Backend
	configurer Configurer
	fragments  FragmentSource
	plaintext  PlaintextVerifier
	mschapv2   MSCHAPv2Verifier
	committer  Committer
	identity   IdentitySource
	health     HealthChecker
	// identityInVerdicts is what the last Describe promised: only then
	// does a verification run the back-end's Lookup alongside.
	identityInVerdicts atomic.Bool
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

func (s *server) Describe(ctx context.Context, _ *pluginv1.DescribeRequest) (_ *pluginv1.DescribeResponse, err error) {
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
	// verification (the shim attaches the identity to the verdict).
	r.NothingToCommit = s.committer == nil && !d.OneTime
	r.IdentityInVerdicts = s.identity != nil && slices.Contains(d.Capabilities, CapIdentity)
	s.identityInVerdicts.Store(r.IdentityInVerdicts)
	return r, nil
}

func describeToProto(d Description) *pluginv1.DescribeResponse {
	r := &pluginv1.DescribeResponse{Name: d.Name, Version: d.Version, OneTime: d.OneTime}
	for _, c := range d.Capabilities {
		r.Capabilities = append(r.Capabilities, pluginv1.Capability(c))
	}
	for _, n := range d.FragmentLengths {
		r.FragmentLengths = append(r.FragmentLengths, uint32(n))
	}
	for _, k := range d.ConfigKeys {
		r.ConfigKeys = append(r.ConfigKeys, &pluginv1.ConfigKey{Name: k.Name, Required: k.Required, Description: k.Description})
	}
	return r
}

// Configure checks the options against the declared keys, then hands them
// to the back-end. Problems are an answer (ok false), not an RPC error.
func (s *server) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (_ *pluginv1.ConfigureResponse, err error) {
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
	return &pluginv1.ConfigureResponse{Ok: len(problems) == 0, Problems: problems}, nil
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

func (s *server) Fragments(ctx context.Context, req *pluginv1.FragmentsRequest) (_ *pluginv1.FragmentsResponse, err error) {
	defer recoverCall("Fragments", &err)
	if s.fragments == nil {
		return nil, unimplemented("Fragments", CapFragments, "sdk.FragmentSource")
	}
	frags, err := s.fragments.Fragments(ctx, req.GetUser())
	if err != nil {
		return nil, rpcError("Fragments", err)
	}
	r := &pluginv1.FragmentsResponse{Fragments: make([]*pluginv1.Fragment, 0, len(frags))}
	for i, f := range frags {
		if f.Secret == "" {
			return nil, status.Errorf(codes.Internal, "Fragments: fragment %d has an empty secret", i)
		}
		r.Fragments = append(r.Fragments, &pluginv1.Fragment{Secret: []byte(f.Secret), Token: f.Token})
	}
	return r, nil
}

func verdictToProto(v Verdict) *pluginv1.Verdict {
	out := &pluginv1.Verdict{Ok: v.OK, Reason: v.Reason, Token: v.Token}
	if !v.OK && v.MSCHAPError > 0 && v.MSCHAPError < 1<<31 {
		out.MschapError = uint32(v.MSCHAPError)
	}
	if v.OK && len(v.Attributes) > 0 {
		out.Attributes = make(map[string]*pluginv1.StringList, len(v.Attributes))
		for k, vs := range v.Attributes {
			out.Attributes[k] = &pluginv1.StringList{Values: vs}
		}
	}
	return out
}

func (s *server) VerifyPlaintext(ctx context.Context, req *pluginv1.VerifyPlaintextRequest) (_ *pluginv1.VerifyPlaintextResponse, err error) {
	defer recoverCall("VerifyPlaintext", &err)
	if s.plaintext == nil {
		return nil, unimplemented("VerifyPlaintext", CapVerifyPlaintext, "sdk.PlaintextVerifier")
	}
	ctx = withCallingStation(ctx, req.GetCallingStationId())
	attach := s.identityFor(ctx, req.GetUser())
	v, err := s.plaintext.VerifyPlaintext(ctx, req.GetUser(), string(req.GetSecret()))
	if err != nil {
		_ = attach(&pluginv1.Verdict{})
		return nil, rpcError("VerifyPlaintext", err)
	}
	pv := verdictToProto(v)
	if err := attach(pv); err != nil {
		return nil, rpcError("VerifyPlaintext", err)
	}
	return &pluginv1.VerifyPlaintextResponse{Verdict: pv}, nil
}

// identityFor starts the back-end's own Lookup of user, in-process and in
// parallel with the verification, for the identity Describe promised in
// accepting verdicts (identity_in_verdicts): one round trip from the host
// instead of two. attach waits for it and puts it into v when v accepts;
// otherwise the look-up is abandoned. When Describe promised nothing,
// attach does nothing.
func (s *server) identityFor(ctx context.Context, user string) (attach func(v *pluginv1.Verdict) error) {
	if !s.identityInVerdicts.Load() {
		return func(*pluginv1.Verdict) error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	type answer struct {
		id  Identity
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- answer{err: fmt.Errorf("Lookup panicked: %v", r)}
			}
		}()
		id, err := s.identity.Lookup(ctx, user)
		ch <- answer{id, err}
	}()
	return func(v *pluginv1.Verdict) error {
		defer cancel()
		if !v.GetOk() {
			return nil
		}
		a := <-ch
		if a.err != nil {
			return fmt.Errorf("identity after the verification: %w", a.err)
		}
		v.Identity = lookupToProto(a.id)
		return nil
	}
}

func (s *server) VerifyMSCHAPv2(ctx context.Context, req *pluginv1.VerifyMSCHAPv2Request) (_ *pluginv1.VerifyMSCHAPv2Response, err error) {
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
	attach := s.identityFor(ctx, req.GetUser())
	v, err := s.mschapv2.VerifyMSCHAPv2(ctx, req.GetUser(), r)
	if err != nil {
		_ = attach(&pluginv1.Verdict{})
		return nil, rpcError("VerifyMSCHAPv2", err)
	}
	resp := &pluginv1.VerifyMSCHAPv2Response{Verdict: verdictToProto(v.Verdict)}
	if !v.OK {
		_ = attach(resp.Verdict)
		return resp, nil
	}
	if err := setMSCHAPv2Proof(resp, v); err != nil {
		_ = attach(&pluginv1.Verdict{})
		return nil, status.Errorf(codes.Internal, "VerifyMSCHAPv2: %v", err)
	}
	if err := attach(resp.Verdict); err != nil {
		return nil, rpcError("VerifyMSCHAPv2", err)
	}
	return resp, nil
}

// setMSCHAPv2Proof checks that an accepting verdict carries exactly one
// proof and puts it into resp.
func setMSCHAPv2Proof(resp *pluginv1.VerifyMSCHAPv2Response, v MSCHAPv2Verdict) error {
	delegated := v.AuthenticatorResponse != "" || v.SendKey != nil || v.RecvKey != nil
	switch {
	case v.PasswordHashHash != nil && delegated:
		return errors.New("the verdict sets both PasswordHashHash and the authenticator response or keys; set one")
	case v.PasswordHashHash != nil:
		resp.Proof = &pluginv1.VerifyMSCHAPv2Response_PasswordHashHash{PasswordHashHash: v.PasswordHashHash[:]}
		return nil
	case v.AuthenticatorResponse == "" || v.SendKey == nil || v.RecvKey == nil:
		return errors.New("an accepting verdict needs PasswordHashHash, or AuthenticatorResponse with both SendKey and RecvKey")
	}
	resp.Proof = &pluginv1.VerifyMSCHAPv2Response_Authenticator{Authenticator: &pluginv1.AuthenticatorResult{
		AuthenticatorResponse: v.AuthenticatorResponse,
		MppeSendKey:           v.SendKey[:],
		MppeRecvKey:           v.RecvKey[:],
	}}
	return nil
}

func (s *server) Commit(ctx context.Context, req *pluginv1.CommitRequest) (_ *pluginv1.CommitResponse, err error) {
	defer recoverCall("Commit", &err)
	if s.committer == nil {
		// Nothing to consume: see Committer.
		return &pluginv1.CommitResponse{}, nil
	}
	if err := s.committer.Commit(ctx, req.GetUser(), req.GetToken()); err != nil {
		return nil, rpcError("Commit", err)
	}
	return &pluginv1.CommitResponse{}, nil
}

func (s *server) Lookup(ctx context.Context, req *pluginv1.LookupRequest) (_ *pluginv1.LookupResponse, err error) {
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

func lookupToProto(id Identity) *pluginv1.LookupResponse {
	r := &pluginv1.LookupResponse{Found: id.Found, Disabled: id.Disabled, Locked: id.Locked, Groups: id.Groups}
	if len(id.Attributes) > 0 {
		r.Attributes = make(map[string]*pluginv1.StringList, len(id.Attributes))
		for k, v := range id.Attributes {
			r.Attributes[k] = &pluginv1.StringList{Values: v}
		}
	}
	return r
}

func (s *server) Health(ctx context.Context, _ *pluginv1.HealthRequest) (_ *pluginv1.HealthResponse, err error) {
	defer recoverCall("Health", &err)
	if s.health == nil {
		return &pluginv1.HealthResponse{Ok: true}, nil
	}
	if err := s.health.Health(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, rpcError("Health", err)
		}
		return &pluginv1.HealthResponse{Ok: false, Message: err.Error()}, nil
	}
	return &pluginv1.HealthResponse{Ok: true}, nil
}
