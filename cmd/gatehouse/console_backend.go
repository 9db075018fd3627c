package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/pskc"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/console"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
)

// consoleBackend is the web console's view of the running gateway
// (console.Backend): the PPTP front door's sessions, the event index, the
// local store, the lockouts, the current configuration's services and
// engine, the plugins and the metrics. It lives as long as serve.
//
// Every change goes to the store the way the CLI's does, so logins (the
// built-in plugins read through the store's cache, which notices every
// commit) see it at once; a change that can take access away (disable,
// VPN access, group membership) also asks for a re-check of the running
// sessions at once rather than at the next poll of watchStore. Every
// change is recorded as an events.KindAdmin event naming the operator.
type consoleBackend struct {
	current *atomic.Pointer[running]
	started *config.Config // as serve started: the front doors' settings
	store   *store.Store
	index   *events.Index // nil: no index
	events  *eventLog
	pptp    *pptpFront // nil: the PPTP front door is off
	recheck *rechecker // nil with pptp
	lockout *lockout.Tracker
	metrics *metrics
	log     *slog.Logger
	since   time.Time // when serve started
	now     func() time.Time
	// signIns bounds the argon2id computations of sign-ins running at
	// once (64 MiB each): a burst of attempts waits here rather than
	// taking the gateway's memory.
	signIns chan struct{}
}

var _ console.Backend = (*consoleBackend)(nil)

// maxSignIns is how many sign-in checks run at once.
const maxSignIns = 2

func newConsoleBackend(b consoleBackend) *consoleBackend {
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.signIns = make(chan struct{}, maxSignIns)
	return &b
}

// consoleError is a store or gateway error the console shows as the
// operator's mistake: its text is the original's, and errors.Is finds
// both the console's sentinel and the original's.
type consoleError struct {
	kind, err error
}

func (e *consoleError) Error() string   { return e.err.Error() }
func (e *consoleError) Unwrap() []error { return []error{e.kind, e.err} }

// consoleErr maps the store's and the gateway's sentinel errors to the
// console's: not found, exists, and the operator's other mistakes
// (invalid names and values, a token assigned to someone else, codes
// that do not resynchronise). Other errors are failures and stay as they
// are.
func consoleErr(err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, console.ErrNotFound), errors.Is(err, console.ErrExists), errors.Is(err, console.ErrInvalid):
		return err
	case errors.Is(err, store.ErrNotFound), errors.Is(err, gateway.ErrNoSession):
		kind = console.ErrNotFound
	case errors.Is(err, store.ErrExists):
		kind = console.ErrExists
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrAssigned), errors.Is(err, store.ErrReplayed),
		errors.Is(err, store.ErrNoPassword), errors.Is(err, errNotConsecutive):
		kind = console.ErrInvalid
	default:
		return err
	}
	return &consoleError{kind: kind, err: err}
}

func invalidf(format string, args ...any) error {
	return &consoleError{kind: console.ErrInvalid, err: fmt.Errorf(format, args...)}
}

// mayChange refuses a change asked by an account that may not make one.
// The console checks the role it signed the account in with; this asks
// the store as it is now, so an account removed or made a viewer with
// gatehouse admin since its sign-in changes nothing more, though its
// console session lasts.
func (b *consoleBackend) mayChange(ctx context.Context, by console.Account) error {
	if by.Name == "" {
		return errors.New("console: a change without an operator")
	}
	if !by.CanChange() {
		return invalidf("%s is a %s and may not change anything", by.Name, by.Role)
	}
	now, ok, err := b.Account(ctx, by.Name)
	switch {
	case err != nil:
		return err
	case !ok:
		return invalidf("the operator account %s was removed; sign in with another", by.Name)
	case !now.CanChange():
		return invalidf("%s is now a %s and may not change anything; sign in again", by.Name, now.Role)
	}
	return nil
}

