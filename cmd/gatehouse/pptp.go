package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/access"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/firewall"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/ippool"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/radius/acct"
	"github.com/gatehouse-vpn/gatehouse/server/session"
	"github.com/gatehouse-vpn/gatehouse/server/tun"
)

// pptpFront is the running PPTP front door. What it reads from the
// configuration at login time (the service, VPN access, firewall) comes
// from the current gateway, so SIGHUP changes it for the next login; the
// listener, pool, TUN and PPP settings are fixed at start (a reload that
// changes them is logged as needing a restart).
type pptpFront struct {
	gw   *gateway.Gateway
	pool *ippool.Pool
	cfg  config.PPTP      // as started
	acct *acct.Accountant // nil without radius_accounting
	done chan error       // Run's result
}

// pptpAuth adapts the gate to session.Authenticator, for the service
// pptp.service names now.
type pptpAuth struct{ g *gate }

func (a pptpAuth) Authenticate(ctx context.Context, cred authpolicy.Credential) (*authpolicy.Result, error) {
	return a.g.authenticate(ctx, "pptp", a.g.current.Load().cfg.PPTP.Service, cred)
}

// authorize decides VPN access and the firewall policy of an accepted login
// with the current configuration.
func authorize(current *atomic.Pointer[running]) func(*authpolicy.Result) gateway.Authorization {
	return func(res *authpolicy.Result) gateway.Authorization {
		gw := current.Load()
		id := res.Identity
		stored := access.UseGroup
		if v := id.Attributes["vpn_access"]; len(v) > 0 {
			stored = access.ParseGrant(v[0])
		}
		ok, reason := gw.access.Allowed(res.User, stored, id.Groups)
		if !ok {
			return gateway.Authorization{Reason: reason}
		}
		if v := id.Attributes["Filter-Id"]; len(v) > 0 {
			// A RADIUS server names the user's firewall policy: it wins,
			// and one this gateway does not have refuses the session
			// rather than leave the user unfiltered.
			f := gw.firewall.Policies[v[0]]
			if f == nil {
				return gateway.Authorization{Reason: fmt.Sprintf("Filter-Id %q from the back-end names no firewall policy (firewall.policies)", v[0])}
			}
			return gateway.Authorization{Allowed: true, Reason: reason, Filter: f, FilterSource: v[0] + " (Filter-Id)"}
		}
		f, source := gw.firewall.For(res.User, id.Groups)
		return gateway.Authorization{Allowed: true, Reason: reason, Filter: f, FilterSource: source}
	}
}

// accessSettings is pptp.access as server/access wants it.
func accessSettings(a config.Access) *access.Settings {
	s := &access.Settings{Default: bool(a.Default), Groups: map[string]bool{}, Users: map[string]access.Grant{}}
	for g, on := range a.Groups {
		s.Groups[g] = bool(on)
	}
	for u, ua := range a.Users {
		s.Users[u] = access.ParseGrant(string(ua))
	}
	return s
}

// firewallSettings is the firewall section as server/firewall wants it.
func firewallSettings(f config.Firewall) *firewall.Settings {
	s := &firewall.Settings{
		Policies: map[string]*firewall.Policy{},
		Groups:   f.Groups,
		Users:    map[string]firewall.UserSetting{},
		Default:  f.DefaultPolicy,
	}
	for name, rules := range f.Policies.All() {
		p := &firewall.Policy{Name: name}
		for _, r := range rules {
			fr := firewall.Rule{Action: firewall.Drop, To: r.To}
			if r.Action == config.Allow {
				fr.Action = firewall.Allow
			}
			switch r.Proto {
			case config.ProtoTCP:
				fr.Proto = firewall.ProtoTCP
			case config.ProtoUDP:
				fr.Proto = firewall.ProtoUDP
			case config.ProtoICMP:
				fr.Proto = firewall.ProtoICMP
			}
			for _, pr := range r.Ports {
				fr.Ports = append(fr.Ports, firewall.PortRange{First: pr.First, Last: pr.Last})
			}
			p.Rules = append(p.Rules, fr)
		}
		s.Policies[name] = p
	}
	for u, uf := range f.Users {
		us := firewall.UserSetting{Policy: uf.Policy}
		switch uf.Mode {
		case config.FirewallAddToGroup:
			us.Mode = firewall.AddToGroup
		case config.FirewallOverruleGroup:
			us.Mode = firewall.OverruleGroup
		}
		s.Users[u] = us
	}
	return s
}

