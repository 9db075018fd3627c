package authpolicy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// evaluation is one branch tried for one login.
type evaluation struct {
	engine *Engine
	svc    *service
	branch Branch
	cred   Credential
	dryRun bool

	// On success.
	authResp string
	keys     *MPPEKeys
	identity Identity
	// commits are the back-end tokens to commit once everything matched.
	commits []commit
	// mschapError is the MS-CHAP error code of a back-end's reject.
	mschapError int
	// denied: every factor matched but the caller's Approval refused.
	denied bool
	// granted are the attributes of the verdicts (not of identity
	// back-ends): Result.VerdictAttributes.
	granted map[string][]string
	// offerBackendChallenge: a back-end that is the branch's only factor
	// may answer with a challenge (WithChallenge, Plaintext); resume is
	// the challenge whose answer this login is (WithResume); challenged
	// is the challenge a back-end answered with.
	offerBackendChallenge bool
	resume                *BackendChallenge
	challenged            *BackendChallenge
	// split is how a plaintext secret was cut between the factors, in
	// bytes, when every part matched.
	split []int
}

type commit struct {
	backend string
	token   string
	// attributes from the back-end's verdict, merged into the identity.
	attributes map[string][]string
	// identity from the back-end's verdict or fragment
	// (Info.IdentityInVerdicts, Info.IdentityInFragments).
	identity *Identity
}

// backendError is a back-end that could not decide; it fails the branch.
type backendError struct {
	backend string
	err     error
}

func (e *backendError) Error() string { return e.backend + ": " + e.err.Error() }

// rejection is a factor that did not match.
type rejection struct{ reason string }

func (r *rejection) Error() string { return r.reason }

func reject(format string, args ...any) error {
	return &rejection{reason: fmt.Sprintf(format, args...)}
}

func (ev *evaluation) run(ctx context.Context) (Outcome, string) {
	// Identity look-ups do not depend on the secret: start them now, in
	// parallel with the check, so a plugin round trip is saved on success.
	// On failure their answer is dropped (the context ends with the login).
	ids := make(chan identityResult, 1)
	if ev.hasIdentity() {
		go func() { ids <- ev.lookups(ctx) }()
	} else {
		ids <- identityResult{}
	}
	var err error
	switch ev.cred.Kind {
	case MSCHAPv2:
		err = ev.mschapv2(ctx)
	case MSCHAPv1, CHAPMD5:
		err = ev.combinations(ctx)
	case Plaintext:
		err = ev.plaintext(ctx)
	}
	if err == nil {
		err = ev.finish(ctx, <-ids)
	}
	if err == nil {
		return Accepted, ""
	}
	var rj *rejection
	if errors.As(err, &rj) {
		return Rejected, rj.reason
	}
	var ch *challenged
	if errors.As(err, &ch) {
		ev.challenged = ch.c
		return Challenged, ch.reason
	}
	return Failed, err.Error()
}

// call runs fn with the per-back-end deadline. A back-end that ignores its
// context cannot hold the login: call returns when the deadline passes and
// leaves fn to finish on its own.
func call[T any](login context.Context, ev *evaluation, backend string, fn func(context.Context) (T, error)) (T, error) {
	timeout := ev.svc.BackendTimeout
	ctx, cancel := context.WithTimeout(login, timeout)
	defer cancel()
	type answer struct {
		v   T
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		v, err := fn(ctx)
		ch <- answer{v, err}
	}()
	var zero T
	select {
	case a := <-ch:
		if a.err != nil {
			if ctx.Err() != nil {
				return zero, &backendError{backend, deadlineCause(login, ctx, timeout)}
			}
			return zero, &backendError{backend, a.err}
		}
		return a.v, nil
	case <-ctx.Done():
		return zero, &backendError{backend, deadlineCause(login, ctx, timeout)}
	}
}

