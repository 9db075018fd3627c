package authpolicy

import (
	"context"
	"fmt"
	"slices"
)

// Challenge is the engine's answer to a plaintext login that lacked only
// its one-time code: the other factors of Branch accepted the whole typed
// secret, and the user holds a code for every one of Codes. A front door
// that can show a second prompt (RADIUS Access-Challenge) asks for the
// code and then decides the login again with [Challenge.Complete]'s
// secret, which is what the user would have typed as "password+code".
//
// A Challenge is only ever set on a rejected Result, and only when the
// caller asked for one ([WithChallenge]). It tells whoever sees it that the
// password was right: the front door must show it only to the client that
// typed it. Nothing was committed to find it out.
type Challenge struct {
	// Branch is the branch the code would complete, as in
	// BranchResult.Branch: "Password and OATH".
	Branch string
	// Codes are the branch's one-time-code factors (Info.OneTime), in
	// written order: what the second prompt asks for. Several are typed
	// one after the other, as in the one-line form.
	Codes []string
	// CodeAt is where the codes go in the typed secret, in bytes: the
	// length of the part typed for the factors written before them.
	CodeAt int
}

// Complete returns the secret of the one-line form: first (the secret of
// the first round) with code inserted at CodeAt. The result is a new slice
// the caller may clear; neither argument is changed.
func (c *Challenge) Complete(first, code []byte) []byte {
	at := min(max(c.CodeAt, 0), len(first))
	out := make([]byte, 0, len(first)+len(code))
	out = append(out, first[:at]...)
	out = append(out, code...)
	return append(out, first[at:]...)
}

type challengeKey struct{}

// WithChallenge returns ctx allowing the plaintext logins run with it to
// end in a [Challenge]: when no branch accepts the typed secret, the engine
// looks, branch by branch in order, for one whose factors other than its
// one-time codes accept the whole secret (identity back-ends may still
// refuse a disabled or locked account, and the caller's Approval is
// asked), and whose code back-ends have a code for the user; the first
// such branch is [Result.Challenge]. Nothing is committed. A branch
// qualifies when it has one-time-code factors (Info.OneTime), written next
// to each other, and at least one other factor. The RADIUS front door sets
// it for the first round of a service with challenge on.
func WithChallenge(ctx context.Context) context.Context {
	return context.WithValue(ctx, challengeKey{}, true)
}

func challengeAllowed(ctx context.Context) bool {
	on, _ := ctx.Value(challengeKey{}).(bool)
	return on
}

// codeBlock splits a branch into its one-time-code factors and the others:
// rest are the others in order, codes the one-time factors, and at the
// index in rest before which the codes are typed. ok is false when the
// branch has no one-time factor, only one-time factors, or one-time
// factors with another written between them.
func codeBlock(b Branch, oneTime func(string) bool) (rest, codes []string, at int, ok bool) {
	first, last := -1, -1
	for i, name := range b.Factors {
		if oneTime(name) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil, nil, 0, false
	}
	for _, name := range b.Factors[first : last+1] {
		if !oneTime(name) {
			return nil, nil, 0, false
		}
	}
	rest = slices.Concat(b.Factors[:first], b.Factors[last+1:])
	if len(rest) == 0 {
		return nil, nil, 0, false
	}
	return rest, slices.Clone(b.Factors[first : last+1]), first, true
}

// ChallengeBranches lists the branches that a plaintext login may be
// challenged for (see [WithChallenge]): those combining one-time-code
// factors, written next to each other, with others. A policy without any
// never ends in a Challenge.
func (p *Policy) ChallengeBranches() []string {
	var out []string
	for _, b := range p.Branches {
		if _, _, _, ok := codeBlock(b, func(name string) bool { return p.infos[name].OneTime }); ok {
			out = append(out, b.String())
		}
	}
	return out
}

// challenge sets res.Challenge to the first branch the typed secret
// completes with a one-time code (see WithChallenge), and adds to the
// reason of each branch it tried why that branch does not.
func (e *Engine) challenge(ctx context.Context, s *service, cred Credential, res *Result) {
	for i, b := range s.policy.Branches {
		br := &res.Branches[i]
		if br.Outcome == Skipped {
			continue
		}
		rest, codes, at, ok := codeBlock(b, func(name string) bool { return e.backends[name].Info().OneTime })
		if !ok {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		ev := &evaluation{engine: e, svc: s, branch: Branch{Factors: rest}, cred: cred, dryRun: true}
		if outcome, why := ev.run(ctx); outcome != Accepted {
			br.Reason += fmt.Sprintf(" (without a code: %s %s)", outcome, why)
			continue
		}
		if why := ev.holdsCodes(ctx, codes); why != "" {
			br.Reason += fmt.Sprintf(" (without a code: the rest matched, but %s)", why)
			continue
		}
		codeAt := 0
		for _, n := range ev.split[:at] {
			codeAt += n
		}
		br.Reason += " (without a code: the rest matched; a one-time code would complete it)"
		res.Challenge = &Challenge{Branch: b.String(), Codes: codes, CodeAt: codeAt}
		return
	}
}

// holdsCodes asks each code factor that can list its candidates whether
// the user has any (nothing is consumed); "" when every one has, or cannot
// tell. A back-end that cannot answer is a reason too: the second round
// would fail closed on it.
func (ev *evaluation) holdsCodes(ctx context.Context, codes []string) string {
	for _, name := range codes {
		b := ev.backend(name)
		if !b.Info().Capabilities.Has(CapFragments) {
			continue
		}
		frags, err := call(ctx, ev, name, func(ctx context.Context) ([]Fragment, error) {
			return b.Fragments(ctx, ev.cred.User)
		})
		if err != nil {
			return err.Error()
		}
		if len(frags) == 0 {
			return fmt.Sprintf("%s has no code for user %q", name, ev.cred.User)
		}
	}
	return ""
}
