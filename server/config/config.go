package config

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// Config is one gatehouse.yaml. Every key is optional except backends and
// services; defaults are in defaults.go. After [Load] or [Parse], relative
// paths have been resolved (see the package documentation) and each back-end
// and service knows its name.
type Config struct {
	// StateDir holds the store, keys and logs.
	StateDir     string            `yaml:"state_dir"`
	Log          Log               `yaml:"log"`
	Admin        Admin             `yaml:"admin"`
	Store        Store             `yaml:"store"`
	Plugins      Plugins           `yaml:"plugins"`
	Backends     Ordered[*Backend] `yaml:"backends" required:"true"`
	Services     Ordered[*Service] `yaml:"services" required:"true"`
	PPTP         PPTP              `yaml:"pptp"`
	Firewall     Firewall          `yaml:"firewall"`
	RADIUSServer RADIUSServer      `yaml:"radius_server"`
	// RADIUSAccounting sends the accounting of PPTP sessions.
	RADIUSAccounting RADIUSAccounting `yaml:"radius_accounting"`
	// Lockout refuses a user name after repeated failed logins.
	Lockout Lockout `yaml:"lockout"`
	// RADIUSDAE lets RADIUS servers end or change PPTP sessions (RFC 5176).
	RADIUSDAE RADIUSDAE `yaml:"radius_dae"`

	// File is the name the configuration was loaded under; Dir is the
	// directory relative paths were resolved against.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`

	positions    map[string]Pos // path -> value
	keyPositions map[string]Pos // path -> the key naming it
}

// Pos returns the position in the file of the value at path (as in
// [Problem.Path]: "backends.OATH.digits", "pptp.dns[1]"). When that value was
// not written (it is a default), Pos returns the position of the nearest
// enclosing key that was ("pptp:" for "pptp.mtu"), or the zero Pos.
func (c *Config) Pos(path string) Pos {
	if p, ok := c.positions[path]; ok {
		return p
	}
	for path != "" {
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
		if p, ok := c.keyPositions[path]; ok {
			return p
		}
		if p, ok := c.positions[path]; ok {
			return p
		}
	}
	return Pos{}
}

// Has reports whether the value at path was written in the file (rather
// than left to its default).
func (c *Config) Has(path string) bool {
	_, ok := c.positions[path]
	return ok
}

// Log configures the log and the event index (server/logfile,
// server/events).
type Log struct {
	Level  LogLevel  `yaml:"level"`
	Format LogFormat `yaml:"format"`
	// File is the log file; empty means standard error.
	File string `yaml:"file"`
	// MaxSize rotates File past this size, keeping MaxFiles old files
	// (file.1 ... file.N); 0 leaves rotation to logrotate, which sends
	// SIGUSR1 to have the file reopened.
	MaxSize  ByteSize `yaml:"max_size"`
	MaxFiles int      `yaml:"max_files" min:"1" max:"100"`
	// Syslog sends the log to the local syslog socket (journald's too)
	// as well, with SyslogTag.
	Syslog    bool   `yaml:"syslog"`
	SyslogTag string `yaml:"syslog_tag"`
	// Index is the event index's SQLite file ("" turns the index off);
	// Retention and IndexMaxSize bound it.
	Index        string        `yaml:"index"`
	Retention    time.Duration `yaml:"retention" min:"1h"`
	IndexMaxSize ByteSize      `yaml:"index_max_size"`
}

// Admin is the local admin and health HTTP listener.
type Admin struct {
	// Listen is the address to listen on; the zero AddrPort ("" in the
	// file) disables the listener.
	Listen netip.AddrPort `yaml:"listen"`
	// TokenFile holds the bearer token every request but /healthz must
	// carry; created (0600) on the first start. In state_dir when
	// relative.
	TokenFile string `yaml:"token_file"`
	// Socket, when set, is a Unix socket the admin API is served on as
	// well, with file mode SocketMode; its permissions decide who may
	// use it, and it asks for no token.
	Socket     string   `yaml:"socket"`
	SocketMode FileMode `yaml:"socket_mode"`
	// MetricsPublic lets /metrics answer without the token, for a
	// Prometheus that cannot send one.
	MetricsPublic bool `yaml:"metrics_public"`
	// Console serves the web console at /ui/ on the TCP listener
	// (Listen; not on the socket). Operators sign in with the accounts
	// of "gatehouse admin add", not with the token. Its cookies are
	// Secure, so it needs TLS unless Listen is a loopback address.
	Console bool `yaml:"console"`
	// TLSCertFile and TLSKeyFile, both or neither, make the TCP listener
	// serve HTTPS with this certificate (PEM, chain included) and key.
	// Relative to the configuration file's directory.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
}

