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
	"google.golang.org/grpc/status"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// Every call below goes through plugin.call: a deadline (Spec.CallTimeout),
// a call slot (Spec.MaxConcurrent), the current process (waiting for a
// restart within the deadline), and one shape of failure: an error naming
// the plugin and the call, logged at warn. Replies are checked before they
// are believed; a malformed one is an error too. Nothing here ever turns a
// failure into an accept.

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

// call runs fn against the current process. secret, when not empty, is
// scrubbed from the plugin's error text.
func (p *plugin) call(ctx context.Context, method, user, secret string, fn func(context.Context, pluginv1.BackendClient) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.spec.CallTimeout)
	defer cancel()
	start := time.Now()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return p.fail(method, user, fmt.Errorf("all %d call slots busy for %v: %w", cap(p.sem), time.Since(start).Round(time.Millisecond), ctx.Err()))
	}
	defer func() { <-p.sem }()
	c, err := p.current(ctx)
	if err != nil {
		return p.fail(method, user, err)
	}
	err = fn(ctx, c.rpc)
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.Unavailable {
		// The process died or the connection broke: take it out of
		// service now, so the next call waits for the restart instead of
		// failing the same way.
		p.retire(c, StateRestarting, fmt.Errorf("%s: connection lost: %s", method, status.Convert(err).Message()))
		c.markLost(err)
	}
	// gRPC enforces the deadline with its own timer, which can fire a
	// moment before the context's: judge by the clock, not only ctx.Err.
	dl, _ := ctx.Deadline()
	switch {
	case ctx.Err() == context.DeadlineExceeded || !time.Now().Before(dl) || status.Code(err) == codes.DeadlineExceeded:
		err = fmt.Errorf("no answer within %v: %w", dl.Sub(start).Round(time.Millisecond), context.DeadlineExceeded)
	case ctx.Err() != nil:
		err = ctx.Err()
	default:
		err = scrub(rpcCause(err), secret)
	}
	return p.fail(method, user, err)
}

