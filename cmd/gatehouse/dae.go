package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
)

// daeSessions is what the Dynamic Authorization handler needs of the PPTP
// gateway; *gateway.Gateway has it.
type daeSessions interface {
	Sessions() []gateway.SessionInfo
	Kill(id, reason string) error
	Change(id string, ch gateway.Change) error
}

// daeHandler answers RFC 5176 requests for the PPTP front door. A request
// applies to every session that matches all the identification
// attributes it carries, or to none: a Filter-Id this gateway has no
// policy for refuses the whole CoA (407) before any session changes.
type daeHandler struct {
	gw      daeSessions
	current *atomic.Pointer[running]
}

// matches returns the sessions r selects.
func (h daeHandler) matches(r *dae.Request) []gateway.SessionInfo {
	var out []gateway.SessionInfo
	for _, s := range h.gw.Sessions() {
		switch {
		case r.SessionID != "" && s.ID != r.SessionID,
			r.User != "" && s.User != r.User,
			r.FramedIP.IsValid() && s.Address != r.FramedIP,
			r.CallingStation != "" && s.Client.String() != r.CallingStation:
			continue
		}
		out = append(out, s)
	}
	return out
}

// Disconnect implements dae.Handler: every matching session ends as a
// Kill ends one (accounting Stop with Admin-Reset).
func (h daeHandler) Disconnect(_ context.Context, r *dae.Request) error {
	ss := h.matches(r)
	if len(ss) == 0 {
		return &dae.Error{Cause: dae.SessionContextNotFound, Msg: "no running session matches"}
	}
	for _, s := range ss {
		if err := h.gw.Kill(s.ID, "RFC 5176 Disconnect-Request from "+r.Source.Addr().String()); err != nil && !errors.Is(err, gateway.ErrNoSession) {
			return err
		}
	}
	return nil
}

// CoA implements dae.Handler: Filter-Id names a policy of the firewall
// section; Session-Timeout ends the session that long from now;
// Idle-Timeout replaces its idle timeout.
func (h daeHandler) CoA(_ context.Context, r *dae.Request) error {
	ss := h.matches(r)
	if len(ss) == 0 {
		return &dae.Error{Cause: dae.SessionContextNotFound, Msg: "no running session matches"}
	}
	ch := gateway.Change{SessionTimeout: r.SessionTimeout, IdleTimeout: r.IdleTimeout}
	if r.FilterID != "" {
		p := h.current.Load().firewall.Policies[r.FilterID]
		if p == nil {
			return &dae.Error{Cause: dae.InvalidAttributeValue, Msg: fmt.Sprintf("Filter-Id %q names no policy of firewall.policies", r.FilterID)}
		}
		ch.Filter, ch.FilterSource = p, r.FilterID+" (CoA Filter-Id)"
	}
	for _, s := range ss {
		if err := h.gw.Change(s.ID, ch); err != nil && !errors.Is(err, gateway.ErrNoSession) {
			return err
		}
	}
	return nil
}

// startDAE runs radius_dae on its listen address for the PPTP front door.
func startDAE(ctx context.Context, cfg *config.Config, current *atomic.Pointer[running], pptp *pptpFront, m *metrics, log *slog.Logger) (stop func(), err error) {
	dc := cfg.RADIUSDAE
	if pptp == nil {
		return nil, errors.New("radius_dae: it ends and changes PPTP sessions, and pptp is not enabled")
	}
	var clients []dae.Client
	for i, c := range dc.Clients {
		secret, err := readSecretFile(fmt.Sprintf("radius_dae.clients[%d].secret_file", i), c.SecretFile)
		if err != nil {
			return nil, err
		}
		clients = append(clients, dae.Client{Prefix: c.Prefix, Secret: secret})
	}
	dlog := log.With(slog.String("front_door", "radius_dae"))
	var nasAddrs []netip.Addr
	if a := cfg.RADIUSAccounting.NASIPAddress; a.IsValid() {
		nasAddrs = append(nasAddrs, a)
	}
	srv, err := dae.NewServer(dae.Config{
		Clients:                          clients,
		Handler:                          daeHandler{gw: pptp.gw, current: current},
		Logger:                           dlog,
		AllowMissingMessageAuthenticator: !dc.RequireMessageAuthenticator,
		RequireEventTimestamp:            dc.RequireEventTimestamp,
		ReplayWindow:                     dc.ReplayWindow,
		NASIdentifier:                    cfg.RADIUSAccounting.NASIdentifier,
		NASAddresses:                     nasAddrs,
	})
	if err != nil {
		return nil, fmt.Errorf("radius_dae: %w", err)
	}
	if m != nil {
		m.dae.Store(srv)
	}
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, "udp", dc.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("radius_dae.listen: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(sctx, conn); err != nil {
			log.Error("RADIUS dynamic authorization failed", slog.Any("err", err))
		}
	}()
	log.Info("RADIUS dynamic authorization started", slog.String("addr", conn.LocalAddr().String()), slog.Int("clients", len(clients)))
	return func() {
		cancel()
		conn.Close()
		<-done
	}, nil
}

var _ dae.Handler = daeHandler{}