func deadlineCause(login, ctx context.Context, timeout time.Duration) error {
	switch {
	case errors.Is(login.Err(), context.DeadlineExceeded):
		return errors.New("the login deadline passed before it answered")
	case login.Err() != nil:
		return fmt.Errorf("login abandoned: %w", login.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no answer within %s (deadline)", timeout)
	}
	return ctx.Err()
}

func (ev *evaluation) backend(name string) Backend { return ev.engine.backends[name] }

// fragments fetches every factor's candidate secrets concurrently.
func (ev *evaluation) fragments(ctx context.Context) ([][]Fragment, error) {
	n := len(ev.branch.Factors)
	out := make([][]Fragment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, name := range ev.branch.Factors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = call(ctx, ev, name, func(ctx context.Context) ([]Fragment, error) {
				return ev.backend(name).Fragments(ctx, ev.cred.User)
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, name := range ev.branch.Factors {
		if len(out[i]) == 0 {
			return nil, reject("%s has no secret for user %q", name, ev.cred.User)
		}
	}
	return out, nil
}

// mschapv2 checks the branch against an MS-CHAPv2 response: a lone factor
// that verifies MS-CHAPv2 is asked directly; otherwise every combination of
// the factors' fragments, in written order, is hashed and compared.
func (ev *evaluation) mschapv2(ctx context.Context) error {
	r := ev.cred.MSCHAPv2
	if len(ev.branch.Factors) == 1 {
		name := ev.branch.Factors[0]
		if ev.backend(name).Info().Capabilities.Has(CapVerifyMSCHAPv2) {
			v, err := call(ctx, ev, name, func(ctx context.Context) (MSCHAPv2Verdict, error) {
				return ev.backend(name).VerifyMSCHAPv2(ctx, ev.cred.User, r)
			})
			if err != nil {
				return err
			}
			if !v.OK {
				ev.mschapError = v.MSCHAPError
				return reject("%s: %s", name, orDefault(v.Reason, "response does not match"))
			}
			switch {
			case v.PasswordHashHash != nil:
				ev.keysFromHashHash(*v.PasswordHashHash)
			case v.AuthenticatorResponse != "" && v.Keys != nil:
				ev.authResp, ev.keys = v.AuthenticatorResponse, v.Keys
			default:
				return &backendError{name, errors.New("accepted the response but returned no key material; refusing the login")}
			}
			ev.commits = append(ev.commits, commit{name, v.Token, v.Attributes, v.Identity})
			return nil
		}
	}
	return ev.combinations(ctx)
}

// combinations checks a challenge-response credential (MS-CHAPv2,
// MS-CHAPv1, CHAP-MD5) against every combination of the factors'
// fragments, in written order: each is joined into one typed secret, its
// response computed and compared in constant time with the one received.
// Every combination is computed even after a match.
func (ev *evaluation) combinations(ctx context.Context) error {
	frags, err := ev.fragments(ctx)
	if err != nil {
		return err
	}
	total := 1
	for _, f := range frags {
		total *= len(f)
		if total > MaxCombinations {
			return &backendError{ev.branch.String(), fmt.Errorf("more than %d candidate combinations; refusing to try them all", MaxCombinations)}
		}
	}
	idx := make([]int, len(frags))
	match := -1
	var matchIdx []int
	var buf []byte
	for n := 0; n < total; n++ {
		buf = buf[:0]
		for i, f := range frags {
			buf = append(buf, f[idx[i]].Secret.Reveal()...)
		}
		if ev.matches(buf, match < 0) && match < 0 {
			match = n
			matchIdx = append([]int(nil), idx...)
		}
		// Next combination: the last factor varies fastest.
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(frags[i]) {
				break
			}
			idx[i] = 0
		}
	}
	clear(buf)
	if match < 0 {
		return reject("no combination matches the response (%s)", ev.candidates(frags))
	}
	for i, name := range ev.branch.Factors {
		f := frags[i][matchIdx[i]]
		ev.commits = append(ev.commits, commit{name, f.Token, nil, f.Identity})
	}
	return nil
}

// matches reports whether secret answers the credential's challenge; when
// it does and keep is set, the key material it yields is kept.
func (ev *evaluation) matches(secret []byte, keep bool) bool {
	switch ev.cred.Kind {
	case MSCHAPv2:
		r := ev.cred.MSCHAPv2
		nt := mschapv2.NTHash(string(secret))
		resp := mschapv2.GenerateNTResponse(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, nt)
		ok := subtle.ConstantTimeCompare(resp[:], r.NTResponse[:]) == 1
		if ok && keep {
			ev.keysFromHashHash(mschapv2.HashNTHash(nt))
		}
		return ok
	case MSCHAPv1:
		r := ev.cred.MSCHAPv1
		nt := mschapv2.NTHash(string(secret))
		resp := mschapv2.ChallengeResponse(r.Challenge, nt)
		ok := subtle.ConstantTimeCompare(resp[:], r.NTResponse[:]) == 1
		if ok && keep {
			k := mschapv2.MSCHAPv1StartKey(mschapv2.HashNTHash(nt), r.Challenge)
			ev.keys = &MPPEKeys{Send: k, Recv: k}
		}
		return ok
	case CHAPMD5:
		r := ev.cred.CHAPMD5
		sum := CHAPMD5Sum(r.Identifier, secret, r.Challenge)
		return subtle.ConstantTimeCompare(sum[:], r.Response[:]) == 1
	}
	return false
}

func (ev *evaluation) candidates(frags [][]Fragment) string {
	parts := make([]string, len(frags))
	for i, name := range ev.branch.Factors {
		parts[i] = fmt.Sprintf("%s: %d candidate%s", name, len(frags[i]), plural(len(frags[i])))
	}
	return strings.Join(parts, ", ")
}

func (ev *evaluation) keysFromHashHash(hh [16]byte) {
	r := ev.cred.MSCHAPv2
	ev.authResp = mschapv2.GenerateAuthenticatorResponseFromHashHash(hh, r.NTResponse, r.PeerChallenge, r.AuthenticatorChallenge, r.UserName)
	send, recv := mschapv2.MasterSessionKeys(hh, r.NTResponse, true)
	ev.keys = &MPPEKeys{Send: send, Recv: recv}
}

// plaintext checks the branch against a typed secret, split from the end
// using the fixed lengths of one-time-code factors (every allowed length is
// tried); at most one factor has a variable length.
func (ev *evaluation) plaintext(ctx context.Context) error {
	secret := ev.cred.Secret.Reveal()
	factors := ev.branch.Factors
	splits := splitSecret(len(secret), factors, func(name string) []int {
		return ev.backend(name).Info().FragmentLengths
	})
	if len(splits) == 0 {
		return reject("the typed secret (%d characters) is too short or too long for %q", len(secret), ev.branch.String())
	}
	cache := make(map[string][]Fragment)
	var last error
	for _, lengths := range splits {
		ev.commits = ev.commits[:0]
		off := 0
		var err error
		for i, name := range factors {
			part := NewSecret(secret[off : off+lengths[i]])
			off += lengths[i]
			if err = ev.verifyPart(ctx, name, part, cache); err != nil {
				break
			}
		}
		if err == nil {
			ev.split = lengths
			return nil
		}
		var be *backendError
		if errors.As(err, &be) {
			return err // fail closed at once: the back-end could not decide
		}
		last = err
	}
	return last
}

func (ev *evaluation) verifyPart(ctx context.Context, name string, part Secret, cache map[string][]Fragment) error {
	b := ev.backend(name)
	if b.Info().Capabilities.Has(CapVerifyPlaintext) {
		v, err := call(ctx, ev, name, func(ctx context.Context) (Verdict, error) {
			return b.VerifyPlaintext(ev.backendCallContext(ctx, name), ev.cred.User, part)
		})
		if err != nil {
			return err
		}
		if !v.OK && v.Challenge != nil && ev.offerBackendChallenge && len(ev.branch.Factors) == 1 {
			c := *v.Challenge
			c.Backend, c.Branch = name, ev.branch.String()
			return &challenged{c: &c, reason: fmt.Sprintf("%s: %s", name, orDefault(v.Reason, "asked a second question"))}
		}
		if !v.OK {
			if ev.mschapError == 0 {
				ev.mschapError = v.MSCHAPError
			}
			return reject("%s: %s", name, orDefault(v.Reason, "wrong secret"))
		}
		ev.commits = append(ev.commits, commit{name, v.Token, v.Attributes, v.Identity})
		return nil
	}
	frags, ok := cache[name]
	if !ok {
		var err error
		frags, err = call(ctx, ev, name, func(ctx context.Context) ([]Fragment, error) {
			return b.Fragments(ctx, ev.cred.User)
		})
		if err != nil {
			return err
		}
		cache[name] = frags
	}
	found := -1
	for i, f := range frags {
		if f.Secret.Equal(part) && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return reject("%s: wrong secret", name)
	}
	ev.commits = append(ev.commits, commit{name, frags[found].Token, nil, frags[found].Identity})
	return nil
}

// splitSecret lists the ways to cut a secret of n bytes between factors:
// fixed-length factors take one of their lengths, the variable one (at most
// one) takes what is left, at least one byte.
func splitSecret(n int, factors []string, lengths func(string) []int) [][]int {
	var out [][]int
	cur := make([]int, len(factors))
	variable := -1
	for i, f := range factors {
		if len(lengths(f)) == 0 {
			variable = i
		}
	}
	var walk func(i, used int)
	walk = func(i, used int) {
		if i == len(factors) {
			if variable >= 0 {
				rest := n - used
				if rest < 1 {
					return
				}
				cur[variable] = rest
			} else if used != n {
				return
			}
			out = append(out, append([]int(nil), cur...))
			return
		}
		if i == variable {
			walk(i+1, used)
			return
		}
		for _, l := range lengths(factors[i]) {
			if used+l <= n {
				cur[i] = l
				walk(i+1, used+l)
			}
		}
	}
	walk(0, 0)
	return out
}

func (ev *evaluation) hasIdentity() bool {
	for _, name := range ev.branch.Factors {
		if ev.needsLookup(name) {
			return true
		}
	}
	return false
}

// needsLookup reports whether identity back-end name must be asked with
// Lookup: not when this evaluation asks it to verify and its verdicts carry
// the identity (Info.IdentityInVerdicts), nor when it combines its
// fragments and they carry the identity (Info.IdentityInFragments). A
// factor that is not verified is combined.
func (ev *evaluation) needsLookup(name string) bool {
	info := ev.backend(name).Info()
	if !info.Capabilities.Has(CapIdentity) {
		return false
	}
	if ev.verifies(name) {
		return !info.IdentityInVerdicts
	}
	return !info.IdentityInFragments
}

// verifies reports whether this evaluation checks factor name with one of
// its Verify calls (rather than comparing its fragments).
func (ev *evaluation) verifies(name string) bool {
	c := ev.backend(name).Info().Capabilities
	switch ev.cred.Kind {
	case Plaintext:
		return c.Has(CapVerifyPlaintext)
	case MSCHAPv2:
		return len(ev.branch.Factors) == 1 && c.Has(CapVerifyMSCHAPv2)
	}
	return false
}

type identityResult struct {
	id  Identity
	err error
}

// lookups asks every identity back-end of the branch about the user; a
// disabled or locked account is a rejection.
func (ev *evaluation) lookups(ctx context.Context) identityResult {
	var merged Identity
	for _, name := range ev.branch.Factors {
		b := ev.backend(name)
		if !ev.needsLookup(name) {
			continue
		}
		id, err := call(ctx, ev, name, func(ctx context.Context) (Identity, error) {
			return b.Lookup(ctx, ev.cred.User)
		})
		if err != nil {
			return identityResult{err: err}
		}
		if err := ev.usable(name, id); err != nil {
			return identityResult{err: err}
		}
		merged = mergeIdentity(merged, id)
	}
	return identityResult{id: merged}
}

// usable refuses a disabled or locked account.
func (ev *evaluation) usable(name string, id Identity) error {
	switch {
	case id.Disabled:
		return reject("%s: account %q is disabled", name, ev.cred.User)
	case id.Locked:
		return reject("%s: account %q is locked", name, ev.cred.User)
	}
	return nil
}

// finish runs after every factor matched: identity back-ends may still veto
// (disabled, locked), then the used fragments are committed, in parallel.
func (ev *evaluation) finish(ctx context.Context, ids identityResult) error {
	if ids.err != nil {
		return ids.err
	}
	ev.identity = ids.id
	for _, c := range ev.commits {
		if ev.backend(c.backend).Info().Capabilities.Has(CapIdentity) && !ev.needsLookup(c.backend) {
			if c.identity == nil {
				return &backendError{c.backend, errors.New("accepted without the identity its description promises (identity in verdicts or fragments); refusing the login")}
			}
			if err := ev.usable(c.backend, *c.identity); err != nil {
				return err
			}
			ev.identity = mergeIdentity(ev.identity, *c.identity)
		}
		if len(c.attributes) > 0 {
			ev.identity = mergeIdentity(ev.identity, Identity{Attributes: c.attributes})
			ev.granted = mergeIdentity(Identity{Attributes: ev.granted}, Identity{Attributes: c.attributes}).Attributes
		}
	}
	if approve := approvalOf(ctx); approve != nil {
		preview := &Result{Accepted: true, Service: ev.svc.Name, User: ev.cred.User, Kind: ev.cred.Kind,
			Branch: ev.branch.String(), Identity: ev.identity, DryRun: ev.dryRun}
		if err := approve(ctx, preview); err != nil {
			ev.mschapError = mschapNoDialin
			ev.denied = true
			return reject("access denied: %v", err)
		}
	}
	if ev.dryRun {
		return nil
	}
	errs := make([]error, len(ev.commits))
	var wg sync.WaitGroup
	for i, c := range ev.commits {
		if info := ev.backend(c.backend).Info(); info.NothingToCommit && !info.OneTime {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = call(ctx, ev, c.backend, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, ev.backend(c.backend).Commit(ctx, ev.cred.User, c.token)
			})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func mergeIdentity(a, b Identity) Identity {
	a.Found = a.Found || b.Found
	seen := map[string]bool{}
	for _, g := range a.Groups {
		seen[g] = true
	}
	for _, g := range b.Groups {
		if !seen[g] {
			seen[g] = true
			a.Groups = append(a.Groups, g)
		}
	}
	if len(b.Attributes) > 0 && a.Attributes == nil {
		a.Attributes = map[string][]string{}
	}
	for k, v := range b.Attributes {
		a.Attributes[k] = append(a.Attributes[k], v...)
	}
	return a
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
