package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultTitle       = "Gatehouse"
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	DefaultSignInRate  = 5 // failed sign-ins a minute
	DefaultSignInBurst = 5
)

// Body limits: every request body, and the PSKC upload's file.
const (
	MaxBody   = 1 << 20
	MaxUpload = 1 << 20
	// uploadOverhead is what the import form may carry beyond the file:
	// the multipart boundaries and the other fields.
	uploadOverhead = 64 << 10
)

// Config is the console's configuration. The zero Config is usable.
type Config struct {
	// Title names the console in the page titles and the nav bar.
	// "" means DefaultTitle.
	Title string
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// IdleTimeout ends a console session that made no request for this
	// long (the live sessions poll does not count). 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxAge ends a console session this long after sign-in, however
	// busy. 0 means DefaultMaxAge.
	MaxAge time.Duration
	// SignInRate is how many failed sign-ins a minute are allowed per
	// client address and per account name, in bursts of up to
	// SignInBurst. 0 means DefaultSignInRate and DefaultSignInBurst.
	SignInRate  float64
	SignInBurst int
}

// withDefaults returns cfg with its zero fields filled in.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Title == "" {
		cfg.Title = DefaultTitle
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.SignInRate == 0 {
		cfg.SignInRate = DefaultSignInRate
	}
	if cfg.SignInBurst == 0 {
		cfg.SignInBurst = DefaultSignInBurst
	}
	switch {
	case cfg.IdleTimeout < 0:
		return cfg, fmt.Errorf("console: idle timeout %s is negative", cfg.IdleTimeout)
	case cfg.MaxAge < 0:
		return cfg, fmt.Errorf("console: max age %s is negative", cfg.MaxAge)
	case cfg.SignInRate < 0:
		return cfg, fmt.Errorf("console: sign-in rate %g is negative", cfg.SignInRate)
	case cfg.SignInBurst < 0:
		return cfg, fmt.Errorf("console: sign-in burst %d is negative", cfg.SignInBurst)
	}
	return cfg, nil
}

// Console is the web console: an http.Handler for the paths under /ui/.
type Console struct {
	cfg      Config
	b        Backend
	log      *slog.Logger
	pages    *pages
	sessions *store
	// byAddr and byName count failed sign-ins per client address and
	// per account name.
	byAddr, byName *failLimiter
	cop            *http.CrossOriginProtection
	static         http.Handler
	mux            *http.ServeMux
}