// pptpPolicies turns the configuration's PPP settings into the LCP and CCP
// policies. Authentication methods are offered strongest first: MS-CHAPv2,
// then those pptp.auth enables, MS-CHAPv1, CHAP-MD5 and PAP, so a client
// that can do better is never steered down.
func pptpPolicies(p config.PPTP) (lcp.Policy, ccp.Policy) {
	l := lcp.DefaultPolicy()
	for _, m := range []struct {
		on     bool
		method lcp.AuthMethod
	}{{p.Auth.MSCHAPv1, lcp.MSCHAPv1}, {p.Auth.CHAPMD5, lcp.CHAPMD5}, {p.Auth.PAP, lcp.PAP}} {
		if m.on {
			l.Auth = append(l.Auth, m.method)
		}
	}
	c := ccp.Policy{Required: p.MPPE.Required, Allow40: p.MPPE.Bits40, Allow56: p.MPPE.Bits56, Stateless: ccp.StatelessRequired}
	if p.MPPE.Stateful {
		c.Stateless = ccp.StatefulPreferred
	}
	return l, c
}

// startPPTP opens the TUN, routes the pool to it, turns on forwarding and
// runs the PPTP gateway until ctx ends. It needs root (or CAP_NET_ADMIN and
// CAP_NET_RAW).
func startPPTP(ctx context.Context, g *gate, log *slog.Logger) (*pptpFront, error) {
	current := g.current
	cfg := current.Load().cfg.PPTP
	pool, err := ippool.New(cfg.Pool.First, cfg.Pool.Last, cfg.LocalAddress)
	if err != nil {
		return nil, fmt.Errorf("pptp.pool: %w", err)
	}
	routes := ippool.Prefixes(cfg.Pool.First, cfg.Pool.Last)
	dev, err := tun.Open(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("pptp: %w (the PPTP front door needs root, or CAP_NET_ADMIN and CAP_NET_RAW)", err)
	}
	if err := dev.Configure(cfg.LocalAddress, cfg.MTU, routes...); err != nil {
		dev.Close()
		return nil, fmt.Errorf("pptp: %w", err)
	}
	if cfg.ProxyARP {
		ifs, err := tun.EnableProxyARP(cfg.Pool.First, cfg.Pool.Last)
		if err != nil {
			dev.Close()
			return nil, fmt.Errorf("pptp.proxy_arp: %w", err)
		}
		log.Info("proxy ARP for the pool", slog.Any("interfaces", ifs))
	}
	if err := tun.EnableForwarding(); err != nil {
		dev.Close()
		return nil, fmt.Errorf("pptp: %w", err)
	}
	accountant, err := newAccountant(current.Load().cfg, log)
	if err != nil {
		dev.Close()
		return nil, err
	}
	l, c := pptpPolicies(cfg)
	gw, err := gateway.New(gateway.Config{
		Listen:              cfg.Listen,
		LocalAddress:        cfg.LocalAddress,
		Pool:                pool,
		DNS:                 cfg.DNS,
		WINS:                cfg.WINS,
		AcceptClientAddress: cfg.AcceptClientAddress,
		MaxConnections:      cfg.MaxConnections,
		MTU:                 cfg.MTU,
		EchoInterval:        cfg.EchoInterval,
		EchoTimeout:         cfg.EchoTimeout,
		IdleTimeout:         cfg.IdleTimeout,
		LCP:                 l,
		CCP:                 c,
		CallRate:            float64(cfg.CallRate),
		CallBurst:           cfg.CallBurst,
		Auth:                pptpAuth{g},
		Authorize:           authorize(current),
		SessionUp:           g.events.sessions(func() string { return current.Load().cfg.PPTP.Service }, accounting(accountant)),
		TUN:                 dev,
		Log:                 log.With(slog.String("front_door", "pptp")),
	})
	if err != nil {
		dev.Close()
		return nil, err
	}
	f := &pptpFront{gw: gw, pool: pool, cfg: cfg, acct: accountant, done: make(chan error, 1)}
	started := make(chan struct{})
	go func() {
		close(started)
		f.done <- gw.Run(ctx)
	}()
	<-started
	log.Info("pptp front door started", slog.String("listen", cfg.Listen.String()), slog.String("tun", dev.Name()),
		slog.String("pool", fmt.Sprintf("%s-%s", cfg.Pool.First, cfg.Pool.Last)), slog.Any("routes", routes))
	return f, nil
}

