package ldap

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// Version is the back-end's version; the gateway sets it to its own.
var Version = "dev"

// Backend is the LDAP / Active Directory back-end. The zero value is not
// configured; use New.
type Backend struct {
	cfg struct {
		sync.RWMutex
		o      *Options
		search *pool
		binds  *pool
	}
}

// New returns an unconfigured back-end.
func New() *Backend { return &Backend{} }

var (
	_ sdk.Configurer        = (*Backend)(nil)
	_ sdk.PlaintextVerifier = (*Backend)(nil)
	_ sdk.MSCHAPv2Verifier  = (*Backend)(nil)
	_ sdk.IdentitySource    = (*Backend)(nil)
	_ sdk.HealthChecker     = (*Backend)(nil)
)

// ConfigKeys returns the options the back-end accepts.
func ConfigKeys() []sdk.ConfigKey { return append([]sdk.ConfigKey(nil), configKeys...) }

// Describe implements sdk.Backend: verify-plaintext and identity, and
// verify-mschapv2 once configured with nt_hash_attribute or mschapv2:
// winbind.
func (b *Backend) Describe(context.Context) (sdk.Description, error) {
	caps := []sdk.Capability{sdk.CapVerifyPlaintext, sdk.CapIdentity}
	b.cfg.RLock()
	if b.cfg.o != nil && b.cfg.o.MSCHAPv2 != "" {
		caps = append(caps, sdk.CapVerifyMSCHAPv2)
	}
	b.cfg.RUnlock()
	return sdk.Description{Name: "ldap", Version: Version, Capabilities: caps, ConfigKeys: ConfigKeys()}, nil
}

// Configure implements sdk.Configurer. It does not connect: a directory
// that is down at start is a failed health check and failed logins, not a
// plugin that will not start.
func (b *Backend) Configure(_ context.Context, opts map[string]string) error {
	o, err := ParseOptions(opts)
	if err != nil {
		return err
	}
	b.cfg.Lock()
	oldS, oldB := b.cfg.search, b.cfg.binds
	b.cfg.o, b.cfg.search, b.cfg.binds = o, newPool(o, true), newPool(o, false)
	b.cfg.Unlock()
	if oldS != nil {
		oldS.close()
		oldB.close()
	}
	return nil
}

// Close closes the idle connections.
func (b *Backend) Close() {
	b.cfg.Lock()
	defer b.cfg.Unlock()
	if b.cfg.search != nil {
		b.cfg.search.close()
		b.cfg.binds.close()
	}
}

func (b *Backend) current() (*Options, *pool, *pool, error) {
	b.cfg.RLock()
	defer b.cfg.RUnlock()
	if b.cfg.o == nil {
		return nil, nil, nil, errors.New("not configured")
	}
	return b.cfg.o, b.cfg.search, b.cfg.binds, nil
}

// Health implements sdk.HealthChecker: a base search of the root DSE as
// the service account and, with mschapv2: winbind, wbinfo --ping-dc (the
// machine's secure channel with a domain controller).
func (b *Backend) Health(ctx context.Context) error {
	o, search, _, err := b.current()
	if err != nil {
		return err
	}
	err = search.do(ctx, func(c *ldap.Conn) error {
		_, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		return err
	})
	if err == nil && o.MSCHAPv2 == MSCHAPv2Winbind {
		if err := o.pingDC(ctx); err != nil {
			return fmt.Errorf("winbind: %w", err)
		}
	}
	return err
}

// VerifyPlaintext implements sdk.PlaintextVerifier by binding as the user.
// An empty password is refused without a bind: to an LDAP server a simple
// bind with a DN and no password is an anonymous bind that "succeeds"
// (RFC 4513 section 5.1.2).
func (b *Backend) VerifyPlaintext(ctx context.Context, user, secret string) (sdk.Verdict, error) {
	o, search, binds, err := b.current()
	if err != nil {
		return sdk.Verdict{}, err
	}
	if why := checkName(user); why != "" {
		return sdk.Verdict{Reason: why}, nil
	}
	if why := o.domainRefusal(user); why != "" {
		return sdk.Verdict{Reason: why}, nil
	}
	if secret == "" {
		return sdk.Verdict{Reason: "empty password refused"}, nil
	}
	a, err := o.find(ctx, search, user, false)
	if err != nil {
		return sdk.Verdict{}, err
	}
	if why := a.refusal(); why != "" {
		return sdk.Verdict{Reason: why}, nil
	}
	var refused string
	err = binds.do(ctx, func(c *ldap.Conn) error {
		err := c.Bind(a.dn, secret)
		if isResult(err) {
			refused = bindRefusal(err)
			return nil
		}
		return err
	})
	if err != nil {
		return sdk.Verdict{}, fmt.Errorf("bind as %s: %w", a.dn, err)
	}
	if refused != "" {
		return sdk.Verdict{Reason: refused}, nil
	}
	return sdk.Verdict{OK: true}, nil
}

