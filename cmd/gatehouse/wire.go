package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// selfPath is the gatehouse binary that built-in plugins re-execute; tests
// point it at a copy every user can run.
var selfPath = func() (string, error) { return os.Executable() }

// backends is what buildBackends started.
type backends struct {
	byName map[string]authpolicy.Backend
	host   *host.Host // nil when no plugin runs
}

func (b *backends) close() {
	if b.host != nil {
		_ = b.host.Close()
	}
}

// buildBackends turns the configured back-ends into running ones: memory
// back-ends in-process, every other type as a plugin process under the host.
// This is the one place that knows every concrete back-end type.
func buildBackends(ctx context.Context, cfg *config.Config, log *slog.Logger) (*backends, error) {
	out := &backends{byName: map[string]authpolicy.Backend{}}
	var specs []host.Spec
	needStore := false
	var storeOpts map[string]string // read once: the DSN file is read for the first built-in back-end
	for name, b := range cfg.Backends.All() {
		spec := host.Spec{
			Name: name, User: cfg.Plugins.User,
			CallTimeout: b.Timeout, MaxConcurrent: cfg.Plugins.MaxConcurrentCalls,
			Procs: cfg.Plugins.Procs,
		}
		if spec.Procs == 0 {
			spec.Procs = -1 // plugins.procs 0: every core
		}
		switch b.Type {
		case config.BackendMemory:
			out.byName[name] = newMemory(b)
			continue
		case config.BackendLocal, config.BackendOATH, config.BackendDigipass:
			self, err := selfPath()
			if err != nil {
				return nil, fmt.Errorf("back-end %s: find the gatehouse binary: %w", name, err)
			}
			spec.Path, spec.Args = self, []string{"plugin", "run", string(b.Type)}
			if storeOpts == nil {
				if storeOpts, err = storeOptions(cfg); err != nil {
					return nil, fmt.Errorf("back-end %s: %w", name, err)
				}
			}
			spec.Config = maps.Clone(storeOpts)
			switch b.Type {
			case config.BackendOATH:
				spec.Config["digits"] = strconv.Itoa(b.OATH.Digits)
				spec.Config["skew"] = strconv.Itoa(b.OATH.Skew)
				spec.Config["look_ahead"] = strconv.Itoa(b.OATH.LookAhead)
			case config.BackendDigipass:
				var ds []string
				for _, d := range b.Digipass.Digits {
					ds = append(ds, strconv.Itoa(d))
				}
				spec.Config["digits"] = strings.Join(ds, ",")
				spec.Config["look_ahead"] = strconv.Itoa(b.Digipass.LookAhead)
			}
			needStore = true
		case config.BackendLDAP:
			self, err := selfPath()
			if err != nil {
				return nil, fmt.Errorf("back-end %s: find the gatehouse binary: %w", name, err)
			}
			spec.Path, spec.Args = self, []string{"plugin", "run", string(b.Type)}
			if spec.Config, err = ldapConfig(b.LDAP.Options, cfg.Dir); err != nil {
				return nil, fmt.Errorf("back-end %s: %w", name, err)
			}
			if strings.EqualFold(b.LDAP.Options["mschapv2"], ldap.MSCHAPv2Winbind) {
				// ntlm_auth reaches winbindd's privileged pipe through
				// its group.
				spec.Groups = []string{cmp.Or(b.LDAP.Options["winbind_group"], ldap.DefaultWinbindGroup)}
			}
		case config.BackendRADIUS:
			self, err := selfPath()
			if err != nil {
				return nil, fmt.Errorf("back-end %s: find the gatehouse binary: %w", name, err)
			}
			spec.Path, spec.Args = self, []string{"plugin", "run", "radius"}
			if spec.Config, err = radiusOptions(cfg, b.RADIUS.Options); err != nil {
				return nil, fmt.Errorf("back-end %s: %w", name, err)
			}
		case config.BackendPlugin:
			ext := cfg.Plugins.External[b.Plugin.Plugin]
			spec.Path, spec.SHA256, spec.Config = ext.Binary, ext.SHA256, b.Plugin.Options
		default:
			return nil, fmt.Errorf("back-end %s: type %s is not available in this release yet", name, b.Type)
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return out, nil
	}
	if needStore {
		// Create the store (and hand it to plugins.user when root) before
		// the plugins open it.
		st, err := openStore(ctx, cfg)
		if err != nil {
			return nil, err
		}
		st.Close()
	}
	out.host = host.New(log)
	if err := out.host.Start(ctx, specs...); err != nil {
		out.close()
		return nil, err
	}
	var errs []error
	for _, s := range specs {
		b, _ := out.host.Backend(s.Name)
		out.byName[s.Name] = b
		cb, _ := cfg.Backends.Get(s.Name)
		if want, got := cb.Info().Capabilities, b.Info().Capabilities; !got.Has(want) {
			errs = append(errs, fmt.Errorf("back-end %s: the configuration declares %s, but the plugin offers %s", s.Name, want, got))
		}
	}
	if err := errors.Join(errs...); err != nil {
		out.close()
		return nil, err
	}
	return out, nil
}

// radiusOptions are the RADIUS plugin's options: the gateway reads
// secret_file (relative to the config file) and hands the secret itself to
// the plugin, which runs as plugins.user and need not read a root-only file.
func radiusOptions(cfg *config.Config, o map[string]string) (map[string]string, error) {
	out := maps.Clone(o)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out["secret"]; ok {
		return nil, errors.New("options.secret: do not write the shared secret in the configuration; put it in a file and name it with secret_file")
	}
	if f := out["secret_file"]; f != "" {
		if !filepath.IsAbs(f) {
			f = filepath.Join(cfg.Dir, f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("options.secret_file: %w", err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return nil, fmt.Errorf("options.secret_file: %s is empty", f)
		}
		delete(out, "secret_file")
		out["secret"] = s
	}
	return out, nil
}

func newMemory(b *config.Backend) *memory.Backend {
	m := memory.New(memory.Options{
		Capabilities: b.Info().Capabilities,
		Lengths:      b.Memory.Lengths,
		OneTime:      b.Memory.OneTime,
	})
	for user, secrets := range b.Memory.Users {
		u := memory.User{}
		for _, s := range secrets {
			u.Secrets = append(u.Secrets, s.Reveal())
		}
		m.SetUser(user, u)
	}
	return m
}

// buildEngine starts the back-ends and builds the policy engine of cfg.
func buildEngine(ctx context.Context, cfg *config.Config, log *slog.Logger) (*authpolicy.Engine, *backends, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bs, err := buildBackends(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	var services []authpolicy.Service
	for name, s := range cfg.Services.All() {
		services = append(services, authpolicy.Service{
			Name: name, Policy: s.Policy,
			LoginTimeout: s.LoginTimeout, BackendTimeout: s.BackendTimeout, StripDomain: s.StripDomain,
		})
	}
	e, err := authpolicy.NewEngine(bs.byName, services, log)
	if err != nil {
		bs.close()
		return nil, nil, err
	}
	return e, bs, nil
}

// ldapConfig turns the options of a back-end of type ldap into the
// plugin's configuration. The gateway reads the secret and CA files
// itself (as root, before plugins drop to plugins.user) and passes their
// contents as bind_password and ca_pem, so those files may stay readable
// by root alone. Relative file names are relative to dir, the
// configuration file's directory.
func ldapConfig(opts map[string]string, dir string) (map[string]string, error) {
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		out[k] = v
	}
	for _, k := range []string{"bind_password_file", "ca_file"} {
		if f := out[k]; f != "" && !filepath.IsAbs(f) && dir != "" {
			out[k] = filepath.Join(dir, f)
		}
	}
	if f := out["bind_password_file"]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("bind_password_file: %w", err)
		}
		delete(out, "bind_password_file")
		out["bind_password"] = ldap.FirstLine(b)
	}
	if f := out["ca_file"]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		delete(out, "ca_file")
		out["ca_pem"] = string(b)
	}
	return out, nil
}

// storeOptions are the built-in back-ends' options naming the store. On
// PostgreSQL the connection string is read here and handed over in
// memory: the plugin processes run as plugins.user, which cannot read
// the 0600 dsn_file, and nothing logs a plugin's options.
func storeOptions(cfg *config.Config) (map[string]string, error) {
	opts := map[string]string{"store_driver": string(cfg.Store.Driver), "key_file": cfg.Store.KeyFile}
	if cfg.Store.Driver != config.StorePostgres {
		opts["store_path"] = cfg.Store.Path
		return opts, nil
	}
	dsn, err := readDSN(cfg.Store.DSNFile)
	if err != nil {
		return nil, err
	}
	opts["store_dsn"] = dsn
	opts["store_max_conns"] = strconv.Itoa(cfg.Store.MaxConns)
	return opts, nil
}
