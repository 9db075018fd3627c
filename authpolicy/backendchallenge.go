package authpolicy

import (
	"context"
	"fmt"
	"log/slog"
)

// MaxContinuation bounds BackendChallenge.Continuation, in bytes.
const MaxContinuation = 1024

// BackendChallenge is a back-end's "challenged" verdict (the radius
// back-end's upstream server answered Access-Challenge): the prompt to show
// and what the back-end needs to resume. The front door that can show a
// second prompt (the RADIUS front door, to a PAP client) keeps it under a
// State of its own, shows Message, and decides the answer with
// [WithResume]: the engine then evaluates Branch alone and hands
// Continuation back to Backend with the answer as the secret.
//
// The engine asks a back-end for one only when the login allows
// challenges ([WithChallenge]), its credential is Plaintext, and the
// back-end is the only factor of its branch: the answer is the back-end's
// alone. Otherwise the back-end refuses, with its reason.
type BackendChallenge struct {
	// Backend is the back-end that was challenged; Branch its branch, as
	// in BranchResult.Branch. Set by the engine.
	Backend, Branch string
	// Message is the prompt (an upstream Reply-Message); may be empty.
	Message string
	// Continuation is opaque, the back-end's own (the upstream State and
	// server). It must never leave the gateway: it prints and logs
	// redacted.
	Continuation []byte
}

// String implements fmt.Stringer without the continuation.
func (c *BackendChallenge) String() string {
	return fmt.Sprintf("challenged by %s (branch %q)", c.Backend, c.Branch)
}

// LogValue implements slog.LogValuer without the continuation.
func (c *BackendChallenge) LogValue() slog.Value {
	return slog.GroupValue(slog.String("backend", c.Backend), slog.String("branch", c.Branch))
}

// Wipe overwrites the continuation.
func (c *BackendChallenge) Wipe() {
	if c != nil {
		clear(c.Continuation)
		c.Continuation = nil
	}
}

type backendChallengeKey struct{}

type resumeKey struct{}

type continuationKey struct{}

// BackendChallengeAllowed reports, inside a back-end's VerifyPlaintext,
// whether it may answer with a Verdict carrying a Challenge: the engine
// sets it for the login's only factor of a branch when the caller allowed
// challenges. The plugin host passes it on (challenge_ok).
func BackendChallengeAllowed(ctx context.Context) bool {
	on, _ := ctx.Value(backendChallengeKey{}).(bool)
	return on
}

// Continuation returns, inside a back-end's VerifyPlaintext, the
// continuation of the challenge whose answer the secret is, or nil.
func Continuation(ctx context.Context) []byte {
	b, _ := ctx.Value(continuationKey{}).([]byte)
	return b
}

// WithResume returns ctx deciding the answer to c: the engine evaluates
// c.Branch alone (every other branch is skipped) and hands c.Continuation
// to c.Backend with the typed secret, which is the user's answer.
func WithResume(ctx context.Context, c *BackendChallenge) context.Context {
	return context.WithValue(ctx, resumeKey{}, c)
}

func resumeOf(ctx context.Context) *BackendChallenge {
	c, _ := ctx.Value(resumeKey{}).(*BackendChallenge)
	return c
}

// challenged is a back-end's challenge in a branch: not a match, not a
// rejection.
type challenged struct {
	c      *BackendChallenge
	reason string
}

func (c *challenged) Error() string { return c.reason }

// backendCallContext is the context of a VerifyPlaintext call to name:
// with the marker that a challenge may be answered, and the continuation
// of the challenge being resumed.
func (ev *evaluation) backendCallContext(ctx context.Context, name string) context.Context {
	if len(ev.branch.Factors) != 1 {
		return ctx
	}
	if ev.offerBackendChallenge {
		ctx = context.WithValue(ctx, backendChallengeKey{}, true)
	}
	if r := ev.resume; r != nil && r.Backend == name && r.Branch == ev.branch.String() {
		ctx = context.WithValue(ctx, continuationKey{}, r.Continuation)
	}
	return ctx
}
