package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"
)

//go:generate go run golang.org/x/tools/cmd/stringer@v0.52.0 -type=Kind -trimprefix=Kind -linecomment

// Kind is what an event records. The names are stable: they are stored in
// the index, written in JSON and typed by operators (gatehouse logs --kind).
// New kinds are added at the end; a kind is never renamed. See the package
// documentation for when each kind is written and which fields it carries.
type Kind uint8

const (
	_                 Kind = iota
	KindLogin              // login
	KindSessionUp          // session_up
	KindSessionDown        // session_down
	KindKill               // kill
	KindRevoke             // revoke
	KindLockout            // lockout
	KindUnlock             // unlock
	KindPluginStart        // plugin_start
	KindPluginExit         // plugin_exit
	KindPluginRestart      // plugin_restart
	KindReload             // reload
	KindConfigError        // config_error
	KindGatewayStart       // gateway_start
	KindGatewayStop        // gateway_stop
	KindAdmin              // admin
	KindSignIn             // sign_in

	numKinds = iota
)

// Kinds lists every kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := Kind(1); k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k > 0 && k < numKinds }

// ParseKind returns the kind named s (as String writes it).
func ParseKind(s string) (Kind, error) {
	for k := Kind(1); k < numKinds; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown event kind %q; the kinds are %s", s, kindList())
}

func kindList() string {
	var b []byte
	for k := Kind(1); k < numKinds; k++ {
		if k > 1 {
			b = append(b, ", "...)
		}
		b = append(b, k.String()...)
	}
	return string(b)
}

// MarshalText implements encoding.TextMarshaler; it refuses the zero Kind.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("events: invalid kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	x, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = x
	return nil
}

// Result is the answer to a login: accepted, refused, or empty for events
// that are not decisions.
type Result string

const (
	Accepted Result = "accepted"
	Refused  Result = "refused"
)

// Front doors: where a login came in.
const (
	FrontDoorPPTP   = "pptp"
	FrontDoorRADIUS = "radius"
)

