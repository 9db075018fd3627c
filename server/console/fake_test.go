package console

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

// xssName is a user name that must render as text everywhere.
const xssName = `<img src=x onerror=alert(1)>`

// xssReason is an event reason that must render as text.
const xssReason = `<script>alert("reason")</script>`

// fakeBackend is a Backend in memory that records every call that
// changes something.
type fakeBackend struct {
	mu       sync.Mutex
	accounts map[string]struct {
		password string
		role     Role
	}
	sessions []Session
	events   []events.Event
	users    map[string]*User
	groups   map[string]*Group
	tokens   []Token
	services []Service
	status   Status
	dryRun   DryRun

	// changes lists each changing call: "Disconnect admin s1".
	changes []string
	// signIns lists each RecordSignIn.
	signIns []signInRecord
	// lastFilter is the filter of the last Events call.
	lastFilter events.Filter
	// fail, when set, is returned by every changing call.
	fail error
	// signInErr, when set, is returned by SignIn.
	signInErr error
}

type signInRecord struct {
	Name, Client string
	OK           bool
	Reason       string
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func newFake() *fakeBackend {
	b := &fakeBackend{
		accounts: map[string]struct {
			password string
			role     Role
		}{
			"admin":  {"admin-pw", Operator},
			"viewer": {"viewer-pw", Viewer},
		},
		users:  map[string]*User{},
		groups: map[string]*Group{},
	}
	b.users["bob"] = &User{Name: "bob", VPN: "use_group", HasPassword: true, Groups: []string{"staff"},
		Tokens: []Token{{Serial: "T1", Kind: "totp", Algorithm: "SHA1", Digits: 6, User: "bob", Source: "oath"}}}
	b.users["carol"] = &User{Name: "carol", VPN: "on", LockedUntil: t0.Add(time.Hour)}
	b.users[xssName] = &User{Name: xssName, VPN: "off", Groups: []string{"staff"}}
	b.groups["staff"] = &Group{Name: "staff", Members: []string{"bob", xssName}, VPN: "on"}
	b.groups["ops"] = &Group{Name: "ops"}
	b.tokens = []Token{
		{Serial: "T1", Kind: "totp", Algorithm: "SHA1", Digits: 6, User: "bob", Source: "oath"},
		{Serial: "T2", Kind: "hotp", Algorithm: "SHA1", Digits: 6, Source: "digipass"},
		{Serial: "T3", Kind: "totp", Algorithm: "SHA256", Digits: 8, User: xssName, Source: "oath"},
	}
	b.sessions = []Session{
		{ID: "s1", User: "bob", Client: "203.0.113.7", Address: "10.8.0.2", Service: "vpn", Branch: "Password and OATH",
			Encryption: "mppe-128 stateless", Started: t0.Add(-90 * time.Minute), BytesIn: 1 << 20, BytesOut: 2048},
		{ID: "s2", User: xssName, Client: "198.51.100.9", Service: "vpn", Started: t0.Add(-time.Minute)},
	}
	b.events = []events.Event{
		{Time: t0.Add(-3 * time.Minute), Kind: events.KindLogin, Result: events.Accepted, User: "bob", Service: "vpn",
			Client: netip.MustParseAddr("203.0.113.7"), SessionID: "s1", Branch: "Password and OATH"},
		{Time: t0.Add(-2 * time.Minute), Kind: events.KindLogin, Result: events.Refused, User: xssName, Service: "vpn",
			Client: netip.MustParseAddr("198.51.100.9"), Reason: xssReason,
			Branches: []events.BranchOutcome{
				{Branch: "Password and OATH", Outcome: "rejected", Reason: "wrong one-time code"},
				{Branch: "DIGIPASS", Outcome: "failed", Reason: `plugin <b>timeout</b>`},
			}},
		{Time: t0.Add(-time.Minute), Kind: events.KindAdmin, Operator: "admin", User: "bob", Message: "set VPN access on"},
	}
	b.services = []Service{{Name: "vpn", Policy: `"Password and OATH" or "DIGIPASS"`, Explain: "policy <tree>\n  branch 1"}}
	b.status = Status{
		Version: "1.2.3", Started: t0.Add(-48 * time.Hour), PoolInUse: 2, PoolFree: 250, Sessions: 2,
		Plugins:    []Plugin{{Name: "ldap", State: "running", PID: 4242, Restarts: 1, LastError: "exit 1", Since: t0.Add(-time.Hour)}},
		FrontDoors: []FrontDoor{{Name: "pptp", Enabled: true, Listen: ":1723"}, {Name: "radius", Listen: ""}},
		Metrics:    []Metric{{Name: "logins_total", Value: "42"}},
	}
	b.dryRun = DryRun{Accepted: true, Branch: "Password and OATH", Lines: []string{"accepted by Password and OATH"}}
	return b
}

func (b *fakeBackend) change(format string, a ...any) error {
	b.changes = append(b.changes, fmt.Sprintf(format, a...))
	return b.fail
}

// changed returns the changing calls made.
func (b *fakeBackend) changed() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.changes)
}

func (b *fakeBackend) SignIn(_ context.Context, name, password string) (Account, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.signInErr != nil {
		return Account{}, false, b.signInErr
	}
	a, ok := b.accounts[name]
	if !ok || a.password != password {
		return Account{}, false, nil
	}
	return Account{Name: name, Role: a.role}, true, nil
}