// TLS reports whether the TCP listener serves HTTPS.
func (a Admin) TLS() bool { return a.TLSCertFile != "" && a.TLSKeyFile != "" }

// Store is where users, credentials, tokens, replay state and the event
// index live.
type Store struct {
	Driver StoreDriver `yaml:"driver"`
	// Path is the SQLite database file.
	Path string `yaml:"path"`
	// DSNFile holds the PostgreSQL connection string (it carries a
	// password, so it is not written in this file). Required for postgres.
	DSNFile string `yaml:"dsn_file"`
	// MaxConns bounds the PostgreSQL connections of each process (the
	// gateway and each built-in plugin process has its own pool).
	MaxConns int `yaml:"max_conns" min:"1"`
	// KeyFile holds the key that seals local passwords (AES-GCM).
	KeyFile string `yaml:"key_file"`
}

// Plugins configures the plugin host.
type Plugins struct {
	// Dir is where plugin binaries are looked up.
	Dir string `yaml:"dir"`
	// User is the unprivileged account plugins run as.
	User string `yaml:"user"`
	// CallTimeout is the deadline of one call to a plugin, and the default
	// timeout of every back-end.
	CallTimeout time.Duration `yaml:"call_timeout" min:"1ms"`
	// MaxConcurrentCalls bounds the calls in flight to one plugin; 0 is
	// 64 per CPU core of the gateway.
	MaxConcurrentCalls int `yaml:"max_concurrent_calls" min:"0"`
	// Procs is each plugin process's GOMAXPROCS; 0 is every core.
	Procs int `yaml:"procs" min:"0"`
	// External lists third-party plugin binaries, pinned by SHA-256.
	External map[string]*ExternalPlugin `yaml:"external"`
}

// ExternalPlugin is a third-party plugin binary.
type ExternalPlugin struct {
	// Binary is the executable; a relative path is relative to Plugins.Dir.
	Binary string `yaml:"binary" required:"true"`
	// SHA256 is the hex SHA-256 of the binary; the host refuses to start a
	// binary that does not match.
	SHA256 string `yaml:"sha256" required:"true"`
}

// Backend is one back-end instance. Exactly one of the type-specific
// pointers is set, the one that goes with Type (none for local).
type Backend struct {
	// Name is the key under backends, the NAME used in policies.
	Name string `yaml:"-"`
	// Pos is where the back-end's name is written.
	Pos  Pos         `yaml:"-" pos:"."`
	Type BackendType `yaml:"type" required:"true"`
	// Timeout is the deadline of every call to this back-end; the default is
	// plugins.call_timeout.
	Timeout time.Duration `yaml:"timeout" min:"1ms"`

	OATH     *OATH          `yaml:",inline" when:"type=oath"`
	Digipass *Digipass      `yaml:",inline" when:"type=digipass"`
	LDAP     *LDAP          `yaml:",inline" when:"type=ldap"`
	RADIUS   *RADIUS        `yaml:",inline" when:"type=radius"`
	Plugin   *PluginBackend `yaml:",inline" when:"type=plugin"`
	Memory   *Memory        `yaml:",inline" when:"type=memory"`
}

// OATH is an OATH token back-end (TOTP with Period, HOTP resynchronised
// within LookAhead).
type OATH struct {
	Digits    int           `yaml:"digits" min:"6" max:"8"`
	Period    time.Duration `yaml:"period" min:"1s"`
	Skew      int           `yaml:"skew" min:"0" max:"10"`
	LookAhead int           `yaml:"look_ahead" min:"0" max:"1000"`
}

// Digipass is a DIGIPASS token back-end; a token may show codes of several
// lengths.
type Digipass struct {
	Digits    []int `yaml:"digits" min:"6" max:"8"`
	LookAhead int   `yaml:"look_ahead" min:"0" max:"1000"`
}

