package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/access"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/firewall"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
	"github.com/gatehouse-vpn/gatehouse/server/logfile"
)

func newServeCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Long: `Serve loads and checks the configuration (refusing to start on any error),
creates the state directory, builds the back-ends and the policy engine, and
runs the front doors and the admin listener until SIGINT or SIGTERM.
SIGHUP reloads the configuration: the new one replaces the running one only
if it checks without errors.

Logs are JSON lines (log/slog) on standard error unless log.file is set.

With pptp.enabled (the default) it runs the PPTP front door: TCP 1723, GRE,
a TUN device (pptp.interface) with the pool routed to it, and IP forwarding
on. That needs root, or CAP_NET_ADMIN and CAP_NET_RAW. A reload applies new
policies, back-ends, VPN access and firewall rules to the next login; other
pptp settings (listen, pool, MPPE, ...) need a restart.

With radius_server.enabled it runs the RADIUS front door (UDP, default
port 1812) for the service radius_server.service; a reload applies new
policies and back-ends to it, other radius_server settings need a restart.

The admin listener (admin.listen) serves /healthz, /v1/services,
/v1/plugins, /v1/sessions, /v1/pptp (counters and the pool) and
/metrics (Prometheus's text format); every request but /healthz (and
/metrics, with admin.metrics_public) must carry the token in
admin.token_file
("Authorization: Bearer TOKEN"), which serve creates on its first start.
admin.socket serves the same on a Unix socket, without a token.

With admin.console the TCP listener also serves the web console at /ui/,
where operators sign in with the accounts of "gatehouse admin add"; with
admin.tls_cert_file and admin.tls_key_file it serves HTTPS.`,
		Example: `  gatehouse serve --config /etc/gatehouse/gatehouse.yaml
  make run   # serve on examples/quickstart/gatehouse.yaml, state in ./var`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, path, c.ErrOrStderr())
		},
	}
	c.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	return c
}

// running is what one loaded configuration runs: the engine and its
// back-ends, and the settings front doors read at every login.
type running struct {
	cfg      *config.Config
	policies map[string]*authpolicy.Policy
	engine   *authpolicy.Engine
	backends *backends
	access   *access.Settings
	firewall *firewall.Settings
}

// check loads path and checks it, policies included; warnings are logged,
// errors refuse the configuration.
func check(path string, log *slog.Logger) (*config.Config, map[string]*authpolicy.Policy, error) {
	cfg, policies, ps, err := loadChecked(path)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range ps.Warnings() {
		log.Warn("configuration warning", slog.String("problem", p.String()))
	}
	if errs := ps.Errors(); len(errs) > 0 {
		return nil, nil, fmt.Errorf("configuration has %s:\n%w", count(len(errs), "error"), errs)
	}
	return cfg, policies, nil
}

