// Package memory is an in-memory authentication back-end: a fixed table of
// users and their secrets. It exists for unit tests, benchmarks and demos
// (the "memory" back-end type in the configuration keeps its secrets in
// plaintext in the config file, and "gatehouse config check" says so). Real
// deployments use the local store, OATH, DIGIPASS, LDAP or RADIUS plugins.
//
// A Backend can play any role: a password (variable length, reusable), or
// one-time codes of fixed length that Commit consumes, like a code sheet.
// Tests can inject delays and errors to exercise the engine's fail-closed
// paths.
package memory

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// User is one account of a Backend.
type User struct {
	Secrets  []string
	Disabled bool
	Locked   bool
	Groups   []string
}

// Options configures a Backend.
type Options struct {
	// Capabilities defaults to fragments, verify-plaintext,
	// verify-mschapv2 and identity.
	Capabilities authpolicy.Capability
	// Lengths are the fixed secret lengths (one-time codes); empty means
	// variable (a password).
	Lengths []int
	// OneTime: Commit consumes the secret; it is never accepted again.
	OneTime bool
	// NothingToCommit, IdentityInVerdicts and IdentityInFragments set the
	// Info flags of the same names; with IdentityInVerdicts accepting
	// verdicts carry the user's identity, with IdentityInFragments
	// fragments do, as the plugins of the Go SDK do.
	NothingToCommit, IdentityInVerdicts, IdentityInFragments bool
}

// ErrUsed is returned by Commit when a one-time secret was already consumed.
var ErrUsed = errors.New("code already used")

// Backend is an in-memory authpolicy.Backend. The zero value is not usable;
// call New.
type Backend struct {
	info authpolicy.Info

	mu    sync.Mutex
	users map[string]*User
	used  map[string]map[int]bool // user -> secret index -> consumed
	delay time.Duration
	fault error
	calls int
	by    map[string]int
}

var _ authpolicy.Backend = (*Backend)(nil)

// New returns an empty back-end.
func New(o Options) *Backend {
	c := o.Capabilities
	if c == 0 {
		c = authpolicy.CapFragments | authpolicy.CapVerifyPlaintext | authpolicy.CapVerifyMSCHAPv2 | authpolicy.CapIdentity
	}
	return &Backend{
		info: authpolicy.Info{Capabilities: c, FragmentLengths: o.Lengths, OneTime: o.OneTime,
			NothingToCommit: o.NothingToCommit, IdentityInVerdicts: o.IdentityInVerdicts, IdentityInFragments: o.IdentityInFragments},
		users: map[string]*User{},
		used:  map[string]map[int]bool{},
		by:    map[string]int{},
	}
}

// SetUser adds or replaces a user.
func (b *Backend) SetUser(name string, u User) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users[name] = &u
	delete(b.used, name)
}

// SetFault makes every call wait delay (honouring its context) and then,
// if err is not nil, fail with err. SetFault(0, nil) clears it.
func (b *Backend) SetFault(delay time.Duration, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay, b.fault = delay, err
}

// Calls returns how many calls the back-end has received.
func (b *Backend) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// CallsOf returns how many calls of one method ("Lookup", "Commit", ...)
// the back-end has received.
func (b *Backend) CallsOf(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.by[method]
}

func (b *Backend) enter(ctx context.Context, method string) error {
	b.mu.Lock()
	b.calls++
	b.by[method]++
	delay, fault := b.delay, b.fault
	b.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fault
}

// Info implements authpolicy.Backend.
func (b *Backend) Info() authpolicy.Info { return b.info }

// live returns the user's secrets that can still be used, with their index.
func (b *Backend) live(user string) (idx []int, secrets []string, u *User) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u = b.users[user]
	if u == nil || u.Disabled {
		return nil, nil, u
	}
	for i, s := range u.Secrets {
		if b.used[user][i] {
			continue
		}
		idx = append(idx, i)
		secrets = append(secrets, s)
	}
	return idx, secrets, u
}