// LDAP is a directory back-end. Its options are those of the ldap plugin
// (plugins/ldap), which checks them when it starts; option
// nt_hash_attribute or mschapv2: winbind lets it verify MS-CHAPv2, and option
// directory (or a filter naming sAMAccountName or userPrincipalName) marks
// Active Directory for config check.
type LDAP struct {
	Options map[string]string `yaml:"options"`
}

// RADIUS is a back-end that forwards to a RADIUS server. Its options are
// free-form until the RADIUS back-end defines typed fields.
type RADIUS struct {
	Options map[string]string `yaml:"options"`
}

// PluginBackend is a back-end served by a third-party plugin.
type PluginBackend struct {
	// Plugin names an entry of plugins.external.
	Plugin string `yaml:"plugin" required:"true"`
	// Capabilities are the ones the operator expects of the plugin, by the
	// names of authpolicy.Capability ("fragments", "verify-plaintext", ...).
	Capabilities []string `yaml:"capabilities"`
	// CapabilitiesPos is where the capabilities list is written.
	CapabilitiesPos Pos               `yaml:"-" pos:"capabilities"`
	Options         map[string]string `yaml:"options"`
}

// Memory is an in-memory back-end for demos and tests: its secrets are
// written in plaintext in the file.
type Memory struct {
	// OneTime makes every secret usable once (one-time codes).
	OneTime bool `yaml:"one_time"`
	// Lengths are the fixed lengths of the secrets; empty means variable.
	Lengths []int `yaml:"lengths" min:"1" max:"64"`
	// Users maps a user name to the user's secrets.
	Users map[string][]authpolicy.Secret `yaml:"users"`
}

// Service is a named policy: who may log in through a front door.
type Service struct {
	// Name is the key under services.
	Name string `yaml:"-"`
	// Pos is where the service's name is written.
	Pos Pos `yaml:"-" pos:"."`
	// Policy is the expression, such as "(Password and OATH) or DIGIPASS".
	Policy string `yaml:"policy" required:"true"`
	// PolicyPos is the position of the policy's first character; see
	// [Service.PolicyColumn].
	PolicyPos Pos `yaml:"-" pos:"policy"`
	// LoginTimeout bounds a whole login.
	LoginTimeout time.Duration `yaml:"login_timeout" min:"1ms"`
	// BackendTimeout bounds each back-end call made for this service.
	BackendTimeout time.Duration `yaml:"backend_timeout" min:"1ms"`
	// StripDomain removes a "DOMAIN\" prefix and an "@realm" suffix from
	// the user name before the policy sees it (Windows sends DOMAIN\user
	// when "Include Windows logon domain" is checked).
	StripDomain bool `yaml:"strip_domain"`
	// Challenge lets the RADIUS front door answer a PAP login whose
	// password was right but whose one-time code is missing with an
	// Access-Challenge, a second prompt for the code (see
	// radius_server.challenge_timeout). PPTP cannot prompt twice.
	Challenge bool `yaml:"challenge"`
}

// PolicyColumn maps a 1-based column inside the policy expression (as in
// authpolicy's syntax errors) to a position in the file. It is exact for
// policies written on one line, plain or quoted without escapes.
func (s *Service) PolicyColumn(col int) Pos {
	if !s.PolicyPos.IsValid() {
		return Pos{}
	}
	return Pos{s.PolicyPos.Line, s.PolicyPos.Col + max(col, 1) - 1}
}