func (b *fakeBackend) Account(_ context.Context, name string) (Account, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.accounts[name]
	if !ok {
		return Account{}, false, nil
	}
	return Account{Name: name, Role: a.role}, true, nil
}

func (b *fakeBackend) Sessions(context.Context) ([]Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sessions), nil
}

func (b *fakeBackend) Disconnect(_ context.Context, by Account, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.ContainsFunc(b.sessions, func(s Session) bool { return s.ID == id }) {
		return fmt.Errorf("session %q: %w", id, ErrNotFound)
	}
	return b.change("Disconnect %s %s", by.Name, id)
}

func (b *fakeBackend) Events(_ context.Context, f events.Filter) ([]events.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastFilter = f
	var out []events.Event
	for _, e := range b.events {
		if f.Match(&e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (b *fakeBackend) RecordSignIn(_ context.Context, name, client string, ok bool, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.signIns = append(b.signIns, signInRecord{name, client, ok, reason})
}

func (b *fakeBackend) Users(_ context.Context, search string) ([]User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []User
	for _, u := range b.users {
		if strings.Contains(u.Name, search) {
			out = append(out, *u)
		}
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (b *fakeBackend) User(_ context.Context, name string) (User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[name]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return *u, nil
}

func (b *fakeBackend) CreateUser(_ context.Context, by Account, u NewUser) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.users[u.Name]; ok {
		return fmt.Errorf("user %q: %w", u.Name, ErrExists)
	}
	if err := b.change("CreateUser %s %s groups=%s vpn=%s pw=%t", by.Name, u.Name, strings.Join(u.Groups, ","), u.VPN, u.Password != ""); err != nil {
		return err
	}
	b.users[u.Name] = &User{Name: u.Name, VPN: cmpVPN(u.VPN), Groups: u.Groups, HasPassword: u.Password != ""}
	return nil
}

func (b *fakeBackend) SetDisabled(_ context.Context, by Account, user string, disabled bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("SetDisabled %s %s %t", by.Name, user, disabled)
}

func (b *fakeBackend) SetVPN(_ context.Context, by Account, user, vpn string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("SetVPN %s %s %s", by.Name, user, vpn)
}

func (b *fakeBackend) SetPassword(_ context.Context, by Account, user, password string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("SetPassword %s %s", by.Name, user)
}

func (b *fakeBackend) Unlock(_ context.Context, by Account, user string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("Unlock %s %s", by.Name, user)
}

func (b *fakeBackend) Groups(context.Context) ([]Group, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Group
	for _, g := range b.groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (b *fakeBackend) CreateGroup(_ context.Context, by Account, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.groups[name]; ok {
		return fmt.Errorf("group %q: %w", name, ErrExists)
	}
	return b.change("CreateGroup %s %s", by.Name, name)
}

func (b *fakeBackend) AddMember(_ context.Context, by Account, group, user string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("AddMember %s %s %s", by.Name, group, user)
}

func (b *fakeBackend) RemoveMember(_ context.Context, by Account, group, user string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("RemoveMember %s %s %s", by.Name, group, user)
}

func (b *fakeBackend) Tokens(context.Context) ([]Token, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.tokens), nil
}

// enrollURI is the key URI the fake enrolls with.
const enrollURI = "otpauth://totp/Gatehouse:bob?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse"

func (b *fakeBackend) Enroll(_ context.Context, by Account, r EnrollRequest) (Enrollment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.change("Enroll %s %s %s %d", by.Name, r.User, r.Kind, r.Digits); err != nil {
		return Enrollment{}, err
	}
	return Enrollment{
		Token: Token{Serial: "T9", Kind: r.Kind, Algorithm: "SHA1", Digits: r.Digits, User: r.User, Source: "oath"},
		URI:   enrollURI,
		QRPNG: []byte("\x89PNG\r\n\x1a\nfake"),
	}, nil
}

func (b *fakeBackend) Assign(_ context.Context, by Account, serial, user string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("Assign %s %s %s", by.Name, serial, user)
}

func (b *fakeBackend) Unassign(_ context.Context, by Account, serial string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("Unassign %s %s", by.Name, serial)
}

func (b *fakeBackend) Resync(_ context.Context, by Account, serial, code1, code2 string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.change("Resync %s %s %s %s", by.Name, serial, code1, code2)
}

func (b *fakeBackend) ImportPSKC(_ context.Context, by Account, file []byte, password, pskHex string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.change("ImportPSKC %s %d bytes pw=%t psk=%s", by.Name, len(file), password != "", pskHex); err != nil {
		return 0, err
	}
	return 2, nil
}

func (b *fakeBackend) Services(context.Context) ([]Service, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.services), nil
}

func (b *fakeBackend) DryRun(_ context.Context, _ Account, service, user, secret, credential string) (DryRun, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dryRun
	// Recorded as a call, without the secret, so tests see whether it ran.
	b.changes = append(b.changes, fmt.Sprintf("DryRun %s %s %s", service, user, credential))
	// A careless back end that echoes the secret: the console must not.
	d.Lines = append(slices.Clone(d.Lines), "tried "+user+" with "+secret+" ("+credential+") at "+service)
	return d, nil
}

func (b *fakeBackend) Status(context.Context) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, nil
}
