package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/config"
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

This release builds the policy engine, the admin listener and the RADIUS
front door (radius_server); the PPTP front door comes in a later release, so
pptp.enabled must be false for now.`,
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

// gateway is what one loaded configuration runs.
type gateway struct {
	cfg      *config.Config
	policies map[string]*authpolicy.Policy
	engine   *authpolicy.Engine
	backends *backends
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
	var unbuilt []string
	if cfg.PPTP.Enabled {
		unbuilt = append(unbuilt, "pptp.enabled: the PPTP front door is not built in this release; set it to false")
	}
	if len(unbuilt) > 0 {
		return nil, nil, fmt.Errorf("%s: %s", path, joinLines(unbuilt))
	}
	return cfg, policies, nil
}

// start prepares the state directory and starts the back-ends and the
// engine of a checked configuration.
func start(ctx context.Context, cfg *config.Config, policies map[string]*authpolicy.Policy, log *slog.Logger) (*gateway, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	engine, bs, err := buildEngine(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &gateway{cfg: cfg, policies: policies, engine: engine, backends: bs}, nil
}

func joinLines(lines []string) string {
	if len(lines) == 1 {
		return lines[0]
	}
	out := ""
	for _, l := range lines {
		out += "\n  " + l
	}
	return out
}

func newLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, func(), error) {
	w, closeFn := stderr, func() {}
	if cfg.Log.File != "" {
		f, err := os.OpenFile(cfg.Log.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), closeFn, nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), closeFn, nil
}

func serve(ctx context.Context, path string, stderr io.Writer) error {
	cfg, policies, err := check(path, slog.New(slog.NewJSONHandler(stderr, nil)))
	if err != nil {
		return err
	}
	log, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	gw, err := start(ctx, cfg, policies, log)
	if err != nil {
		return err
	}
	var current atomic.Pointer[gateway]
	current.Store(gw)
	defer func() { current.Load().backends.close() }()

	var admin *http.Server
	if cfg.Admin.Listen.IsValid() {
		ln, err := net.Listen("tcp", cfg.Admin.Listen.String())
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		admin = &http.Server{Handler: adminHandler(&current), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("admin listener failed", slog.Any("err", err))
			}
		}()
		log.Info("admin listener started", slog.String("addr", ln.Addr().String()))
	}
	if cfg.RADIUSServer.Enabled {
		stopRADIUS, err := startRADIUSServer(ctx, cfg, func() *authpolicy.Engine { return current.Load().engine }, log)
		if err != nil {
			return err
		}
		defer stopRADIUS()
	}
	log.Info("gateway started",
		slog.String("config", path), slog.String("state_dir", cfg.StateDir),
		slog.Any("services", cfg.Services.Keys()), slog.String("version", Version))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			if admin != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = admin.Shutdown(sctx)
				cancel()
			}
			log.Info("gateway stopped", slog.String("cause", "signal"))
			return nil
		case <-hup:
			next, err := reload(ctx, path, log)
			if err != nil {
				log.Error("reload refused; the running configuration stays", slog.String("config", path), slog.String("err", err.Error()))
				continue
			}
			old := current.Swap(next)
			old.backends.close()
			log.Info("configuration reloaded", slog.String("config", path), slog.Any("services", next.cfg.Services.Keys()))
		}
	}
}

func reload(ctx context.Context, path string, log *slog.Logger) (*gateway, error) {
	cfg, policies, err := check(path, log)
	if err != nil {
		return nil, err
	}
	return start(ctx, cfg, policies, log)
}

// adminHandler serves the local admin API: health and the loaded services.
func adminHandler(current *atomic.Pointer[gateway]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
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
}
