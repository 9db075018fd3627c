package main

import (
	"fmt"
	"log/slog"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// buildBackends turns the configured back-ends into running ones. This is
// the one place that knows every concrete back-end type.
func buildBackends(cfg *config.Config) (map[string]authpolicy.Backend, func(), error) {
	out := map[string]authpolicy.Backend{}
	for name, b := range cfg.Backends.All() {
		switch b.Type {
		case config.BackendMemory:
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
			out[name] = m
		default:
			return nil, nil, fmt.Errorf("back-end %s: type %s is not available in this build yet; the built-in plugins (local, oath, digipass) and the ldap and radius back-ends come in later releases", name, b.Type)
		}
	}
	return out, func() {}, nil
}

// buildEngine builds the back-ends and the policy engine of cfg.
func buildEngine(cfg *config.Config, log *slog.Logger) (*authpolicy.Engine, func(), error) {
	backends, closeBackends, err := buildBackends(cfg)
	if err != nil {
		return nil, nil, err
	}
	var services []authpolicy.Service
	for name, s := range cfg.Services.All() {
		services = append(services, authpolicy.Service{
			Name: name, Policy: s.Policy,
			LoginTimeout: s.LoginTimeout, BackendTimeout: s.BackendTimeout,
		})
	}
	e, err := authpolicy.NewEngine(backends, services, log)
	if err != nil {
		closeBackends()
		return nil, nil, err
	}
	return e, closeBackends, nil
}
