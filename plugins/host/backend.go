package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// Every call below goes through plugin.call: a deadline (Spec.CallTimeout),
// a call slot (Spec.MaxConcurrent), the current process (waiting for a
// restart within the deadline), and one shape of failure: an error naming
// the plugin and the call, logged at warn. Replies are checked before they
// are believed; a malformed one is an error too, logged the same way.
// Nothing here ever turns a failure into an accept.

var _ authpolicy.Backend = (*plugin)(nil)

// ErrMalformedReply marks a reply that breaks the protocol (a key of the
// wrong length, an accept without proof).
var ErrMalformedReply = errors.New("malformed reply")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedReply, fmt.Sprintf(format, args...))
}

// Info returns what the plugin said in its last Describe; before the first
// one, no capabilities.
func (p *plugin) Info() authpolicy.Info {
	if i := p.info.Load(); i != nil {
		return *i
	}
	return authpolicy.Info{}
}

// call sends req as method m to the current process and unmarshals the
// answer into resp. secret, when not empty, is scrubbed from the plugin's
// error text.
//
// Its deadline is Spec.CallTimeout from now, or ctx's if earlier. It makes
// no timer of its own on the way of an answered call: the channel's
// reader enforces deadlines (see channel.Client); a timer is made only to
// wait for a call slot or a restart.
func (p *plugin) call(ctx context.Context, m pluginv2.Method, user, secret string, req, resp proto.Message) (err error) {
	start := time.Now()
	if f := p.host.onCall.Load(); f != nil {
		defer func() { (*f)(CallStat{Plugin: p.spec.Name, Call: m.Name(), Duration: time.Since(start), Err: err}) }()
	}
	deadline := start.Add(p.spec.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	select {
	case p.sem <- struct{}{}:
	default:
		if err := p.waitSlot(ctx, deadline); err != nil {
			return p.fail(m, user, fmt.Errorf("all %d call slots busy for %v: %w", cap(p.sem), time.Since(start).Round(time.Millisecond), err))
		}
	}
	defer func() { <-p.sem }()
	c, err := p.current(ctx, deadline)
	if err != nil {
		return p.fail(m, user, err)
	}
	err = c.calls.Call(ctx, deadline, m, req, resp)
	if err == nil {
		return nil
	}
	if errors.Is(err, channel.ErrBroken) {
		// The process died or the connection broke: take it out of
		// service now, so the next call waits for the restart instead of
		// failing the same way.
		p.retire(c, StateRestarting, fmt.Errorf("%s: connection lost: %v", m.Name(), err))
		c.markLost(err)
	}
	// gRPC (version 1) enforces the deadline with its own timer, which
	// can fire a moment before ours: judge by the clock too.
	var re *channel.RemoteError
	switch {
	case !time.Now().Before(deadline) || errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &re):
		if c.channel != nil && !errors.Is(err, channel.ErrBroken) {
			p.suspect()
		}
		err = fmt.Errorf("no answer within %v: %w", deadline.Sub(start).Round(time.Millisecond), context.DeadlineExceeded)
	case ctx.Err() != nil:
		err = ctx.Err()
	default:
		err = scrub(callCause(err), secret)
	}
	return p.fail(m, user, err)
}

// waitSlot waits for a call slot until ctx ends or deadline passes; the
// wait and its failure are counted.
func (p *plugin) waitSlot(ctx context.Context, deadline time.Time) error {
	p.counters.waited.Add(1)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		p.counters.refused.Add(1)
		return ctx.Err()
	case <-t.C:
		p.counters.refused.Add(1)
		return context.DeadlineExceeded
	}
}

// fail logs a failed call and names the plugin and the call in the error.
func (p *plugin) fail(m pluginv2.Method, user string, cause error) error {
	method := m.Name()
	err := fmt.Errorf("plugin %s: %s: %w", p.spec.Name, method, cause)
	if ok, suppressed := p.warnings.allow(time.Now()); ok {
		attrs := []slog.Attr{slog.String("call", method), slog.String("user", user), slog.String("cause", cause.Error())}
		if suppressed > 0 {
			attrs = append(attrs, slog.Int("suppressed", suppressed))
		}
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "plugin call failed", attrs...)
	}
	return err
}

// callCause turns a failed call's error into words an operator can act
// on.
func callCause(err error) error {
	var pe *permanentError
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, channel.ErrBroken) {
		return fmt.Errorf("connection to the plugin lost (its process exited or crashed): %v", err)
	}
	var re *channel.RemoteError
	if !errors.As(err, &re) {
		return err
	}
	switch code := codes.Code(re.Code); code {
	case codes.Unimplemented:
		return fmt.Errorf("the plugin does not implement this call: %s", re.Message)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", re.Message, context.DeadlineExceeded)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", re.Message, context.Canceled)
	default:
		return fmt.Errorf("the plugin answered with an error (%s): %s", code, re.Message)
	}
}