// New returns a console over b. log may be nil (nothing is logged).
func New(cfg Config, b Backend, log *slog.Logger) (*Console, error) {
	if b == nil {
		return nil, errors.New("console: no backend")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	static, err := staticHandler()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c := &Console{
		cfg:      cfg,
		b:        b,
		log:      log,
		pages:    p,
		sessions: newStore(cfg.IdleTimeout, cfg.MaxAge),
		byAddr:   newFailLimiter(cfg.SignInRate/60, cfg.SignInBurst),
		byName:   newFailLimiter(cfg.SignInRate/60, cfg.SignInBurst),
		cop:      http.NewCrossOriginProtection(),
		static:   static,
		mux:      http.NewServeMux(),
	}
	c.routes()
	return c, nil
}

// Paths the console serves under /ui/.
const (
	pathRoot     = "/ui/"
	pathSignIn   = "/ui/signin"
	pathSignOut  = "/ui/signout"
	pathSessions = "/ui/sessions"
	pathLive     = "/ui/sessions/live"
	pathStatic   = "/ui/static/"
	pathImport   = "/ui/tokens/import"
)

// routes registers every page and action. The access each needs is in
// its wrapper: c.public (anyone), c.read (signed in), c.poll (signed in,
// not activity), c.post (signed in, CSRF token) and c.change (an account
// that may change things, CSRF token).
func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /ui/signin", c.public(c.signInPage))
	m.Handle("POST /ui/signin", c.public(c.signIn))
	m.Handle("GET /ui/signout", c.read(c.signOutPage))
	m.Handle("POST /ui/signout", c.post(c.signOut))

	m.Handle("GET /ui/{$}", c.read(c.sessionsPage))
	m.Handle("GET /ui/sessions", c.read(c.sessionsPage))
	m.Handle("GET /ui/sessions/live", c.poll(c.sessionsLive))
	m.Handle("GET /ui/sessions/disconnect", c.read(c.disconnectPage))
	m.Handle("POST /ui/sessions/disconnect", c.change(c.disconnect))

	m.Handle("GET /ui/logs", c.read(c.logsPage))

	m.Handle("GET /ui/users", c.read(c.usersPage))
	m.Handle("POST /ui/users", c.change(c.createUser))
	m.Handle("GET /ui/users/{name}", c.read(c.userPage))
	m.Handle("POST /ui/users/{name}/disable", c.change(c.setDisabled(true)))
	m.Handle("POST /ui/users/{name}/enable", c.change(c.setDisabled(false)))
	m.Handle("POST /ui/users/{name}/vpn", c.change(c.setVPN))
	m.Handle("POST /ui/users/{name}/password", c.change(c.setPassword))
	m.Handle("POST /ui/users/{name}/unlock", c.change(c.unlock))
	m.Handle("POST /ui/users/{name}/groups/add", c.change(c.userGroup(true)))
	m.Handle("POST /ui/users/{name}/groups/remove", c.change(c.userGroup(false)))

	m.Handle("GET /ui/groups", c.read(c.groupsPage))
	m.Handle("POST /ui/groups", c.change(c.createGroup))
	m.Handle("POST /ui/groups/{name}/members/add", c.change(c.groupMember(true)))
	m.Handle("POST /ui/groups/{name}/members/remove", c.change(c.groupMember(false)))

	m.Handle("GET /ui/tokens", c.read(c.tokensPage))
	m.Handle("POST /ui/tokens/enroll", c.change(c.enroll))
	m.Handle("POST /ui/tokens/assign", c.change(c.assign))
	m.Handle("POST /ui/tokens/unassign", c.change(c.unassign))
	m.Handle("POST /ui/tokens/resync", c.change(c.resync))
	m.Handle("POST /ui/tokens/import", c.change(c.importPSKC))

	m.Handle("GET /ui/policies", c.read(c.policiesPage))
	m.Handle("POST /ui/policies/dryrun", c.change(c.dryRun))

	m.Handle("GET /ui/status", c.read(c.statusPage))

	// Everything else under /ui/ is a 404, but only for those signed in:
	// the signed-out are sent to sign in first, so that the console's
	// paths cannot be probed without an account.
	m.Handle("/ui/", c.anyMethod(c.notFound))
}

// ServeHTTP serves a request for a path under /ui/.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	switch {
	case r.URL.Path == "/ui":
		http.Redirect(w, r, pathRoot, http.StatusMovedPermanently)
		return
	case !strings.HasPrefix(r.URL.Path, pathRoot):
		http.NotFound(w, r)
		return
	case strings.HasPrefix(r.URL.Path, pathStatic):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		c.static.ServeHTTP(w, r)
		return
	}
	limit := int64(MaxBody)
	if r.URL.Path == pathImport {
		limit = MaxUpload + uploadOverhead
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := c.cop.Check(r); err != nil {
		c.log.Warn("console refused a cross-origin request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("origin", r.Header.Get("Origin")),
			slog.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")), slog.String("client", r.RemoteAddr))
		c.fail(w, r, nil, http.StatusForbidden, "Cross-site request refused: changes are accepted only from the console's own pages.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// setSecurityHeaders sets the headers every response carries. Pages are
// never cached; the static assets override Cache-Control.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// contentSecurityPolicy allows the console's own script, style sheet and
// fetches, data: images (the enrollment QR code), and nothing else: no
// inline script or style, no framing, no form posted elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// now is the console's clock.
func (c *Console) now() time.Time { return c.cfg.Now() }
