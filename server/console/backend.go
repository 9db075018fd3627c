package console

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

// Role is what an operator may do in the console.
type Role string

const (
	// Viewer reads every page and changes nothing.
	Viewer Role = "viewer"
	// Operator reads and changes: users, groups, tokens, sessions.
	Operator Role = "operator"
)

// Account is a signed-in operator.
type Account struct {
	Name string
	Role Role
}

// CanChange reports whether the account may make changes.
func (a Account) CanChange() bool { return a.Role == Operator }

// Errors a Backend returns that the console shows as the operator's
// mistake (400-class, with the error's text) rather than as a failure.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
)

// Session is one running VPN session.
type Session struct {
	ID         string // the session id (Acct-Session-Id), as events carry it
	User       string
	Client     string // the client's public address
	Address    string // the address given to the client, "" before IPCP
	Service    string
	Branch     string // the policy branch that decided the login
	Encryption string // e.g. "mppe-128 stateless"
	Started    time.Time
	BytesIn    uint64
	BytesOut   uint64
}

// User is a user of the local store, with what the console shows of it.
type User struct {
	Name        string
	Disabled    bool
	VPN         string // "use_group", "on" or "off"
	HasPassword bool
	Groups      []string
	LockedUntil time.Time // zero when not locked out
	Tokens      []Token
}

// Group is a group of the local store.
type Group struct {
	Name    string
	Members []string
	VPN     string // the group's VPN access as the configuration sets it ("on", "off" or "")
}

// Token is an OATH token of the local store. Its secret never leaves the
// Backend.
type Token struct {
	Serial    string
	Kind      string // "totp" or "hotp"
	Algorithm string // "SHA1", ...
	Digits    int
	User      string // "" when unassigned
	Source    string // "oath" (enrolled) or "digipass" (imported)
}

// NewUser is what the create-user form sends.
type NewUser struct {
	Name     string
	Password string // "" for none
	Groups   []string
	VPN      string // "" means use_group
}

// Enrollment is a freshly enrolled token: the key URI and its QR code
// (PNG), shown once and never again.
type Enrollment struct {
	Token Token
	URI   string
	QRPNG []byte
}

// EnrollRequest is what the enroll form sends.
type EnrollRequest struct {
	User   string
	Kind   string // "totp" or "hotp"
	Digits int    // 6 or 8; 0 means 6
}

// Service is one configured service and its policy, explained.
type Service struct {
	Name   string
	Policy string
	// Explain is gatehouse policy explain's text for the policy: the tree
	// and, per credential kind, each branch's verdict.
	Explain string
}

// DryRun is the outcome of a login tried with nothing consumed.
type DryRun struct {
	Accepted bool
	Branch   string // the branch that accepted, if any
	// Lines is the result as gatehouse policy eval prints it.
	Lines []string
}

// Status is the gateway's state for the status page.
type Status struct {
	Version    string
	Started    time.Time
	Plugins    []Plugin
	FrontDoors []FrontDoor
	PoolInUse  int
	PoolFree   int
	Sessions   int
	// Metrics are a few key figures, in the order to show them.
	Metrics []Metric
}

// Plugin is one back-end plugin process.
type Plugin struct {
	Name      string
	State     string
	PID       int
	Restarts  int
	LastError string
	Since     time.Time
}

// FrontDoor is one front door (PPTP, RADIUS, RADIUS dynamic authorization).
type FrontDoor struct {
	Name    string
	Enabled bool
	Listen  string
}

// Metric is one named figure.
type Metric struct {
	Name  string
	Value string
}

// Backend is everything the console reads and changes. cmd/gatehouse
// implements it over the running gateway, the local store and the event
// index. Every method that changes something takes the operator who asks:
// the Backend records an events.KindAdmin event with the operator's name
// (the console does not record changes itself). Errors wrapping
// ErrNotFound, ErrExists or ErrInvalid are the operator's mistakes.
type Backend interface {
	// SignIn checks an operator's name and password (in constant time,
	// against an argon2id hash). ok is false, with a nil error, for an
	// unknown name or a wrong password.
	SignIn(ctx context.Context, name, password string) (acct Account, ok bool, err error)
	// Account returns the operator account name as it is now: the console
	// asks on every request, so that an account removed since it signed
	// in is signed out and one whose role changed gets its new role at
	// once. ok is false, with a nil error, when the account is gone.
	Account(ctx context.Context, name string) (acct Account, ok bool, err error)

	Sessions(ctx context.Context) ([]Session, error)
	Disconnect(ctx context.Context, by Account, id string) error

	// Events searches the event index.
	Events(ctx context.Context, f events.Filter) ([]events.Event, error)
	// RecordSignIn records a console sign-in attempt (events.KindSignIn).
	RecordSignIn(ctx context.Context, name, client string, ok bool, reason string)

	Users(ctx context.Context, search string) ([]User, error)
	User(ctx context.Context, name string) (User, error)
	CreateUser(ctx context.Context, by Account, u NewUser) error
	SetDisabled(ctx context.Context, by Account, user string, disabled bool) error
	SetVPN(ctx context.Context, by Account, user, vpn string) error
	SetPassword(ctx context.Context, by Account, user, password string) error
	Unlock(ctx context.Context, by Account, user string) error

	Groups(ctx context.Context) ([]Group, error)
	CreateGroup(ctx context.Context, by Account, name string) error
	AddMember(ctx context.Context, by Account, group, user string) error
	RemoveMember(ctx context.Context, by Account, group, user string) error

	Tokens(ctx context.Context) ([]Token, error)
	Enroll(ctx context.Context, by Account, r EnrollRequest) (Enrollment, error)
	Assign(ctx context.Context, by Account, serial, user string) error
	Unassign(ctx context.Context, by Account, serial string) error
	Resync(ctx context.Context, by Account, serial, code1, code2 string) error
	// ImportPSKC imports the tokens of a PSKC file; password or psk
	// (hex) decrypts it when it is encrypted. It returns how many tokens
	// were added.
	ImportPSKC(ctx context.Context, by Account, file []byte, password, pskHex string) (int, error)

	Services(ctx context.Context) ([]Service, error)
	// DryRun tries a login against a service's policy with nothing
	// consumed; credential is "mschapv2" or "plaintext". It is recorded
	// (events.KindAdmin, without the secret) with the operator who asked:
	// trying a user's password is an operator's act and leaves a trace.
	DryRun(ctx context.Context, by Account, service, user, secret, credential string) (DryRun, error)

	Status(ctx context.Context) (Status, error)
}
