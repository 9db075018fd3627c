package authpolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Recheck is the engine's answer on a login it accepted earlier: does the
// user still get in, as far as can be told without the secrets?
type Recheck struct {
	// Allowed is false when the login would be refused now; Reason says
	// why ("account \"bob\" is disabled in Password").
	Allowed bool
	Reason  string
	// Identity is what the identity back-ends know of the user now, with
	// the login's verdict attributes (Result.VerdictAttributes) kept. Set
	// when Allowed.
	Identity Identity
}

// Recheck decides again a login that res records (an accepted Result of
// this engine or of one before a reload) without the secrets: the service
// must still exist and have a branch whose factors the login proved (a
// subset of res.Branch's), and every identity back-end of that branch must
// still know the user, neither disabled nor locked. A back-end that cannot
// answer is an error, not a refusal: the caller decides (the gateway keeps
// the session and tries again later, so a directory outage does not end
// every session).
func (e *Engine) Recheck(ctx context.Context, res *Result) (Recheck, error) {
	s, ok := e.services[res.Service]
	if !ok {
		return Recheck{Reason: fmt.Sprintf("service %q is no longer configured", res.Service)}, nil
	}
	proven := strings.Split(res.Branch, " and ")
	var branch *Branch
	for i, b := range s.policy.Branches {
		if !slices.ContainsFunc(b.Factors, func(f string) bool { return !slices.Contains(proven, f) }) {
			branch = &s.policy.Branches[i]
			break
		}
	}
	if branch == nil {
		return Recheck{Reason: fmt.Sprintf("the policy of service %q (%s) no longer accepts %q", s.Name, s.policy.Source, res.Branch)}, nil
	}
	ev := &evaluation{engine: e, svc: s, branch: *branch, cred: Credential{User: res.User}}
	ctx, cancel := context.WithTimeout(ctx, s.LoginTimeout)
	defer cancel()
	var id Identity
	for _, name := range branch.Factors {
		b := ev.backend(name)
		if !b.Info().Capabilities.Has(CapIdentity) {
			continue
		}
		got, err := call(ctx, ev, name, func(ctx context.Context) (Identity, error) {
			return b.Lookup(ctx, res.User)
		})
		if err != nil {
			return Recheck{}, fmt.Errorf("recheck %q: %w", res.User, err)
		}
		if !got.Found {
			return Recheck{Reason: fmt.Sprintf("%s no longer knows user %q", name, res.User)}, nil
		}
		if err := ev.usable(name, got); err != nil {
			var r *rejection
			if errors.As(err, &r) {
				return Recheck{Reason: r.reason}, nil
			}
			return Recheck{}, err
		}
		id = mergeIdentity(id, got)
	}
	id = mergeIdentity(id, Identity{Attributes: res.VerdictAttributes})
	id.Found = true
	return Recheck{Allowed: true, Identity: id}, nil
}