// bindRefusal words a refused user bind. Active Directory says why in the
// diagnostic message ("data 533" disabled, "data 775" locked, ...).
func bindRefusal(err error) string {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return "directory refused the bind"
	}
	if le.ResultCode == ldap.LDAPResultInvalidCredentials {
		msg := ""
		if le.Err != nil {
			msg = le.Err.Error()
		}
		for code, why := range adBindData {
			if strings.Contains(msg, "data "+code+",") {
				return why
			}
		}
		return "wrong password"
	}
	return "directory refused the bind: " + ldap.LDAPResultCodeMap[le.ResultCode]
}

// adBindData are the sub-codes of Active Directory's invalidCredentials.
var adBindData = map[string]string{
	"525": "no such user in the directory",
	"52e": "wrong password",
	"530": "not permitted to log on at this time",
	"531": "not permitted to log on at this workstation",
	"532": "password expired",
	"533": "account disabled",
	"701": "account expired",
	"773": "user must reset password",
	"775": "account locked",
}

// VerifyMSCHAPv2 implements sdk.MSCHAPv2Verifier with the NT hash read
// from nt_hash_attribute as the service account, or with mschapv2:
// winbind through the domain controller (winbind.go).
func (b *Backend) VerifyMSCHAPv2(ctx context.Context, user string, r sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	refuse := func(why string) (sdk.MSCHAPv2Verdict, error) {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: why}}, nil
	}
	o, search, _, err := b.current()
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	if o.MSCHAPv2 == MSCHAPv2Winbind {
		return b.verifyWinbind(ctx, o, search, user, r)
	}
	if o.NTHashAttr == "" {
		return refuse("nt_hash_attribute is not configured: this directory cannot check MS-CHAPv2")
	}
	if why := checkName(user); why != "" {
		return refuse(why)
	}
	a, err := o.find(ctx, search, user, false)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	if why := a.refusal(); why != "" {
		return refuse(why)
	}
	nt, ok := parseNTHash(a.ntHash)
	if !ok {
		return refuse("no NT hash (" + o.NTHashAttr + ") readable for this user in the directory")
	}
	defer clear(nt[:])
	if !mschapv2.Verify(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, r.NTResponse, nt) {
		return refuse("wrong password")
	}
	hh := mschapv2.HashNTHash(nt)
	return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{OK: true}, PasswordHashHash: &hh}, nil
}

// parseNTHash reads an NT hash as sambaNTPassword holds it (32 hex
// digits) or as 16 raw bytes. The all-zero and Samba's "no password"
// value (32 X) are refused.
func parseNTHash(v []byte) (nt [16]byte, ok bool) {
	switch len(v) {
	case 32:
		if _, err := hex.Decode(nt[:], v); err != nil {
			return nt, false
		}
	case 16:
		copy(nt[:], v)
	default:
		return nt, false
	}
	var zero [16]byte
	return nt, subtle.ConstantTimeCompare(nt[:], zero[:]) == 0
}

// Lookup implements sdk.IdentitySource.
func (b *Backend) Lookup(ctx context.Context, user string) (sdk.Identity, error) {
	o, search, _, err := b.current()
	if err != nil {
		return sdk.Identity{}, err
	}
	if checkName(user) != "" || o.domainRefusal(user) != "" {
		return sdk.Identity{}, nil
	}
	a, err := o.find(ctx, search, user, true)
	if err != nil || !a.found {
		return sdk.Identity{}, err
	}
	return sdk.Identity{Found: true, Disabled: a.disabled, Locked: a.locked, Groups: a.groups, Attributes: a.attrs}, nil
}
