package builtin

import (
	"context"
	"errors"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// Local is the local password store back-end. Its fragment is the user's
// password (unsealed), so it can be combined with a code under MS-CHAPv2;
// plaintext checks compare with the same sealed copy (store.CheckPassword).
type Local struct{ h storeHandle }

var (
	_ sdk.FragmentSource    = (*Local)(nil)
	_ sdk.PlaintextVerifier = (*Local)(nil)
	_ sdk.MSCHAPv2Verifier  = (*Local)(nil)
	_ sdk.IdentitySource    = (*Local)(nil)
	_ sdk.Configurer        = (*Local)(nil)
)

// Describe implements sdk.Backend.
func (l *Local) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name: "local", Version: Version,
		Capabilities: []sdk.Capability{sdk.CapFragments, sdk.CapVerifyMSCHAPv2, sdk.CapVerifyPlaintext, sdk.CapIdentity},
		ConfigKeys:   storeKeys,
	}, nil
}

// Configure implements sdk.Configurer.
func (l *Local) Configure(ctx context.Context, opts map[string]string) error {
	return l.h.configure(ctx, opts)
}

// user returns a snapshot of the store's cache for this call if the user
// may log in, or a reason why not.
func (l *Local) user(ctx context.Context, name string) (store.Snapshot, string, error) {
	_, cache, err := l.h.get()
	if err != nil {
		return store.Snapshot{}, "", err
	}
	st, err := cache.Snapshot(ctx)
	if err != nil {
		return store.Snapshot{}, "", err
	}
	u, err := st.User(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return st, "no such user in the local store", nil
	case err != nil:
		return store.Snapshot{}, "", err
	case u.Disabled:
		return st, "user disabled", nil
	case !u.HasPassword:
		return st, "user has no password", nil
	}
	return st, "", nil
}

// Fragments implements sdk.FragmentSource: the password, if the user may
// log in.
func (l *Local) Fragments(ctx context.Context, name string) (_ []sdk.Fragment, err error) {
	defer storeErr(&err)
	st, why, err := l.user(ctx, name)
	if err != nil || why != "" {
		return nil, err
	}
	pw, err := st.Password(ctx, name)
	if err != nil {
		return nil, err
	}
	return []sdk.Fragment{{Secret: pw}}, nil
}

// VerifyPlaintext implements sdk.PlaintextVerifier with store.CheckPassword.
func (l *Local) VerifyPlaintext(ctx context.Context, name, secret string) (_ sdk.Verdict, err error) {
	defer storeErr(&err)
	st, why, err := l.user(ctx, name)
	if err != nil || why != "" {
		return sdk.Verdict{Reason: why}, err
	}
	ok, err := st.CheckPassword(ctx, name, secret)
	if err != nil {
		return sdk.Verdict{}, err
	}
	if !ok {
		return sdk.Verdict{Reason: "wrong password"}, nil
	}
	return sdk.Verdict{OK: true}, nil
}

// VerifyMSCHAPv2 implements sdk.MSCHAPv2Verifier from the sealed password.
func (l *Local) VerifyMSCHAPv2(ctx context.Context, name string, r sdk.MSCHAPv2Request) (_ sdk.MSCHAPv2Verdict, err error) {
	defer storeErr(&err)
	st, why, err := l.user(ctx, name)
	if err != nil || why != "" {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: why}}, err
	}
	pw, err := st.Password(ctx, name)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	nt := mschapv2.NTHash(pw)
	if !mschapv2.Verify(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, r.NTResponse, nt) {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "wrong password"}}, nil
	}
	hh := mschapv2.HashNTHash(nt)
	clear(nt[:])
	return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{OK: true}, PasswordHashHash: &hh}, nil
}

// Lookup implements sdk.IdentitySource.
func (l *Local) Lookup(ctx context.Context, name string) (_ sdk.Identity, err error) {
	defer storeErr(&err)
	_, cache, err := l.h.get()
	if err != nil {
		return sdk.Identity{}, err
	}
	st, err := cache.Snapshot(ctx)
	if err != nil {
		return sdk.Identity{}, err
	}
	u, err := st.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return sdk.Identity{}, nil
	}
	if err != nil {
		return sdk.Identity{}, err
	}
	return sdk.Identity{
		Found: true, Disabled: u.Disabled, Groups: u.Groups,
		Attributes: map[string][]string{"vpn_access": {string(u.VPNAccess)}},
	}, nil
}