// start prepares the state directory and starts the back-ends and the
// engine of a checked configuration.
func start(ctx context.Context, cfg *config.Config, policies map[string]*authpolicy.Policy, log *slog.Logger) (*running, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	engine, bs, err := buildEngine(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &running{
		cfg: cfg, policies: policies, engine: engine, backends: bs,
		access: accessSettings(cfg.PPTP.Access), firewall: firewallSettings(cfg.Firewall),
	}, nil
}

// logOutput is where the log goes: standard error or log.file (rotated
// by size, or reopened on SIGUSR1 for logrotate), and the local syslog
// with log.syslog.
type logOutput struct {
	file   *logfile.File   // nil: standard error
	syslog *logfile.Syslog // nil: off
}

// reopen is SIGUSR1's: a file logrotate moved away is reopened.
func (o *logOutput) reopen() error {
	if o.file == nil {
		return nil
	}
	return o.file.Reopen()
}

func (o *logOutput) close() {
	if o.syslog != nil {
		o.syslog.Close()
	}
	if o.file != nil {
		o.file.Close()
	}
}

func newLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, *logOutput, error) {
	out := &logOutput{}
	var w io.Writer = stderr
	if cfg.Log.File != "" {
		// The state directory, the default home of the file, is made
		// here, before anything can be logged.
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("state directory: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Log.File), 0o750); err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		f, err := logfile.Open(cfg.Log.File, logfile.Options{MaxSize: int64(cfg.Log.MaxSize), MaxFiles: cfg.Log.MaxFiles, Errors: stderr})
		if err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		out.file, w = f, f
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	format := logfile.JSON
	if cfg.Log.Format == "text" {
		h, format = slog.NewTextHandler(w, opts), logfile.Text
	}
	if cfg.Log.Syslog {
		sl, err := logfile.DialSyslog(logfile.SyslogOptions{Tag: cfg.Log.SyslogTag, Errors: stderr})
		if err != nil {
			out.close()
			return nil, nil, fmt.Errorf("log.syslog: %w", err)
		}
		out.syslog = sl
		h = slog.NewMultiHandler(h, sl.Handler(format, opts))
	}
	return slog.New(h), out, nil
}

func serve(ctx context.Context, path string, stderr io.Writer) error {
	cfg, policies, err := check(path, slog.New(slog.NewJSONHandler(stderr, nil)))
	if err != nil {
		return err
	}
	log, logOut, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	defer logOut.close()
	index := openEventIndex(ctx, cfg, log)
	defer index.Close() // after the front doors (deferred later, run earlier) recorded their last events
	ev := newEventLog(index, log)
	gw, err := start(ctx, cfg, policies, log)
	if err != nil {
		return err
	}
	var current atomic.Pointer[running]
	current.Store(gw)
	defer func() { current.Load().backends.close() }()
	m := newMetrics(&current)
	m.observe(gw)

	// The store keeps the lockouts, and its revisions tell the running
	// sessions about changes the CLI makes.
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	bg, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer func() { stopBackground(); background.Wait() }()
	lo := lockout.New(lockoutSettings(cfg.Lockout), st, log)
	if st.Driver() == store.Postgres {
		// Gateways sharing the database count failures together: a name
		// is locked when all of them together saw enough.
		lo.Share(st, func(l store.Lockout) {
			s := lo.Settings()
			e := events.Event{Kind: events.KindLockout, User: l.Name,
				Reason:  fmt.Sprintf("%d failed logins within %s, counted by every gateway sharing the store", s.Threshold, s.Window),
				Message: "refused until " + l.LockedUntil.UTC().Format(time.RFC3339) + " (gatehouse user unlock " + l.Name + ")"}
			if ev != nil {
				ev.recordAndLog(e)
			} else {
				e.Log(ctx, log)
			}
		})
	}
	if err := lo.Load(ctx); err != nil {
		return fmt.Errorf("lockouts: %w", err)
	}
	background.Add(1)
	go func() { defer background.Done(); lo.Run(bg, time.Minute) }()
	g := &gate{current: &current, metrics: m, lockout: lo, events: ev, log: log}
	ev.plugins(gw.backends.host)
	m.lockout = lo
	m.store = st

	var pptp *pptpFront
	var rc *rechecker
	if cfg.PPTP.Enabled {
		pctx, stopPPTP := context.WithCancel(ctx)
		defer stopPPTP()
		if pptp, err = startPPTP(pctx, g, log); err != nil {
			return err
		}
		rc = newRechecker(&current, pptp, log)
		m.rechecker = rc
		background.Add(1)
		go func() { defer background.Done(); rc.run(bg) }()
		m.pptp.Store(pptp)
		defer func() {
			stopPPTP()
			if err := pptp.wait(30 * time.Second); err != nil {
				log.Error("pptp front door", slog.String("err", err.Error()))
			}
		}()
	}

	var admins []*http.Server
	if cfg.Admin.Listen.IsValid() || cfg.Admin.Socket != "" {
		handler := adminHandler(&current, pptp, m, index)
		serveAdmin := func(ln net.Listener, h http.Handler) {
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: httpErrorLog(log)}
			admins = append(admins, srv)
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("admin listener failed", slog.Any("err", err))
				}
			}()
		}
		if cfg.Admin.Listen.IsValid() {
			token, err := loadOrCreateToken(cfg.Admin.TokenFile)
			if err != nil {
				return err
			}
			// The web console, when on, is served here only: /ui/ signs
			// operators in with their own accounts, not the token.
			var ui http.Handler
			if cfg.Admin.Console {
				if ui, err = newConsole(newConsoleBackend(consoleBackend{
					current: &current, started: cfg, store: st, index: index, events: ev, pptp: pptp,
					recheck: rc, lockout: lo, metrics: m, log: log, since: time.Now(),
				}), log); err != nil {
					return err
				}
			}
			ln, err := net.Listen("tcp", cfg.Admin.Listen.String())
			if err != nil {
				return fmt.Errorf("admin listener: %w", err)
			}
			if cfg.Admin.TLS() {
				tc, err := adminTLS(cfg.Admin, log)
				if err != nil {
					ln.Close()
					return err
				}
				ln = tls.NewListener(ln, tc)
			}
			public := isPublic
			if cfg.Admin.MetricsPublic {
				public = func(r *http.Request) bool { return isPublic(r) || r.URL.Path == "/metrics" }
			}
			serveAdmin(ln, withConsole(ui, requireToken(token, public, handler, log)))
			log.Info("admin listener started", slog.String("addr", ln.Addr().String()), slog.String("token_file", cfg.Admin.TokenFile),
				slog.Bool("tls", cfg.Admin.TLS()), slog.Bool("console", ui != nil))
		}
		if cfg.Admin.Socket != "" {
			ln, err := listenUnix(cfg.Admin.Socket, os.FileMode(cfg.Admin.SocketMode))
			if err != nil {
				return fmt.Errorf("admin socket: %w", err)
			}
			serveAdmin(ln, handler)
			log.Info("admin socket started", slog.String("path", cfg.Admin.Socket), slog.String("mode", cfg.Admin.SocketMode.String()))
		}
	}
	if cfg.RADIUSDAE.Enabled {
		stopDAE, err := startDAE(ctx, cfg, &current, pptp, m, log)
		if err != nil {
			return err
		}
		defer stopDAE()
	}
	if cfg.RADIUSServer.Enabled {
		stopRADIUS, err := startRADIUSServer(ctx, cfg, g, log)
		if err != nil {
			return err
		}
		defer stopRADIUS()
	}
	background.Add(1)
	go func() { defer background.Done(); watchStore(bg, st, rc, lo, ev, log) }()
	ev.record(events.Event{Kind: events.KindGatewayStart, Message: "version " + Version + ", config " + path})
	defer ev.record(events.Event{Kind: events.KindGatewayStop})
	nofile := openFilesLimit()
	log.Info("gateway started",
		slog.String("config", path), slog.String("state_dir", cfg.StateDir),
		slog.Any("services", cfg.Services.Keys()), slog.String("version", Version),
		slog.Uint64("open_files_limit", nofile))
	if need := filesNeeded(cfg); nofile < need {
		log.Warn("the open files limit is below what pptp.max_connections needs: each PPTP call holds a TCP connection; raise LimitNOFILE (systemd) or ulimit -n",
			slog.Uint64("open_files_limit", nofile), slog.Uint64("needed", need), slog.Int("max_connections", cfg.PPTP.MaxConnections))
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	var pptpDone <-chan error
	if pptp != nil {
		pptpDone = pptp.done
	}
	for {
		select {
		case err := <-pptpDone:
			// Run returns before ctx ends only when it could not serve.
			pptp.done <- err
			return err
		case <-ctx.Done():
			for _, admin := range admins {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = admin.Shutdown(sctx)
				cancel()
			}
			log.Info("gateway stopped", slog.String("cause", "signal"))
			return nil
		case <-usr1:
			if err := logOut.reopen(); err != nil {
				log.Warn("log file not reopened (SIGUSR1); writing on to the old one", slog.Any("err", err))
			}
		case <-hup:
			next, err := reload(ctx, path, log)
			if err != nil {
				log.Error("reload refused; the running configuration stays", slog.String("config", path), slog.String("err", err.Error()))
				ev.record(events.Event{Kind: events.KindConfigError, Reason: err.Error(), Message: path})
				continue
			}
			ev.plugins(next.backends.host)
			m.observe(next)
			old := current.Swap(next)
			old.backends.close()
			lo.SetSettings(lockoutSettings(next.cfg.Lockout))
			rc.request("reload")
			if pptp != nil && pptpChanged(pptp.cfg, next.cfg.PPTP) {
				log.Warn("pptp settings changed: restart gatehouse to apply them; the running front door keeps the ones it started with (service, access and firewall changes apply now)")
			}
			log.Info("configuration reloaded", slog.String("config", path), slog.Any("services", next.cfg.Services.Keys()))
			ev.record(events.Event{Kind: events.KindReload, Message: path})
		}
	}
}