// scrub removes secret from the text of err: a plugin should never put a
// secret into an error, and the gateway does not rely on it. The result
// does not unwrap, so that the original text cannot be reached.
// Secrets shorter than minScrub are left alone: replacing every "x" would
// garble the message without hiding anything.
func scrub(err error, secret string) error {
	msg := err.Error()
	if len(secret) < minScrub || !strings.Contains(msg, secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, secret, "REDACTED"))
}

const minScrub = 4

// maxFragments bounds a Fragments reply.
const maxFragments = 4096

func (p *plugin) Fragments(ctx context.Context, user string) ([]authpolicy.Fragment, error) {
	r := &pluginv2.FragmentsResponse{}
	if err := p.call(ctx, pluginv2.Method_METHOD_FRAGMENTS, user, "", &pluginv2.FragmentsRequest{User: user}, r); err != nil {
		return nil, err
	}
	out, err := fragmentsOf(r, p.Info())
	if err != nil {
		return nil, p.fail(pluginv2.Method_METHOD_FRAGMENTS, user, err)
	}
	return out, nil
}

// fragmentsOf checks a Fragments answer against the declared lengths, and
// gives each fragment the answer's identity when the plugin promised it.
// A missing identity is left for the engine to refuse (see
// authpolicy.Info.IdentityInFragments).
func fragmentsOf(r *pluginv2.FragmentsResponse, info authpolicy.Info) ([]authpolicy.Fragment, error) {
	frags, lengths := r.GetFragments(), info.FragmentLengths
	if len(frags) > maxFragments {
		return nil, malformed("%d fragments, more than %d", len(frags), maxFragments)
	}
	var id *authpolicy.Identity
	if info.IdentityInFragments && r.GetIdentity() != nil {
		v := identityOf(r.GetIdentity())
		id = &v
	}
	out := make([]authpolicy.Fragment, 0, len(frags))
	for i, f := range frags {
		switch n := len(f.GetSecret()); {
		case n == 0:
			return nil, malformed("fragment %d has an empty secret", i)
		case len(lengths) > 0 && !slices.Contains(lengths, n):
			return nil, malformed("fragment %d is %d bytes long; the plugin declared lengths %v", i, n, lengths)
		}
		out = append(out, authpolicy.Fragment{Secret: authpolicy.NewSecret(string(f.GetSecret())), Token: f.GetToken(), Identity: id})
	}
	return out, nil
}

func verdictOf(v *pluginv2.Verdict) (authpolicy.Verdict, error) {
	if v == nil {
		return authpolicy.Verdict{}, malformed("no verdict")
	}
	out := authpolicy.Verdict{OK: v.GetOk(), Reason: v.GetReason(), Token: v.GetToken()}
	if !out.OK && v.GetMschapError() < 10000 {
		out.MSCHAPError = int(v.GetMschapError())
	}
	if out.OK {
		out.Attributes = attributesOf(v.GetAttributes())
	}
	if out.OK && v.GetIdentity() != nil {
		id := identityOf(v.GetIdentity())
		out.Identity = &id
	}
	return out, nil
}

// identityOf maps a Lookup answer, or the identity in a verdict.
func identityOf(r *pluginv2.LookupResponse) authpolicy.Identity {
	return authpolicy.Identity{Found: r.GetFound(), Disabled: r.GetDisabled(), Locked: r.GetLocked(), Groups: r.GetGroups(),
		Attributes: attributesOf(r.GetAttributes())}
}

// attributesOf is an attribute map from the wire; nil when empty.
func attributesOf(attrs map[string]*pluginv2.StringList) map[string][]string {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string][]string, len(attrs))
	for k, vs := range attrs {
		out[k] = vs.GetValues()
	}
	return out
}

func (p *plugin) VerifyPlaintext(ctx context.Context, user string, secret authpolicy.Secret) (authpolicy.Verdict, error) {
	const m = pluginv2.Method_METHOD_VERIFY_PLAINTEXT
	r := &pluginv2.VerifyPlaintextResponse{}
	req := &pluginv2.VerifyPlaintextRequest{User: user, Secret: []byte(secret.Reveal()), CallingStationId: authpolicy.CallingStation(ctx),
		ChallengeOk: authpolicy.BackendChallengeAllowed(ctx), Continuation: authpolicy.Continuation(ctx)}
	if err := p.call(ctx, m, user, secret.Reveal(), req, r); err != nil {
		return authpolicy.Verdict{}, err
	}
	out, err := verdictOf(r.GetVerdict())
	if err != nil {
		return authpolicy.Verdict{}, p.fail(m, user, err)
	}
	if out.Challenge, err = challengeOf(r.GetVerdict(), req.GetChallengeOk()); err != nil {
		return authpolicy.Verdict{}, p.fail(m, user, err)
	}
	return out, nil
}