// PPTP configures the PPTP front door.
type PPTP struct {
	Enabled bool           `yaml:"enabled"`
	Listen  netip.AddrPort `yaml:"listen"`
	// Service names the entry of services that decides logins.
	Service string `yaml:"service"`
	Pool    Pool   `yaml:"pool"`
	// LocalAddress is the gateway's own PPP address.
	LocalAddress netip.Addr `yaml:"local_address"`
	// Interface is the name of the TUN device every session's packets
	// pass through.
	Interface string `yaml:"interface"`
	// DNS and WINS servers offered in IPCP (RFC 1877), at most two each.
	DNS  []netip.Addr `yaml:"dns"`
	WINS []netip.Addr `yaml:"wins"`
	// AcceptClientAddress lets a client keep the address it proposes.
	AcceptClientAddress bool `yaml:"accept_client_address"`
	MaxConnections      int  `yaml:"max_connections" min:"1"`
	// IdleTimeout disconnects a session that sent no IP packet for that
	// long; 0 is off.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// EchoInterval is the LCP echo period; 0 turns echoes off.
	EchoInterval time.Duration `yaml:"echo_interval"`
	// EchoTimeout is how long without an echo reply ends a session.
	EchoTimeout time.Duration `yaml:"echo_timeout"`
	// ProxyARP answers ARP for pool addresses on the LAN.
	ProxyARP bool     `yaml:"proxy_arp"`
	MTU      int      `yaml:"mtu" min:"576" max:"1500"`
	Auth     PPTPAuth `yaml:"auth"`
	MPPE     MPPE     `yaml:"mppe"`
	Access   Access   `yaml:"access"`
	// RecheckInterval is how often every running session is checked
	// against the current directory and configuration, besides the checks
	// on reload and on store changes; 0 turns the periodic check off.
	RecheckInterval time.Duration `yaml:"recheck_interval"`
	// CallRate is how many calls a second one client address may set up,
	// in bursts of up to CallBurst; 0 is no limit.
	CallRate  int `yaml:"call_rate" min:"0"`
	CallBurst int `yaml:"call_burst" min:"1"`
}

// Pool is the range of client addresses, inclusive.
type Pool struct {
	First netip.Addr `yaml:"first"`
	Last  netip.Addr `yaml:"last"`
}

// PPTPAuth turns on weak authentication methods; MS-CHAPv2 is always on.
type PPTPAuth struct {
	PAP      bool `yaml:"pap"`
	CHAPMD5  bool `yaml:"chap_md5"`
	MSCHAPv1 bool `yaml:"mschapv1"`
}

// MPPE configures encryption (RFC 3078, 3079).
type MPPE struct {
	// Required refuses sessions that do not negotiate MPPE.
	Required bool `yaml:"required"`
	// Bits40 and Bits56 allow the weak key lengths; 128 bits is always on.
	Bits40 bool `yaml:"bits_40"`
	Bits56 bool `yaml:"bits_56"`
	// Stateful asks clients for stateful mode (RFC 3078): a client's
	// stateless request is Naked once towards it (ccp.StatefulPreferred).
	// pppd without mppe-stateful hangs up on that Nak.
	Stateful bool `yaml:"stateful"`
}

// Access says who may use the VPN.
type Access struct {
	// Default applies to users with no grant of their own or of a group.
	Default OnOff `yaml:"default"`
	// Groups grants or refuses access by group.
	Groups map[string]OnOff `yaml:"groups"`
	// Users overrides the groups' grant per user.
	Users map[string]UserAccess `yaml:"users"`
}

// Firewall holds the per-user and per-group packet filters applied to
// traffic from VPN clients.
type Firewall struct {
	// Policies are named, ordered lists of rules; the first matching rule
	// decides, and a packet no rule matches is dropped.
	Policies Ordered[[]Rule] `yaml:"policies"`
	// Groups assigns a policy to a group.
	Groups map[string]string `yaml:"groups"`
	// Users sets a user's policy relative to the groups'.
	Users map[string]UserFirewall `yaml:"users"`
	// DefaultPolicy applies to users with no policy of their own or of a
	// group; empty allows everything.
	DefaultPolicy string `yaml:"default_policy"`
}

// Rule is one firewall rule. A zero To matches every destination; empty
// Ports match every port.
type Rule struct {
	Action Action       `yaml:"action" required:"true"`
	Proto  Proto        `yaml:"proto"`
	To     netip.Prefix `yaml:"to"`
	Ports  Ports        `yaml:"ports"`
}

// UserFirewall is a user's firewall setting.
type UserFirewall struct {
	Mode FirewallMode `yaml:"mode" required:"true"`
	// Policy names an entry of firewall.policies; required unless Mode is
	// use_group.
	Policy string `yaml:"policy"`
}