func reload(ctx context.Context, path string, log *slog.Logger) (*running, error) {
	cfg, policies, err := check(path, log)
	if err != nil {
		return nil, err
	}
	return start(ctx, cfg, policies, log)
}

// isPublic says which admin requests need no token: the health check.
func isPublic(r *http.Request) bool { return r.URL.Path == "/healthz" }

// listenUnix listens on a Unix socket at path with mode, replacing a stale
// socket a previous run left.
func listenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// adminHandler serves the local admin API: health and the loaded services.
func adminHandler(current *atomic.Pointer[running], pptp *pptpFront, m *metrics, index *events.Index) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/events", eventsHandler(index))
	if m != nil {
		mux.Handle("GET /metrics", m.handler())
	}
	if pptp != nil {
		service := func() string { return current.Load().cfg.PPTP.Service }
		mux.HandleFunc("GET /v1/sessions", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			out := []sessionJSON{}
			for _, s := range sessionsJSON(pptp.gw.Sessions(), service()) {
				if f := q.Get("user"); f != "" && s.User != f {
					continue
				}
				if f := q.Get("client"); f != "" && s.Client != f {
					continue
				}
				if f := q.Get("service"); f != "" && s.Service != f {
					continue
				}
				out = append(out, s)
			}
			slices.SortFunc(out, func(a, b sessionJSON) int { return a.Started.Compare(b.Started) })
			writeJSON(w, out)
		})
		mux.HandleFunc("GET /v1/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
			s, ok := pptp.gw.Session(r.PathValue("id"))
			if !ok {
				writeError(w, http.StatusNotFound, "no session %q (gatehouse sessions list shows the running ones)", r.PathValue("id"))
				return
			}
			writeJSON(w, sessionsJSON([]gateway.SessionInfo{s}, service())[0])
		})
		mux.HandleFunc("DELETE /v1/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if err := pptp.gw.Kill(id, r.URL.Query().Get("reason")); err != nil {
				if errors.Is(err, gateway.ErrNoSession) {
					writeError(w, http.StatusNotFound, "no session %q (gatehouse sessions list shows the running ones)", id)
					return
				}
				writeError(w, http.StatusInternalServerError, "%v", err)
				return
			}
			writeJSON(w, struct {
				ID     string `json:"id"`
				Killed bool   `json:"killed"`
			}{id, true})
		})
		mux.HandleFunc("GET /v1/pptp", func(w http.ResponseWriter, _ *http.Request) {
			st := pptp.gw.Stats()
			writeJSON(w, pptpStatus{
				Counters: newPPTPCounters(st), Stats: st, PoolInUse: pptp.pool.InUse(), PoolFree: pptp.pool.Free(),
				Sessions: len(pptp.gw.Sessions()),
			})
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	started, build := time.Now(), buildInfo()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, struct {
			Build         BuildInfo `json:"build"`
			Started       time.Time `json:"started"`
			UptimeSeconds int64     `json:"uptime_seconds"`
		}{build, started, int64(time.Since(started).Seconds())})
	})
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, _ *http.Request) {
		gw := current.Load()
		type service struct {
			Name     string   `json:"name"`
			Policy   string   `json:"policy"`
			Branches []string `json:"branches"`
		}
		var out []service
		for _, name := range gw.cfg.Services.Keys() {
			p := gw.policies[name]
			s := service{Name: name, Policy: authpolicy.Print(p.Expr)}
			for _, b := range p.Branches {
				s.Branches = append(s.Branches, b.String())
			}
			out = append(out, s)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /v1/plugins", func(w http.ResponseWriter, _ *http.Request) {
		gw := current.Load()
		out := []pluginStatus{}
		if gw.backends.host != nil {
			for _, s := range gw.backends.host.Status() {
				out = append(out, pluginStatus{
					Name: s.Name, Version: s.Version, Capabilities: s.Capabilities.String(), PID: s.PID,
					State: s.State.String(), Restarts: s.Restarts, LastError: s.LastError, Since: s.Since,
					Protocol: s.Protocol, CallsWaited: s.CallsWaited, CallsRefused: s.CallsRefused,
				})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}

// pluginStatus is one plugin in the admin API and "gatehouse plugin list".
type pluginStatus struct {
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	Capabilities string    `json:"capabilities"`
	PID          int       `json:"pid"`
	State        string    `json:"state"`
	Restarts     int       `json:"restarts"`
	LastError    string    `json:"last_error,omitempty"`
	Since        time.Time `json:"since"`
	// Protocol is the plugin protocol version the process speaks (2: the
	// channel; 1: gRPC, a plugin built before version 2); 0 when none runs.
	Protocol int `json:"protocol"`
	// CallsWaited and CallsRefused count calls that found every call
	// slot (plugins.max_concurrent_calls) busy, and those of them whose
	// deadline passed waiting (they failed closed).
	CallsWaited  uint64 `json:"calls_waited"`
	CallsRefused uint64 `json:"calls_refused"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// pptpStatus is /v1/pptp: the gateway's counters and the pool.
//
// Every name in the admin API's JSON is snake_case. Stats is the same
// counters under their Go names (GREReceived, ...), as /v1/pptp gave them
// before; it is deprecated and goes in the next release: read counters.
type pptpStatus struct {
	Counters  pptpCounters  `json:"counters"`
	PoolInUse int           `json:"pool_in_use"`
	PoolFree  int           `json:"pool_free"`
	Sessions  int           `json:"sessions"`
	Stats     gateway.Stats `json:"stats"`
}

// pptpCounters are the gateway's counters since start, named as the
// gatehouse_pptp_dropped_packets_total reasons of /metrics.
type pptpCounters struct {
	GREReceived      uint64 `json:"gre_received"`
	GREReceivedBytes uint64 `json:"gre_received_bytes"`
	GREMalformed     uint64 `json:"gre_malformed"`
	GREUnknownCall   uint64 `json:"gre_unknown_call"`
	GREWrongSource   uint64 `json:"gre_wrong_source"`
	GREOld           uint64 `json:"gre_old"`
	GRESendErrors    uint64 `json:"gre_send_errors"`
	GREBlocked       uint64 `json:"gre_blocked"`
	TUNReceived      uint64 `json:"tun_received"`
	TUNReceivedBytes uint64 `json:"tun_received_bytes"`
	TUNMalformed     uint64 `json:"tun_malformed"`
	TUNNotIPv4       uint64 `json:"tun_not_ipv4"`
	TUNNoSession     uint64 `json:"tun_no_session"`
	SpoofedSource    uint64 `json:"spoofed_source"`
	FirewallDenied   uint64 `json:"firewall_denied"`
	RateLimited      uint64 `json:"rate_limited"`
}

func newPPTPCounters(st gateway.Stats) pptpCounters {
	return pptpCounters{
		GREReceived: st.GREReceived, GREReceivedBytes: st.GREReceivedBytes, GREMalformed: st.GREMalformed,
		GREUnknownCall: st.GREUnknownCall, GREWrongSource: st.GREWrongSource, GREOld: st.GREOld,
		GRESendErrors: st.GRESendErrors, GREBlocked: st.GREBlocked,
		TUNReceived: st.TUNReceived, TUNReceivedBytes: st.TUNReceivedBytes, TUNMalformed: st.TUNMalformed,
		TUNNotIPv4: st.TUNNotIPv4, TUNNoSession: st.TUNNoSession,
		SpoofedSource: st.SpoofedSource, FirewallDenied: st.FirewallDenied, RateLimited: st.RateLimited,
	}
}

// sessionJSON is one PPTP session in /v1/sessions.
type sessionJSON struct {
	// ID is the session's Acct-Session-Id, also in every log line of it.
	ID          string    `json:"id"`
	Service     string    `json:"service"`
	User        string    `json:"user"`
	Client      string    `json:"client"`
	Address     string    `json:"address,omitempty"`
	CallID      uint16    `json:"call_id"`
	PeerCallID  uint16    `json:"peer_call_id"`
	Started     time.Time `json:"started"`
	Established bool      `json:"established"`
	Branch      string    `json:"branch,omitempty"`
	MPPEBits    int       `json:"mppe_bits,omitempty"`
	MPPEMode    string    `json:"mppe_mode,omitempty"`
	BytesIn     uint64    `json:"bytes_in"`
	BytesOut    uint64    `json:"bytes_out"`
	PacketsIn   uint64    `json:"packets_in"`
	PacketsOut  uint64    `json:"packets_out"`
}

func sessionsJSON(ss []gateway.SessionInfo, service string) []sessionJSON {
	out := make([]sessionJSON, 0, len(ss))
	for _, s := range ss {
		j := sessionJSON{
			ID: s.ID, Service: service, User: s.User, Client: s.Client.String(), CallID: s.CallID, PeerCallID: s.PeerCallID,
			Started: s.Started, Established: s.Established, Branch: s.Branch, MPPEBits: s.MPPEBits, MPPEMode: s.MPPEMode(),
			BytesIn: s.BytesIn, BytesOut: s.BytesOut, PacketsIn: s.PacketsIn, PacketsOut: s.PacketsOut,
		}
		if s.Address.IsValid() {
			j.Address = s.Address.String()
		}
		out = append(out, j)
	}
	return out
}

// openFilesLimit is the process's soft RLIMIT_NOFILE. The Go runtime
// raises the soft limit to the hard one when the program starts (Go 1.19
// and later), so this is what systemd's LimitNOFILE or ulimit -Hn
// allowed; the gateway logs it at start.
func openFilesLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

// filesNeeded is what the gateway needs open at most: one TCP connection
// per PPTP call, and a margin for the listeners, the GRE socket and the
// TUN device, the plugin processes' pipes, the store's connections, the
// admin clients.
func filesNeeded(cfg *config.Config) uint64 {
	const margin = 512
	if !cfg.PPTP.Enabled {
		return margin
	}
	return uint64(cfg.PPTP.MaxConnections) + margin
}