// wait returns Run's error once ctx has ended, or an error when Run failed
// on its own (the listener could not open).
func (f *pptpFront) wait(timeout time.Duration) error {
	var err error
	select {
	case err = <-f.done:
	case <-time.After(timeout):
		err = errors.New("pptp: the gateway did not stop in time")
	}
	if f.acct != nil {
		// Every session's Stop has been started; let them go out.
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err = errors.Join(err, f.acct.Close(ctx))
	}
	return err
}

// accounting is the gateway's SessionUp hook for a (a nil a is no hook):
// an Accounting-Request Start when the session reaches the data phase,
// Interim-Updates while it runs, a Stop with the cause when it ends.
func accounting(a *acct.Accountant) func(gateway.SessionInfo, func() session.Info) func(string, session.Info) {
	if a == nil {
		return nil
	}
	counters := func(in session.Info) acct.Counters {
		return acct.Counters{InputOctets: in.BytesIn, OutputOctets: in.BytesOut, InputPackets: in.PacketsIn, OutputPackets: in.PacketsOut}
	}
	return func(s gateway.SessionInfo, live func() session.Info) func(string, session.Info) {
		rec := acct.Record{SessionID: s.ID, User: s.User, FramedIP: s.Address, CallingStation: s.Client.String()}.WithIdentity(s.Attributes)
		as := a.Start(rec, func() acct.Counters { return counters(live()) })
		return func(cause string, _ session.Info) { as.Stop(terminateCause(cause)) }
	}
}

// terminateCause maps a session's close cause (server/session,
// server/control and server/gateway write them) to Acct-Terminate-Cause.
func terminateCause(cause string) acct.Cause {
	c := strings.ToLower(cause)
	switch {
	case strings.HasPrefix(cause, gateway.CauseKilled), strings.HasPrefix(cause, gateway.CauseRevoked):
		return acct.CauseAdminReset
	case strings.Contains(c, "local shutdown"):
		return acct.CauseAdminReboot
	case strings.Contains(c, "session timeout"):
		return acct.CauseSessionTimeout
	case strings.Contains(c, "idle timeout"):
		return acct.CauseIdleTimeout
	case strings.Contains(c, "no answer to echo"), strings.Contains(c, "does not answer lcp echo"),
		strings.Contains(c, "cannot read from"), strings.Contains(c, "cannot send"), strings.Contains(c, "reset by peer"):
		return acct.CauseLostCarrier
	case strings.Contains(c, "the client"), strings.Contains(c, "peer terminated"), strings.Contains(c, "terminate-request"):
		return acct.CauseUserRequest
	case strings.Contains(c, "malformed"), strings.Contains(c, "protocol"):
		return acct.CausePortError
	}
	return acct.CauseNASRequest
}

// pptpChanged names the PPTP settings a reload cannot apply to a running
// gateway; the caller logs them as needing a restart.
func pptpChanged(old, next config.PPTP) bool {
	old.Access, next.Access = config.Access{}, config.Access{}
	old.Service, next.Service = "", ""
	return !reflect.DeepEqual(old, next)
}