// fail logs a failed call and names the plugin and the call in the error.
func (p *plugin) fail(method, user string, cause error) error {
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

// rpcCause turns a gRPC error into words an operator can act on.
func rpcCause(err error) error {
	var pe *permanentError
	if errors.As(err, &pe) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("connection to the plugin lost (its process exited or crashed): %s", st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("the plugin does not implement this call: %s", st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	}
	return fmt.Errorf("the plugin answered with an error (%s): %s", st.Code(), st.Message())
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
	var out []authpolicy.Fragment
	err := p.call(ctx, "Fragments", user, "", func(ctx context.Context, rpc pluginv1.BackendClient) error {
		r, err := rpc.Fragments(ctx, &pluginv1.FragmentsRequest{User: user})
		if err != nil {
			return err
		}
		frags := r.GetFragments()
		if len(frags) > maxFragments {
			return malformed("%d fragments, more than %d", len(frags), maxFragments)
		}
		lengths := p.Info().FragmentLengths
		out = make([]authpolicy.Fragment, 0, len(frags))
		for i, f := range frags {
			switch n := len(f.GetSecret()); {
			case n == 0:
				return malformed("fragment %d has an empty secret", i)
			case len(lengths) > 0 && !slices.Contains(lengths, n):
				return malformed("fragment %d is %d bytes long; the plugin declared lengths %v", i, n, lengths)
			}
			out = append(out, authpolicy.Fragment{Secret: authpolicy.NewSecret(string(f.GetSecret())), Token: f.GetToken()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func verdictOf(v *pluginv1.Verdict) (authpolicy.Verdict, error) {
	if v == nil {
		return authpolicy.Verdict{}, malformed("no verdict")
	}
	out := authpolicy.Verdict{OK: v.GetOk(), Reason: v.GetReason(), Token: v.GetToken()}
	if !out.OK && v.GetMschapError() < 10000 {
		out.MSCHAPError = int(v.GetMschapError())
	}
	if out.OK && len(v.GetAttributes()) > 0 {
		out.Attributes = make(map[string][]string, len(v.GetAttributes()))
		for k, vs := range v.GetAttributes() {
			out.Attributes[k] = vs.GetValues()
		}
	}
	if out.OK && v.GetIdentity() != nil {
		id := identityOf(v.GetIdentity())
		out.Identity = &id
	}
	return out, nil
}

// identityOf maps a Lookup answer, or the identity in a verdict.
func identityOf(r *pluginv1.LookupResponse) authpolicy.Identity {
	out := authpolicy.Identity{Found: r.GetFound(), Disabled: r.GetDisabled(), Locked: r.GetLocked(), Groups: r.GetGroups()}
	if len(r.GetAttributes()) > 0 {
		out.Attributes = make(map[string][]string, len(r.GetAttributes()))
		for k, v := range r.GetAttributes() {
			out.Attributes[k] = v.GetValues()
		}
	}
	return out
}

func (p *plugin) VerifyPlaintext(ctx context.Context, user string, secret authpolicy.Secret) (authpolicy.Verdict, error) {
	var out authpolicy.Verdict
	err := p.call(ctx, "VerifyPlaintext", user, secret.Reveal(), func(ctx context.Context, rpc pluginv1.BackendClient) error {
		r, err := rpc.VerifyPlaintext(ctx, &pluginv1.VerifyPlaintextRequest{User: user, Secret: []byte(secret.Reveal()), CallingStationId: authpolicy.CallingStation(ctx)})
		if err != nil {
			return err
		}
		out, err = verdictOf(r.GetVerdict())
		return err
	})
	if err != nil {
		return authpolicy.Verdict{}, err
	}
	return out, nil
}

func (p *plugin) VerifyMSCHAPv2(ctx context.Context, user string, req *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	var out authpolicy.MSCHAPv2Verdict
	err := p.call(ctx, "VerifyMSCHAPv2", user, "", func(ctx context.Context, rpc pluginv1.BackendClient) error {
		r, err := rpc.VerifyMSCHAPv2(ctx, &pluginv1.VerifyMSCHAPv2Request{
			User:                   user,
			AuthenticatorChallenge: req.AuthenticatorChallenge[:],
			PeerChallenge:          req.PeerChallenge[:],
			NtResponse:             req.NTResponse[:],
			UserName:               req.UserName,
			CallingStationId:       authpolicy.CallingStation(ctx),
		})
		if err != nil {
			return err
		}
		out, err = mschapv2VerdictOf(r)
		return err
	})
	if err != nil {
		return authpolicy.MSCHAPv2Verdict{}, err
	}
	return out, nil
}

// mschapv2VerdictOf checks that an accept carries one well-formed proof.
// A rejection's proof fields are ignored.
func mschapv2VerdictOf(r *pluginv1.VerifyMSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	v, err := verdictOf(r.GetVerdict())
	if err != nil || !v.OK {
		return authpolicy.MSCHAPv2Verdict{Verdict: v}, err
	}
	out := authpolicy.MSCHAPv2Verdict{Verdict: v}
	switch proof := r.GetProof().(type) {
	case *pluginv1.VerifyMSCHAPv2Response_PasswordHashHash:
		if n := len(proof.PasswordHashHash); n != 16 {
			return authpolicy.MSCHAPv2Verdict{}, malformed("password_hash_hash is %d bytes, not 16", n)
		}
		out.PasswordHashHash = (*[16]byte)(slices.Clone(proof.PasswordHashHash))
	case *pluginv1.VerifyMSCHAPv2Response_Authenticator:
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
	return p.call(ctx, "Commit", user, "", func(ctx context.Context, rpc pluginv1.BackendClient) error {
		_, err := rpc.Commit(ctx, &pluginv1.CommitRequest{User: user, Token: token})
		return err
	})
}

func (p *plugin) Lookup(ctx context.Context, user string) (authpolicy.Identity, error) {
	var out authpolicy.Identity
	err := p.call(ctx, "Lookup", user, "", func(ctx context.Context, rpc pluginv1.BackendClient) error {
		r, err := rpc.Lookup(ctx, &pluginv1.LookupRequest{User: user})
		if err != nil {
			return err
		}
		out = identityOf(r)
		return nil
	})
	if err != nil {
		return authpolicy.Identity{}, err
	}
	return out, nil
}