// record logs and indexes an admin event.
func (b *consoleBackend) record(ctx context.Context, ev events.Event) {
	ev.Time = b.now().UTC().Round(0)
	b.events.record(ev)
	ev.Log(context.WithoutCancel(ctx), b.log)
}

// changed records what by changed, concerning user ("" for none).
func (b *consoleBackend) changed(ctx context.Context, by console.Account, user, format string, args ...any) {
	b.record(ctx, events.Event{Kind: events.KindAdmin, Operator: by.Name, User: user, Message: fmt.Sprintf(format, args...)})
}

// recheck asks for a re-check of the running sessions now (disable, VPN
// access, groups); watchStore would ask within a second anyway.
func (b *consoleBackend) recheckSessions() { b.recheck.request("console") }

func consoleRole(r store.OperatorRole) console.Role {
	if r == store.RoleOperator {
		return console.Operator
	}
	return console.Viewer
}

// SignIn checks an operator's password (store.CheckOperator: argon2id, in
// the same time for unknown names). At most maxSignIns checks run at
// once; the others wait for their turn or their context.
func (b *consoleBackend) SignIn(ctx context.Context, name, password string) (console.Account, bool, error) {
	select {
	case b.signIns <- struct{}{}:
	case <-ctx.Done():
		return console.Account{}, false, ctx.Err()
	}
	defer func() { <-b.signIns }()
	o, ok, err := b.store.CheckOperator(ctx, name, password)
	if err != nil || !ok {
		return console.Account{}, false, err
	}
	return console.Account{Name: o.Name, Role: consoleRole(o.Role)}, true, nil
}

// Account returns the account name as the store has it now: ok is false
// when it was removed. It is not part of console.Backend; a console that
// keeps signed-in sessions can ask it to end those of an account removed,
// or given another role, with gatehouse admin since the sign-in.
func (b *consoleBackend) Account(ctx context.Context, name string) (acct console.Account, ok bool, err error) {
	o, err := b.store.Operator(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return console.Account{}, false, nil
	}
	if err != nil {
		return console.Account{}, false, err
	}
	return console.Account{Name: o.Name, Role: consoleRole(o.Role)}, true, nil
}

// RecordSignIn records a sign-in attempt in the event index; the console
// writes the log line ("console sign-in", "console sign-in refused")
// itself. The name is what was typed, cut to the length of a name: a
// refused sign-in may carry anything.
func (b *consoleBackend) RecordSignIn(_ context.Context, name, client string, ok bool, reason string) {
	ev := events.Event{Kind: events.KindSignIn, Result: events.Refused, Operator: clip(name, store.MaxNameLen), Reason: reason}
	if ok {
		ev.Result, ev.Reason = events.Accepted, ""
	}
	if ap, err := netip.ParseAddrPort(client); err == nil {
		ev.Client = ap.Addr().Unmap()
	} else if a, err := netip.ParseAddr(client); err == nil {
		ev.Client = a.Unmap()
	}
	ev.Time = b.now().UTC().Round(0)
	b.events.record(ev)
}

// clip cuts s to n characters of valid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Sessions lists the PPTP sessions, oldest first. The RADIUS front door
// keeps no sessions (its NASes do), so without PPTP the list is empty.
func (b *consoleBackend) Sessions(context.Context) ([]console.Session, error) {
	if b.pptp == nil {
		return nil, nil
	}
	service := b.current.Load().cfg.PPTP.Service
	var out []console.Session
	for _, s := range b.pptp.gw.Sessions() {
		out = append(out, consoleSession(s, service))
	}
	slices.SortFunc(out, func(a, b console.Session) int { return a.Started.Compare(b.Started) })
	return out, nil
}

func consoleSession(s gateway.SessionInfo, service string) console.Session {
	cs := console.Session{
		ID: s.ID, User: s.User, Client: s.Client.String(), Service: service, Branch: s.Branch,
		Encryption: encryption(s.Info), Started: s.Started, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
	}
	if s.Address.IsValid() {
		cs.Address = s.Address.String()
	}
	return cs
}