// BranchOutcome is one policy branch's part in a login decision: the
// branch as written in the policy ("Password and OATH"), its outcome
// (accepted, rejected, failed, skipped, as authpolicy.Outcome writes it)
// and why.
type BranchOutcome struct {
	Branch  string `json:"branch"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// Event is one thing that happened at the gateway that an operator may ask
// about later. Only Time and Kind are always set; which other fields a kind
// carries is listed in the package documentation. An Event holds no secret:
// no password, one-time code, challenge, response or key ever goes in one.
//
// In JSON the fields have the snake_case names in their tags, and zero
// fields are left out. Durations are integer nanoseconds, as slog's
// JSONHandler writes them, so an event in the index and the same event in
// a JSON log line carry the same numbers.
type Event struct {
	// Time is when it happened, UTC. Append fills in the current time when
	// it is zero.
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Result is set for logins: accepted or refused.
	Result Result `json:"result,omitempty"`
	// FrontDoor is where the login or session came in: pptp or radius.
	FrontDoor string `json:"front_door,omitempty"`
	// Service is the service (and so the policy) the login was for.
	Service string `json:"service,omitempty"`
	User    string `json:"user,omitempty"`
	// Branch is the policy branch that decided an accepted login.
	Branch string `json:"branch,omitempty"`
	// Method is the authentication protocol: mschapv2, mschapv1, chap-md5,
	// pap.
	Method string `json:"method,omitempty"`
	// Reason says why a login was refused, why a session went down, why a
	// plugin exited or why a configuration was refused, in words an
	// operator can act on.
	Reason string `json:"reason,omitempty"`
	// Branches says what each tried branch of the policy did.
	Branches []BranchOutcome `json:"branches,omitempty"`
	// Client is the client's public address (PPTP) or Calling-Station-Id
	// address (RADIUS), when it is one.
	Client netip.Addr `json:"client,omitzero"`
	// NAS is the RADIUS client that asked: NAS-IP-Address or
	// NAS-Identifier, else the packet's source address.
	NAS string `json:"nas,omitempty"`
	// SessionID names the session: the gateway's session id for PPTP (the
	// one gatehouse sessions lists and kill takes), Acct-Session-Id for
	// RADIUS.
	SessionID string `json:"session_id,omitempty"`
	// Address is the address given to the client (PPP IPCP,
	// Framed-IP-Address).
	Address netip.Addr `json:"address,omitzero"`
	// Encryption is what protects the session's traffic, for example
	// "mppe-128 stateless".
	Encryption string `json:"encryption,omitempty"`
	// Traffic counters of a session that went down, from the client's
	// point of view of the gateway: In is what the client sent.
	BytesIn    uint64 `json:"bytes_in,omitempty"`
	BytesOut   uint64 `json:"bytes_out,omitempty"`
	PacketsIn  uint64 `json:"packets_in,omitempty"`
	PacketsOut uint64 `json:"packets_out,omitempty"`
	// Duration is how long the session lasted (session_down) or the
	// decision took (login).
	Duration time.Duration `json:"duration,omitempty"`
	// Backend is the back-end (plugin) instance name from the
	// configuration.
	Backend string `json:"backend,omitempty"`
	// Message is anything else worth saying, in words.
	Message string `json:"message,omitempty"`
	// Operator is who made an admin change or signed in to the console:
	// an operator account's name, or "cli" / "api" for the command line
	// and the token-authenticated admin API.
	Operator string `json:"operator,omitempty"`
}

// Title is the constant log message for the event: "login accepted",
// "session down", "plugin exited".
func (e *Event) Title() string {
	switch e.Kind {
	case KindLogin:
		switch e.Result {
		case Accepted:
			return "login accepted"
		case Refused:
			return "login refused"
		}
		return "login"
	case KindSessionUp:
		return "session up"
	case KindSessionDown:
		return "session down"
	case KindKill:
		return "session killed"
	case KindRevoke:
		return "access revoked"
	case KindLockout:
		return "user locked out"
	case KindUnlock:
		return "user unlocked"
	case KindPluginStart:
		return "plugin started"
	case KindPluginExit:
		return "plugin exited"
	case KindPluginRestart:
		return "plugin restarted"
	case KindReload:
		return "configuration reloaded"
	case KindConfigError:
		return "configuration refused"
	case KindGatewayStart:
		return "gateway started"
	case KindGatewayStop:
		return "gateway stopped"
	case KindAdmin:
		return "admin change"
	case KindSignIn:
		return "console sign-in"
	}
	return "event"
}

// Level is the slog level the event is logged at: warning for a plugin
// exit and a lockout, error for a refused configuration, info otherwise (a
// refused login is routine, not a warning).
func (e *Event) Level() slog.Level {
	switch e.Kind {
	case KindPluginExit, KindLockout:
		return slog.LevelWarn
	case KindConfigError:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogAttrs returns the event's fields as slog attributes, leaving out the
// zero ones and the time (the handler writes its own). The keys are the
// JSON names, except that SessionID is "session", the key the gateway's
// other log lines use; Branches is a list of groups.
func (e *Event) LogAttrs() []slog.Attr {
	as := make([]slog.Attr, 0, 12)
	as = append(as, slog.String("kind", e.Kind.String()))
	str := func(k, v string) {
		if v != "" {
			as = append(as, slog.String(k, v))
		}
	}
	num := func(k string, v uint64) {
		if v != 0 {
			as = append(as, slog.Uint64(k, v))
		}
	}
	str("result", string(e.Result))
	str("front_door", e.FrontDoor)
	str("service", e.Service)
	str("user", e.User)
	str("branch", e.Branch)
	str("method", e.Method)
	str("reason", e.Reason)
	if len(e.Branches) > 0 {
		as = append(as, slog.Any("branches", branchesValue(e.Branches)))
	}
	if e.Client.IsValid() {
		as = append(as, slog.String("client", e.Client.String()))
	}
	str("nas", e.NAS)
	str("session", e.SessionID)
	if e.Address.IsValid() {
		as = append(as, slog.String("address", e.Address.String()))
	}
	str("encryption", e.Encryption)
	num("bytes_in", e.BytesIn)
	num("bytes_out", e.BytesOut)
	num("packets_in", e.PacketsIn)
	num("packets_out", e.PacketsOut)
	if e.Duration != 0 {
		as = append(as, slog.Duration("duration", e.Duration))
	}
	str("backend", e.Backend)
	str("message", e.Message)
	str("operator", e.Operator)
	return as
}

// Log writes the event to l at its Level, with its Title as the message,
// its LogAttrs, and its Time as the record's time (the current time when
// it has none), so that the log line and the index agree.
func (e *Event) Log(ctx context.Context, l *slog.Logger) {
	if l == nil || !l.Enabled(ctx, e.Level()) {
		return
	}
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	r := slog.NewRecord(t, e.Level(), e.Title(), 0)
	r.AddAttrs(e.LogAttrs()...)
	_ = l.Handler().Handle(ctx, r)
}

// branchesValue is how Branches goes into a log line: a JSON array in
// JSON, one clause per branch in text.
type branchesValue []BranchOutcome

func (b branchesValue) MarshalJSON() ([]byte, error) { return json.Marshal([]BranchOutcome(b)) }

func (b branchesValue) MarshalText() ([]byte, error) { return []byte(branchSummary(b)), nil }

// branchSummary is one clause per branch:
// `"Password and OATH" rejected: wrong code; "DIGIPASS" failed: timeout`.
func branchSummary(bs []BranchOutcome) string {
	var s []byte
	for i, b := range bs {
		if i > 0 {
			s = append(s, "; "...)
		}
		s = strconv.AppendQuote(s, b.Branch)
		s = append(s, ' ')
		s = append(s, b.Outcome...)
		if b.Reason != "" {
			s = append(s, ": "...)
			s = append(s, b.Reason...)
		}
	}
	return string(s)
}

// Recorder writes each event to the log and to the index: the one call the
// gateway's parts make. Either may be nil. A Recorder is safe for
// concurrent use and never blocks on the index (see [Index.Append]).
type Recorder struct {
	Log   *slog.Logger
	Index *Index
	// Now is the clock that stamps events without a time; nil means
	// time.Now.
	Now func() time.Time
}

// Record stamps e with the current time when it has none, logs it and
// appends it to the index.
func (r *Recorder) Record(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		if r.Now != nil {
			e.Time = r.Now()
		} else {
			e.Time = time.Now()
		}
	}
	e.Time = e.Time.UTC().Round(0)
	e.Log(ctx, r.Log)
	r.Index.Append(e)
}