// challengeOf maps a verdict's challenge (a back-end's upstream
// Access-Challenge). One the host did not allow (challenge_ok unset) is
// dropped: the verdict stays the refusal its reason gives. One on an
// accept, or with a continuation over authpolicy.MaxContinuation, is
// malformed.
func challengeOf(v *pluginv2.Verdict, allowed bool) (*authpolicy.BackendChallenge, error) {
	c := v.GetChallenge()
	switch {
	case c == nil || !allowed:
		return nil, nil
	case v.GetOk():
		return nil, malformed("an accept with a challenge")
	case len(c.GetContinuation()) > authpolicy.MaxContinuation:
		return nil, malformed("a challenge's continuation is %d bytes, more than %d", len(c.GetContinuation()), authpolicy.MaxContinuation)
	}
	return &authpolicy.BackendChallenge{Message: c.GetMessage(), Continuation: c.GetContinuation()}, nil
}

func (p *plugin) VerifyMSCHAPv2(ctx context.Context, user string, req *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	const m = pluginv2.Method_METHOD_VERIFY_MSCHAPV2
	r := &pluginv2.VerifyMSCHAPv2Response{}
	if err := p.call(ctx, m, user, "", &pluginv2.VerifyMSCHAPv2Request{
		User:                   user,
		AuthenticatorChallenge: req.AuthenticatorChallenge[:],
		PeerChallenge:          req.PeerChallenge[:],
		NtResponse:             req.NTResponse[:],
		UserName:               req.UserName,
		CallingStationId:       authpolicy.CallingStation(ctx),
	}, r); err != nil {
		return authpolicy.MSCHAPv2Verdict{}, err
	}
	out, err := mschapv2VerdictOf(r)
	if err != nil {
		return authpolicy.MSCHAPv2Verdict{}, p.fail(m, user, err)
	}
	return out, nil
}

// mschapv2VerdictOf checks that an accept carries one well-formed proof.
// A rejection's proof fields are ignored.
func mschapv2VerdictOf(r *pluginv2.VerifyMSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	v, err := verdictOf(r.GetVerdict())
	if err != nil || !v.OK {
		return authpolicy.MSCHAPv2Verdict{Verdict: v}, err
	}
	out := authpolicy.MSCHAPv2Verdict{Verdict: v}
	switch proof := r.GetProof().(type) {
	case *pluginv2.VerifyMSCHAPv2Response_PasswordHashHash:
		if n := len(proof.PasswordHashHash); n != 16 {
			return authpolicy.MSCHAPv2Verdict{}, malformed("password_hash_hash is %d bytes, not 16", n)
		}
		out.PasswordHashHash = (*[16]byte)(slices.Clone(proof.PasswordHashHash))
	case *pluginv2.VerifyMSCHAPv2Response_Authenticator:
		a := proof.Authenticator
		if !validAuthenticatorResponse(a.GetAuthenticatorResponse()) {
			return authpolicy.MSCHAPv2Verdict{}, malformed("authenticator_response is not \"S=\" and 40 hexadecimal digits (%d characters)", len(a.GetAuthenticatorResponse()))
		}
		send, recv := a.GetMppeSendKey(), a.GetMppeRecvKey()
		if len(send) != 16 || len(recv) != 16 {
			return authpolicy.MSCHAPv2Verdict{}, malformed("MPPE keys are %d and %d bytes, not 16", len(send), len(recv))
		}
		out.AuthenticatorResponse = a.GetAuthenticatorResponse()
		out.Keys = &authpolicy.MPPEKeys{Send: [16]byte(send), Recv: [16]byte(recv)}
	default:
		return authpolicy.MSCHAPv2Verdict{}, malformed("an accept without password_hash_hash or authenticator result")
	}
	return out, nil
}

// validAuthenticatorResponse checks the form of RFC 2759 section 8.7's
// "S=" followed by 40 hexadecimal digits.
func validAuthenticatorResponse(s string) bool {
	if len(s) != 42 || !strings.HasPrefix(s, "S=") {
		return false
	}
	for _, c := range s[2:] {
		if !strings.ContainsRune("0123456789ABCDEFabcdef", c) {
			return false
		}
	}
	return true
}

func (p *plugin) Commit(ctx context.Context, user string, token string) error {
	return p.call(ctx, pluginv2.Method_METHOD_COMMIT, user, "", &pluginv2.CommitRequest{User: user, Token: token}, &pluginv2.CommitResponse{})
}

func (p *plugin) Lookup(ctx context.Context, user string) (authpolicy.Identity, error) {
	r := &pluginv2.LookupResponse{}
	if err := p.call(ctx, pluginv2.Method_METHOD_LOOKUP, user, "", &pluginv2.LookupRequest{User: user}, r); err != nil {
		return authpolicy.Identity{}, err
	}
	return identityOf(r), nil
}