// RADIUSServer configures the RADIUS front door.
type RADIUSServer struct {
	Enabled bool           `yaml:"enabled"`
	Listen  netip.AddrPort `yaml:"listen"`
	// Service names the entry of services that decides logins.
	Service string `yaml:"service"`
	// RequireMessageAuthenticator drops requests without a valid
	// Message-Authenticator (RFC 3579; the Blast-RADIUS defence).
	RequireMessageAuthenticator bool           `yaml:"require_message_authenticator"`
	Clients                     []RADIUSClient `yaml:"clients"`
	// DuplicateWindow is how long an answer is kept: a retransmission (same
	// source, Identifier and Request Authenticator) is answered from it,
	// not decided again.
	DuplicateWindow time.Duration `yaml:"duplicate_window" min:"1ms"`
	// ReplyAttributes are added to every Access-Accept, by RADIUS
	// attribute name (Filter-Id, Class, Reply-Message, Session-Timeout,
	// Idle-Timeout, Framed-MTU, Acct-Interim-Interval).
	ReplyAttributes map[string]string `yaml:"reply_attributes"`
	// CHAP accepts CHAP-Password (CHAP-MD5) logins.
	CHAP bool `yaml:"chap"`
	// ClientRate is how many requests a second one source address may
	// send, in bursts of up to ClientBurst; 0 is no limit.
	ClientRate  int `yaml:"client_rate" min:"0"`
	ClientBurst int `yaml:"client_burst" min:"1"`
	// The second prompt of services with challenge on: how long a
	// challenge waits for its code, the prompt (Reply-Message) the NAS
	// shows, and how many may wait in all and per user name.
	ChallengeTimeout     time.Duration `yaml:"challenge_timeout" min:"10s" max:"10m"`
	ChallengeMessage     string        `yaml:"challenge_message"`
	MaxChallenges        int           `yaml:"max_challenges" min:"1" max:"1000000"`
	MaxChallengesPerUser int           `yaml:"max_challenges_per_user" min:"1" max:"100"`
}

// Lockout is the lockout policy (server/lockout): Threshold failed logins
// of one user name within Window refuse it for Duration.
type Lockout struct {
	// Threshold 0 turns the lockout off.
	Threshold int           `yaml:"threshold" min:"0"`
	Window    time.Duration `yaml:"window" min:"1s"`
	Duration  time.Duration `yaml:"duration" min:"1s"`
}

// RADIUSDAE is the Dynamic Authorization Server of RFC 5176: Disconnect-
// and CoA-Requests from the RADIUS servers in Clients end or change
// running PPTP sessions.
type RADIUSDAE struct {
	Enabled bool           `yaml:"enabled"`
	Listen  netip.AddrPort `yaml:"listen"`
	// Clients are the RADIUS servers allowed to send requests.
	Clients []RADIUSClient `yaml:"clients"`
	// RequireMessageAuthenticator drops requests without one.
	RequireMessageAuthenticator bool `yaml:"require_message_authenticator"`
	// RequireEventTimestamp drops requests without an Event-Timestamp;
	// ReplayWindow is how far one may be from the gateway's clock, and
	// how long answers are kept for retransmissions.
	RequireEventTimestamp bool          `yaml:"require_event_timestamp"`
	ReplayWindow          time.Duration `yaml:"replay_window" min:"1s"`
}

// RADIUSClient is a NAS allowed to send requests.
type RADIUSClient struct {
	// Prefix is the source addresses the client sends from.
	Prefix netip.Prefix `yaml:"prefix" required:"true"`
	// SecretFile holds the shared secret.
	SecretFile string `yaml:"secret_file" required:"true"`
}

// RADIUSAccounting configures RADIUS accounting (RFC 2866) of sessions: on
// when Servers is not empty.
type RADIUSAccounting struct {
	// Servers are host:port, tried in order.
	Servers []string `yaml:"servers"`
	// SecretFile holds the shared secret of every server.
	SecretFile string `yaml:"secret_file"`
	// InterimInterval between Interim-Updates; 0 sends none.
	InterimInterval time.Duration `yaml:"interim_interval" min:"0s"`
	// Timeout is the wait for an answer to one transmission.
	Timeout time.Duration `yaml:"timeout" min:"1ms"`
	// Retries is the number of retransmissions to one server.
	Retries int `yaml:"retries" min:"0" max:"10"`
	// DeadAfter is the number of exchanges in a row without an answer
	// before a server is skipped until it answers Status-Server.
	DeadAfter int `yaml:"dead_after" min:"1" max:"100"`
	// NASIdentifier and NASIPAddress identify the gateway.
	NASIdentifier string     `yaml:"nas_identifier"`
	NASIPAddress  netip.Addr `yaml:"nas_ip_address"`
}