// Fragments implements authpolicy.Backend.
func (b *Backend) Fragments(ctx context.Context, user string) ([]authpolicy.Fragment, error) {
	if err := b.enter(ctx, "Fragments"); err != nil {
		return nil, err
	}
	idx, secrets, _ := b.live(user)
	var id *authpolicy.Identity
	if b.info.IdentityInFragments && len(secrets) > 0 {
		v := b.identity(user)
		id = &v
	}
	out := make([]authpolicy.Fragment, len(secrets))
	for i := range secrets {
		out[i] = authpolicy.Fragment{Secret: authpolicy.NewSecret(secrets[i]), Token: strconv.Itoa(idx[i]), Identity: id}
	}
	return out, nil
}

// VerifyPlaintext implements authpolicy.Backend.
func (b *Backend) VerifyPlaintext(ctx context.Context, user string, secret authpolicy.Secret) (authpolicy.Verdict, error) {
	if err := b.enter(ctx, "VerifyPlaintext"); err != nil {
		return authpolicy.Verdict{}, err
	}
	idx, secrets, u := b.live(user)
	if u == nil {
		return authpolicy.Verdict{Reason: "no such user"}, nil
	}
	if u.Disabled {
		return authpolicy.Verdict{Reason: "user disabled"}, nil
	}
	found := -1
	for i, s := range secrets {
		if subtle.ConstantTimeCompare([]byte(s), []byte(secret.Reveal())) == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return authpolicy.Verdict{Reason: "wrong secret"}, nil
	}
	return authpolicy.Verdict{OK: true, Token: strconv.Itoa(idx[found]), Identity: b.verdictIdentity(user)}, nil
}

// VerifyMSCHAPv2 implements authpolicy.Backend.
func (b *Backend) VerifyMSCHAPv2(ctx context.Context, user string, r *authpolicy.MSCHAPv2Response) (authpolicy.MSCHAPv2Verdict, error) {
	if err := b.enter(ctx, "VerifyMSCHAPv2"); err != nil {
		return authpolicy.MSCHAPv2Verdict{}, err
	}
	idx, secrets, u := b.live(user)
	if u == nil {
		return authpolicy.MSCHAPv2Verdict{Verdict: authpolicy.Verdict{Reason: "no such user"}}, nil
	}
	if u.Disabled {
		return authpolicy.MSCHAPv2Verdict{Verdict: authpolicy.Verdict{Reason: "user disabled"}}, nil
	}
	for i, s := range secrets {
		nt := mschapv2.NTHash(s)
		if mschapv2.Verify(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, r.NTResponse, nt) {
			hh := mschapv2.HashNTHash(nt)
			return authpolicy.MSCHAPv2Verdict{
				Verdict:          authpolicy.Verdict{OK: true, Token: strconv.Itoa(idx[i]), Identity: b.verdictIdentity(user)},
				PasswordHashHash: &hh,
			}, nil
		}
	}
	return authpolicy.MSCHAPv2Verdict{Verdict: authpolicy.Verdict{Reason: "wrong secret"}}, nil
}

// Commit implements authpolicy.Backend: a one-time secret is consumed.
func (b *Backend) Commit(ctx context.Context, user string, token string) error {
	if err := b.enter(ctx, "Commit"); err != nil {
		return err
	}
	if !b.info.OneTime {
		return nil
	}
	i, err := strconv.Atoi(token)
	if err != nil {
		return fmt.Errorf("bad token %q", token)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used[user] == nil {
		b.used[user] = map[int]bool{}
	}
	if b.used[user][i] {
		return ErrUsed
	}
	b.used[user][i] = true
	return nil
}

// Lookup implements authpolicy.Backend.
func (b *Backend) Lookup(ctx context.Context, user string) (authpolicy.Identity, error) {
	if err := b.enter(ctx, "Lookup"); err != nil {
		return authpolicy.Identity{}, err
	}
	return b.identity(user), nil
}

// verdictIdentity is the identity an accepting verdict carries, when the
// back-end is set to IdentityInVerdicts.
func (b *Backend) verdictIdentity(user string) *authpolicy.Identity {
	if !b.info.IdentityInVerdicts {
		return nil
	}
	id := b.identity(user)
	return &id
}

func (b *Backend) identity(user string) authpolicy.Identity {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[user]
	if u == nil {
		return authpolicy.Identity{}
	}
	return authpolicy.Identity{Found: true, Disabled: u.Disabled, Locked: u.Locked, Groups: append([]string(nil), u.Groups...)}
}