// Disconnect ends a session as gatehouse sessions kill does; the session's
// kill and session_down events follow with the cause.
func (b *consoleBackend) Disconnect(ctx context.Context, by console.Account, id string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if b.pptp == nil {
		return &consoleError{kind: console.ErrNotFound, err: fmt.Errorf("session %q: %w (the PPTP front door is off)", id, gateway.ErrNoSession)}
	}
	s, ok := b.pptp.gw.Session(id)
	if !ok {
		return consoleErr(fmt.Errorf("session %q: %w", id, gateway.ErrNoSession))
	}
	if err := b.pptp.gw.Kill(id, by.Name+" (console)"); err != nil {
		return consoleErr(err)
	}
	b.record(ctx, events.Event{Kind: events.KindAdmin, Operator: by.Name, User: s.User, SessionID: id, Client: s.Client,
		Message: "disconnected session " + id})
	return nil
}

// Events searches the event index.
func (b *consoleBackend) Events(ctx context.Context, f events.Filter) ([]events.Event, error) {
	evs, err := b.index.Query(ctx, f)
	if errors.Is(err, events.ErrNoIndex) {
		return nil, fmt.Errorf("this gateway keeps no event index (log.index is off, or the index could not be opened; see its log): %w", err)
	}
	return evs, err
}

// Users lists the store's users whose name contains search (ignoring
// case; "" lists all), with their tokens and lockouts.
func (b *consoleBackend) Users(ctx context.Context, search string) ([]console.User, error) {
	users, err := b.store.Users(ctx)
	if err != nil {
		return nil, err
	}
	tokens, err := b.tokensByUser(ctx, "")
	if err != nil {
		return nil, err
	}
	locked := b.locked()
	search = strings.ToLower(search)
	out := []console.User{}
	for _, u := range users {
		if search != "" && !strings.Contains(strings.ToLower(u.Name), search) {
			continue
		}
		out = append(out, consoleUser(u, tokens[u.Name], locked[u.Name]))
	}
	return out, nil
}

// User returns one user of the store.
func (b *consoleBackend) User(ctx context.Context, name string) (console.User, error) {
	u, err := b.store.User(ctx, name)
	if err != nil {
		return console.User{}, consoleErr(err)
	}
	tokens, err := b.tokensByUser(ctx, name)
	if err != nil {
		return console.User{}, err
	}
	return consoleUser(u, tokens[name], b.locked()[name]), nil
}

func consoleUser(u store.User, tokens []console.Token, lockedUntil time.Time) console.User {
	return console.User{
		Name: u.Name, Disabled: u.Disabled, VPN: string(u.VPNAccess), HasPassword: u.HasPassword,
		Groups: u.Groups, LockedUntil: lockedUntil, Tokens: tokens,
	}
}

// locked is the running gateway's lockouts now (the tracker's memory,
// which decides logins; the store is written behind it).
func (b *consoleBackend) locked() map[string]time.Time {
	out := map[string]time.Time{}
	if b.lockout == nil {
		return out
	}
	for _, l := range b.lockout.Locked(b.now()) {
		out[l.Name] = l.LockedUntil
	}
	return out
}

// tokensByUser is the store's tokens (of user, or all for ""), by user,
// secrets cleared.
func (b *consoleBackend) tokensByUser(ctx context.Context, user string) (map[string][]console.Token, error) {
	ts, err := b.store.Tokens(ctx, store.TokenFilter{User: user})
	if err != nil {
		return nil, err
	}
	clearTokens(ts)
	out := map[string][]console.Token{}
	for _, t := range ts {
		out[t.User] = append(out[t.User], consoleToken(t))
	}
	return out, nil
}

func consoleToken(t store.Token) console.Token {
	return console.Token{Serial: t.Serial, Kind: t.Kind, Algorithm: t.Algorithm, Digits: t.Digits, User: t.User, Source: t.Source}
}

// CreateUser adds a user as gatehouse user add does.
func (b *consoleBackend) CreateUser(ctx context.Context, by console.Account, u console.NewUser) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := addUser(ctx, b.store, newUser{name: u.Name, password: u.Password, groups: u.Groups, vpn: u.VPN}); err != nil {
		return consoleErr(err)
	}
	var what []string
	if u.Password != "" {
		what = append(what, "a password")
	} else {
		what = append(what, "no password")
	}
	if len(u.Groups) > 0 {
		what = append(what, "groups "+strings.Join(u.Groups, ", "))
	}
	if u.VPN != "" {
		what = append(what, "VPN access "+u.VPN)
	}
	b.changed(ctx, by, u.Name, "created user %s with %s", u.Name, strings.Join(what, ", "))
	return nil
}

// SetDisabled disables or enables a user; disabling revokes the user's
// running sessions at the re-check it asks for.
func (b *consoleBackend) SetDisabled(ctx context.Context, by console.Account, user string, disabled bool) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.SetDisabled(ctx, user, disabled); err != nil {
		return consoleErr(err)
	}
	b.recheckSessions()
	verb := "enabled"
	if disabled {
		verb = "disabled"
	}
	b.changed(ctx, by, user, "%s user %s", verb, user)
	return nil
}

// SetVPN sets a user's VPN access: use_group, on or off.
func (b *consoleBackend) SetVPN(ctx context.Context, by console.Account, user, vpn string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.SetVPNAccess(ctx, user, store.VPNAccess(vpn)); err != nil {
		return consoleErr(err)
	}
	b.recheckSessions()
	b.changed(ctx, by, user, "set the VPN access of %s to %s", user, vpn)
	return nil
}

// SetPassword sets a user's password (never recorded).
func (b *consoleBackend) SetPassword(ctx context.Context, by console.Account, user, password string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.SetPassword(ctx, user, password); err != nil {
		return consoleErr(err)
	}
	b.changed(ctx, by, user, "set the password of %s", user)
	return nil
}

// Unlock ends a lockout as gatehouse user unlock does, and at once in
// this gateway's memory. Any name can be unlocked, also one the store
// does not have (an LDAP user).
func (b *consoleBackend) Unlock(ctx context.Context, by console.Account, user string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	_, wasLocked := b.locked()[user]
	// Memory first: watchStore, seeing the store's lockouts revision move,
	// then finds nothing to record.
	if b.lockout != nil {
		b.lockout.Unlock(user)
	}
	found, err := b.store.Unlock(ctx, user)
	if err != nil {
		return err
	}
	switch {
	case wasLocked:
		b.record(ctx, events.Event{Kind: events.KindUnlock, Operator: by.Name, User: user, Message: "unlocked in the console by " + by.Name})
		b.changed(ctx, by, user, "unlocked %s", user)
	case found:
		b.changed(ctx, by, user, "cleared the failed logins of %s", user)
	default:
		b.changed(ctx, by, user, "unlocked %s (no failed logins were recorded)", user)
	}
	return nil
}

// Groups lists the store's groups, each with the VPN access
// pptp.access.groups gives it.
func (b *consoleBackend) Groups(ctx context.Context) ([]console.Group, error) {
	gs, err := b.store.Groups(ctx)
	if err != nil {
		return nil, err
	}
	grants := b.current.Load().cfg.PPTP.Access.Groups
	out := []console.Group{}
	for _, g := range gs {
		cg := console.Group{Name: g.Name, Members: g.Members}
		if on, ok := grants[g.Name]; ok {
			cg.VPN = "off"
			if on {
				cg.VPN = "on"
			}
		}
		out = append(out, cg)
	}
	return out, nil
}

// CreateGroup adds an empty group.
func (b *consoleBackend) CreateGroup(ctx context.Context, by console.Account, name string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.AddGroup(ctx, name); err != nil {
		return consoleErr(err)
	}
	b.changed(ctx, by, "", "created group %s", name)
	return nil
}

// AddMember adds a user to a group.
func (b *consoleBackend) AddMember(ctx context.Context, by console.Account, group, user string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.AddMember(ctx, group, user); err != nil {
		return consoleErr(err)
	}
	b.recheckSessions()
	b.changed(ctx, by, user, "added %s to group %s", user, group)
	return nil
}

// RemoveMember takes a user out of a group; sessions the group's grant
// let in are re-checked.
func (b *consoleBackend) RemoveMember(ctx context.Context, by console.Account, group, user string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.RemoveMember(ctx, group, user); err != nil {
		return consoleErr(err)
	}
	b.recheckSessions()
	b.changed(ctx, by, user, "removed %s from group %s", user, group)
	return nil
}

// Tokens lists every token of the store, never a secret.
func (b *consoleBackend) Tokens(ctx context.Context) ([]console.Token, error) {
	ts, err := b.store.Tokens(ctx, store.TokenFilter{})
	if err != nil {
		return nil, err
	}
	clearTokens(ts)
	out := []console.Token{}
	for _, t := range ts {
		out = append(out, consoleToken(t))
	}
	return out, nil
}

// Enroll creates an OATH soft token for a user as gatehouse token enroll
// does, and returns its key URI and QR code (PNG) to show once.
func (b *consoleBackend) Enroll(ctx context.Context, by console.Account, r console.EnrollRequest) (console.Enrollment, error) {
	if err := b.mayChange(ctx, by); err != nil {
		return console.Enrollment{}, err
	}
	kind := strings.ToLower(r.Kind)
	switch kind {
	case "":
		kind = store.KindTOTP
	case store.KindTOTP, store.KindHOTP:
	default:
		return console.Enrollment{}, invalidf("token kind %q: want totp or hotp", r.Kind)
	}
	digits := r.Digits
	switch digits {
	case 0:
		digits = 6
	case 6, 8:
	default:
		return console.Enrollment{}, invalidf("%d digits: want 6 or 8", r.Digits)
	}
	e, err := enroll(ctx, b.store, enrollRequest{user: r.User, kind: kind, digits: digits})
	if err != nil {
		return console.Enrollment{}, consoleErr(err)
	}
	png, err := qrPNG(e.qr)
	if err != nil {
		return console.Enrollment{}, fmt.Errorf("QR code: %w", err)
	}
	t := e.token
	b.changed(ctx, by, r.User, "enrolled token %s (%s, %d digits) for %s", t.Serial, t.Kind, t.Digits, r.User)
	return console.Enrollment{Token: consoleToken(t), URI: e.uri, QRPNG: png}, nil
}

// Assign assigns a token to a user.
func (b *consoleBackend) Assign(ctx context.Context, by console.Account, serial, user string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	if err := b.store.AssignToken(ctx, serial, user); err != nil {
		return consoleErr(err)
	}
	b.changed(ctx, by, user, "assigned token %s to %s", serial, user)
	return nil
}

// Unassign takes a token from its user.
func (b *consoleBackend) Unassign(ctx context.Context, by console.Account, serial string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	t, err := b.store.Token(ctx, serial)
	if err != nil {
		return consoleErr(err)
	}
	clear(t.Secret)
	if err := b.store.UnassignToken(ctx, serial); err != nil {
		return consoleErr(err)
	}
	if t.User != "" {
		b.changed(ctx, by, t.User, "unassigned token %s from %s", serial, t.User)
	} else {
		b.changed(ctx, by, "", "unassigned token %s (it had no user)", serial)
	}
	return nil
}

// Resync resynchronises a token from two consecutive codes as gatehouse
// token resync does.
func (b *consoleBackend) Resync(ctx context.Context, by console.Account, serial, code1, code2 string) error {
	if err := b.mayChange(ctx, by); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := resync(ctx, &out, b.store, serial, strings.TrimSpace(code1), strings.TrimSpace(code2), b.now()); err != nil {
		return consoleErr(err)
	}
	t, err := b.store.Token(ctx, serial)
	clear(t.Secret)
	user := ""
	if err == nil {
		user = t.User
	}
	b.changed(ctx, by, user, "%s", strings.TrimSpace(out.String()))
	return nil
}

// ImportPSKC imports the tokens of a PSKC file as gatehouse token import
// does: nothing is stored unless the whole file decrypts and verifies;
// serials already in the store are skipped.
func (b *consoleBackend) ImportPSKC(ctx context.Context, by console.Account, file []byte, password, pskHex string) (int, error) {
	if err := b.mayChange(ctx, by); err != nil {
		return 0, err
	}
	var opts pskc.Options
	if s := strings.TrimSpace(pskHex); s != "" {
		key, err := hex.DecodeString(s)
		if err != nil {
			return 0, invalidf("the pre-shared key must be written in hex")
		}
		opts.PreSharedKey = key
		defer clear(key)
	}
	if password != "" {
		opts.Password = pskc.Secret(password)
	}
	tokens, err := parsePSKC(file, opts)
	var kr *pskc.KeyRequiredError
	if errors.As(err, &kr) {
		what := "the transport key (hex)"
		if kr.Protection == pskc.ProtectionPassword {
			what = "the password the vendor gave you"
		}
		if kr.KeyName != "" {
			what += fmt.Sprintf(" (the vendor calls it %q)", kr.KeyName)
		}
		return 0, invalidf("the secrets are encrypted: give %s", what)
	}
	if err != nil {
		return 0, &consoleError{kind: console.ErrInvalid, err: fmt.Errorf("PSKC file: %w", err)}
	}
	defer clearTokens(tokens)
	var added, skipped []string
	n, err := addTokens(ctx, b.store, tokens, func(t store.Token, ok bool) {
		if ok {
			added = append(added, t.Serial)
		} else {
			skipped = append(skipped, t.Serial)
		}
	})
	if n > 0 || err == nil {
		msg := fmt.Sprintf("imported %d of %d tokens from a PSKC file", n, len(tokens))
		if len(added) > 0 {
			msg += ": " + strings.Join(added, ", ")
		}
		if len(skipped) > 0 {
			msg += "; already in the store: " + strings.Join(skipped, ", ")
		}
		b.changed(ctx, by, "", "%s", msg)
	}
	return n, consoleErr(err)
}

// Services lists the configured services, each with gatehouse policy
// explain's text for its policy and the credential kinds its front doors
// send.
func (b *consoleBackend) Services(context.Context) ([]console.Service, error) {
	cfg := b.current.Load().cfg
	var out []console.Service
	for name, s := range cfg.Services.All() {
		if s == nil {
			continue
		}
		var buf bytes.Buffer
		if err := explainFor(&buf, s.Policy, cfg, "the back-ends of "+cfg.File, cfg.ServiceKinds(name)); err != nil {
			fmt.Fprintf(&buf, "%v\n", err)
		}
		out = append(out, console.Service{Name: name, Policy: s.Policy, Explain: buf.String()})
	}
	return out, nil
}

// DryRun tries a login against a service's policy with the running
// engine, as gatehouse policy eval does: nothing consumed, and no
// lockout, metric or event touched.
func (b *consoleBackend) DryRun(ctx context.Context, by console.Account, service, user, secret, credKind string) (console.DryRun, error) {
	kind, ok := parseCredentialKind(credKind)
	if !ok || kind != authpolicy.MSCHAPv2 && kind != authpolicy.Plaintext {
		return console.DryRun{}, invalidf("credential %q: want mschapv2 or plaintext", credKind)
	}
	run := b.current.Load()
	if _, ok := run.cfg.Services.Get(service); !ok {
		return console.DryRun{}, &consoleError{kind: console.ErrNotFound, err: fmt.Errorf("service %q is not configured (services: %s)", service, strings.Join(run.cfg.Services.Keys(), ", "))}
	}
	if user == "" {
		return console.DryRun{}, invalidf("a dry run needs a user name")
	}
	cred, err := credential(kind, user, authpolicy.NewSecret(secret))
	if err != nil {
		return console.DryRun{}, err
	}
	if err := b.mayChange(ctx, by); err != nil {
		return console.DryRun{}, err
	}
	res, err := run.engine.Authenticate(ctx, service, cred, authpolicy.DryRun())
	if err != nil {
		return console.DryRun{}, err
	}
	outcome := "refused"
	if res.Accepted {
		outcome = fmt.Sprintf("accepted by branch %q", res.Branch)
	}
	b.changed(ctx, by, user, "dry run of service %s (%s, nothing consumed): %s", service, credKind, outcome)
	var buf bytes.Buffer
	printResult(&buf, res)
	return console.DryRun{Accepted: res.Accepted, Branch: res.Branch, Lines: strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")}, nil
}

// Status is the gateway's state: build, plugins, front doors, the pool and
// a few figures of /metrics.
func (b *consoleBackend) Status(context.Context) (console.Status, error) {
	run := b.current.Load()
	st := console.Status{Version: Version, Started: b.since}
	if h := run.backends.host; h != nil {
		for _, s := range h.Status() {
			st.Plugins = append(st.Plugins, console.Plugin{Name: s.Name, State: s.State.String(), PID: s.PID,
				Restarts: s.Restarts, LastError: s.LastError, Since: s.Since})
		}
	}
	c := b.started
	addr := func(a netip.AddrPort) string {
		if !a.IsValid() {
			return ""
		}
		return a.String()
	}
	st.FrontDoors = []console.FrontDoor{
		{Name: "PPTP", Enabled: c.PPTP.Enabled, Listen: addr(c.PPTP.Listen)},
		{Name: "RADIUS", Enabled: c.RADIUSServer.Enabled, Listen: addr(c.RADIUSServer.Listen)},
		{Name: "RADIUS dynamic authorization", Enabled: c.RADIUSDAE.Enabled, Listen: addr(c.RADIUSDAE.Listen)},
	}
	if b.pptp != nil {
		st.PoolInUse, st.PoolFree, st.Sessions = b.pptp.pool.InUse(), b.pptp.pool.Free(), len(b.pptp.gw.Sessions())
	}
	st.Metrics = b.figures()
	return st, nil
}

// figures are the status page's metrics, summed over their labels from
// what /metrics serves.
func (b *consoleBackend) figures() []console.Metric {
	if b.metrics == nil {
		return nil
	}
	type sum struct {
		name   string
		metric string
		label  string // "name=value": only series with it; "" all
	}
	sums := []sum{
		{"Logins accepted", "gatehouse_logins_total", "result=accepted"},
		{"Logins refused", "gatehouse_logins_total", "result=rejected"},
		{"Logins failed (a back-end could not decide)", "gatehouse_logins_total", "result=failed"},
		{"One-time codes replayed", "gatehouse_otp_replays_total", ""},
		{"Users locked out now", "gatehouse_users_locked_out", ""},
		{"Sessions revoked", "gatehouse_pptp_sessions_revoked_total", ""},
		{"PPTP packets dropped", "gatehouse_pptp_dropped_packets_total", ""},
		{"Calls without GRE (blocked on the path)", "gatehouse_pptp_gre_blocked_total", ""},
	}
	values := make([]float64, len(sums))
	mfs, err := b.metrics.reg.Gather()
	if err != nil && len(mfs) == 0 {
		return nil
	}
	for _, mf := range mfs {
		for i, s := range sums {
			if mf.GetName() != s.metric {
				continue
			}
			want, value, _ := strings.Cut(s.label, "=")
		series:
			for _, m := range mf.GetMetric() {
				if want != "" {
					for _, l := range m.GetLabel() {
						if l.GetName() == want && l.GetValue() != value {
							continue series
						}
					}
				}
				switch {
				case m.GetCounter() != nil:
					values[i] += m.GetCounter().GetValue()
				case m.GetGauge() != nil:
					values[i] += m.GetGauge().GetValue()
				}
			}
		}
	}
	out := make([]console.Metric, 0, len(sums)+1)
	for i, s := range sums {
		out = append(out, console.Metric{Name: s.name, Value: strconv.FormatFloat(values[i], 'f', -1, 64)})
	}
	if b.index != nil {
		is := b.index.Stats()
		out = append(out, console.Metric{Name: "Events not indexed (in the log only)", Value: strconv.FormatUint(is.Dropped+is.Lost, 10)})
	}
	return out
}

// newConsole builds the web console over b.
func newConsole(b *consoleBackend, log *slog.Logger) (http.Handler, error) {
	c, err := console.New(console.Config{Now: b.now}, b, log)
	if err != nil {
		return nil, fmt.Errorf("admin console: %w", err)
	}
	if consoleBuilt != nil {
		consoleBuilt(b)
	}
	return c, nil
}

// consoleBuilt, when set (by tests), is handed each console backend that
// serve builds.
var consoleBuilt func(*consoleBackend)

// withConsole puts the console (nil: none) in front of the token-guarded
// admin API: /ui/ goes to the console, which signs operators in itself,
// and GET / is sent there; everything else is the API's, token and all.
// The mux cleans paths first, so no /ui/../ path reaches the API without
// the token.
func withConsole(ui, api http.Handler) http.Handler {
	if ui == nil {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", ui)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	mux.Handle("/", api)
	return mux
}

// httpErrorLog is the admin listeners' http.Server.ErrorLog: net/http's
// own complaints go to the gateway's log instead of bare lines on standard
// error. Failed TLS handshakes, which anything probing an HTTPS port
// causes, are debug lines; the others (a handler's panic, accept errors)
// warnings.
func httpErrorLog(log *slog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorWriter{log}, "", 0)
}

type httpErrorWriter struct{ log *slog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	msg := strings.TrimPrefix(strings.TrimSpace(string(p)), "http: ")
	if strings.HasPrefix(msg, "TLS handshake error") {
		w.log.Debug("admin listener: TLS handshake failed", slog.String("err", msg))
	} else {
		w.log.Warn("admin listener: HTTP server error", slog.String("err", msg))
	}
	return len(p), nil
}

// adminTLS is the TLS configuration of the admin listener: the
// certificate and key of admin.tls_cert_file and tls_key_file, read now
// (an error refuses to start) and again when either file changes, so a
// renewed certificate needs no restart.
func adminTLS(a config.Admin, log *slog.Logger) (*tls.Config, error) {
	cf := &certFiles{cert: a.TLSCertFile, key: a.TLSKeyFile, log: log}
	if err := cf.load(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cf.get}, nil
}

// certFiles keeps a certificate loaded from files, reloading it when the
// files change (looked at once a second at most).
type certFiles struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string    // the files' sizes and modification times when loaded
	looked  time.Time // when the files were last looked at
}

// stampOf describes the files as they are now.
func (c *certFiles) stampOf() (string, error) {
	var b strings.Builder
	for _, p := range []string{c.cert, c.key} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d@%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

func (c *certFiles) load() error {
	stamp, err := c.stampOf()
	if err != nil {
		return fmt.Errorf("admin TLS: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return fmt.Errorf("admin TLS (admin.tls_cert_file %s, tls_key_file %s): %w", c.cert, c.key, err)
	}
	c.current, c.stamp = &cert, stamp
	return nil
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.looked) >= time.Second {
		c.looked = now
		if stamp, err := c.stampOf(); err == nil && stamp != c.stamp {
			old := c.current
			if err := c.load(); err != nil {
				c.current = old
				c.log.Warn("admin TLS: the changed certificate does not load; serving the previous one", slog.Any("err", err))
			} else {
				c.log.Info("admin TLS: certificate reloaded", slog.String("cert_file", c.cert))
			}
		}
	}
	return c.current, nil
}
