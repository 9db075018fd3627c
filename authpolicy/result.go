package authpolicy

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Outcome is what happened to one branch of a policy during a login.
type Outcome uint8

const (
	// NotTried: an earlier branch decided.
	NotTried Outcome = iota
	// Accepted: every factor matched; this branch decided.
	Accepted
	// Rejected: a factor did not match (wrong secret, no token, disabled).
	Rejected
	// Failed: a back-end could not decide (error, crash, deadline). The
	// branch fails closed.
	Failed
	// Skipped: the branch cannot work for this kind of credential.
	Skipped
	// Challenged: the branch's back-end asked a second question (an
	// upstream RADIUS Access-Challenge) that the front door passes on to
	// the user (Result.BackendChallenge); nothing matched yet.
	Challenged
)

func (o Outcome) String() string {
	switch o {
	case NotTried:
		return "not-tried"
	case Accepted:
		return "accepted"
	case Rejected:
		return "rejected"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	case Challenged:
		return "challenged"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// BranchResult records one branch's part in a decision.
type BranchResult struct {
	Branch   string
	Outcome  Outcome
	Reason   string
	Duration time.Duration
}

// Result is the engine's decision on one login. A rejected login is a Result
// with Accepted false; the reasons say why each branch did not decide.
type Result struct {
	Accepted bool
	Service  string
	User     string
	Kind     CredentialKind
	// Branch is the branch that decided (empty when rejected).
	Branch   string
	Branches []BranchResult
	Duration time.Duration
	// DryRun: nothing was committed (no one-time code consumed).
	DryRun bool

	// On success, what the PPP layer sends and keys with: the
	// authenticator response (MS-CHAPv2 only) and the MPPE master keys
	// (MS-CHAPv2 and MS-CHAPv1; MS-CHAPv1 has one key for both
	// directions, so Send equals Recv).
	AuthenticatorResponse string
	Keys                  *MPPEKeys

	// Identity merges what the deciding branch's identity back-ends know.
	Identity Identity
	// VerdictAttributes are the part of Identity.Attributes that came with
	// the verdicts (a RADIUS server's Filter-Id or Class) rather than from
	// an identity back-end: Recheck cannot ask for them again and keeps
	// them.
	VerdictAttributes map[string][]string

	// Denied: a branch matched every factor but the caller's Approval
	// (WithApproval) refused the user; the secrets were right. A lockout
	// does not count such a login as a failed guess.
	Denied bool

	// Challenge, when rejected, says that a one-time code would complete
	// the login: set only when the caller allowed it (WithChallenge) and
	// the typed secret was right for every other factor of a branch.
	Challenge *Challenge

	// BackendChallenge, when rejected, says that a back-end (an upstream
	// RADIUS server behind it) asked a second question the user may
	// answer: the branch's outcome is Challenged. Set only when the caller
	// allowed it (WithChallenge), for a Plaintext login, and when the
	// back-end is its branch's only factor. See [BackendChallenge].
	BackendChallenge *BackendChallenge

	// MSCHAPError, when rejected, is the first MS-CHAP error code (RFC 2759
	// section 6: 646, 647, 648, 649, 691, 709) that a back-end reported,
	// in branch order, for the PPP layer's Failure packet; 0 when none did
	// (send 691).
	MSCHAPError int
}

// Reason summarises why a login was rejected, one clause per branch:
// `"Password and OATH": rejected: ...; "DIGIPASS": failed: ...`.
func (r *Result) Reason() string {
	if r.Accepted {
		return fmt.Sprintf("accepted by branch %q", r.Branch)
	}
	var parts []string
	for _, b := range r.Branches {
		if b.Outcome == NotTried {
			continue
		}
		parts = append(parts, fmt.Sprintf("%q %s: %s", b.Branch, b.Outcome, b.Reason))
	}
	if len(parts) == 0 {
		return "no branch could be tried"
	}
	return strings.Join(parts, "; ")
}

// LogValue implements slog.LogValuer; it never includes key material.
func (r *Result) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("service", r.Service),
		slog.String("user", r.User),
		slog.String("credential", r.Kind.String()),
		slog.Bool("accepted", r.Accepted),
		slog.Duration("duration", r.Duration),
	}
	if r.Accepted {
		attrs = append(attrs, slog.String("branch", r.Branch))
	}
	if r.DryRun {
		attrs = append(attrs, slog.Bool("dry_run", true))
	}
	if r.Challenge != nil {
		attrs = append(attrs, slog.String("challenge", r.Challenge.Branch))
	}
	if r.BackendChallenge != nil {
		attrs = append(attrs, slog.String("challenged_by", r.BackendChallenge.Backend))
	}
	var bs []any
	for _, b := range r.Branches {
		if b.Outcome == NotTried {
			continue
		}
		bs = append(bs, slog.Group(b.Branch,
			slog.String("outcome", b.Outcome.String()),
			slog.String("reason", b.Reason),
			slog.Duration("duration", b.Duration)))
	}
	if len(bs) > 0 {
		attrs = append(attrs, slog.Group("branches", bs...))
	}
	return slog.GroupValue(attrs...)
}

// LogValue implements slog.LogValuer: keys are never logged.
func (MPPEKeys) LogValue() slog.Value { return slog.StringValue(redacted) }

// String implements fmt.Stringer: keys are never printed.
func (MPPEKeys) String() string { return redacted }

// Format implements fmt.Formatter so that no verb prints the keys.
func (MPPEKeys) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }
