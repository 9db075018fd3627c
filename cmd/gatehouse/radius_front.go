package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"syscall"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/radius/acct"
	"github.com/gatehouse-vpn/gatehouse/server/radius/radiusd"
	"golang.org/x/sys/unix"
)

// startRADIUSServer runs the RADIUS front door of cfg on its UDP listen
// address. engine returns the current policy engine, so that a SIGHUP
// reload takes effect for RADIUS logins at once; radius_server's own
// settings (listen, clients, secrets) are read here, at start, only.
func startRADIUSServer(ctx context.Context, cfg *config.Config, g *gate, log *slog.Logger) (stop func(), err error) {
	rs := cfg.RADIUSServer
	var clients []radiusd.Client
	for i, c := range rs.Clients {
		secret, err := readSecretFile(fmt.Sprintf("radius_server.clients[%d].secret_file", i), c.SecretFile)
		if err != nil {
			return nil, err
		}
		clients = append(clients, radiusd.Client{Prefix: c.Prefix, Secret: secret})
	}
	service := rs.Service
	timeout := authpolicy.DefaultLoginTimeout
	if s, ok := cfg.Services.Get(service); ok && s.LoginTimeout > 0 {
		timeout = s.LoginTimeout
	}
	auth := func(ctx context.Context, cred authpolicy.Credential) (*authpolicy.Result, error) {
		return g.authenticate(ctx, "radius", service, cred)
	}
	srv, err := radiusd.New(radiusd.Config{
		Clients:                     clients,
		RequireMessageAuthenticator: rs.RequireMessageAuthenticator,
		DuplicateWindow:             rs.DuplicateWindow,
		Timeout:                     timeout,
		Reply:                       rs.ReplyAttributes,
		CHAP:                        rs.CHAP,
		ClientRate:                  float64(rs.ClientRate),
		ClientBurst:                 rs.ClientBurst,
		Challenge: radiusd.ChallengeConfig{
			// services.<name>.challenge of the configuration running now,
			// so that a reload turns it on or off.
			Enabled: func() bool {
				s, ok := g.current.Load().cfg.Services.Get(service)
				return ok && s != nil && s.Challenge
			},
			Message: rs.ChallengeMessage, Timeout: rs.ChallengeTimeout,
			MaxPending: rs.MaxChallenges, MaxPendingPerUser: rs.MaxChallengesPerUser,
		},
	}, auth, log.With(slog.String("front_door", "radius")))
	if err != nil {
		return nil, fmt.Errorf("radius_server.reply_attributes: %w", err)
	}
	if g.metrics != nil {
		g.metrics.radius.Store(srv)
	}
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, "udp", rs.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("radius_server.listen: %w", err)
	}
	if err := growReadBuffer(conn, radiusReadBuffer); err != nil {
		log.Warn("cannot grow the RADIUS socket's receive buffer; a burst of requests may be dropped by the kernel",
			slog.Int("want_bytes", radiusReadBuffer), slog.Any("err", err))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(conn); err != nil {
			log.Error("RADIUS front door failed", slog.Any("err", err))
		}
	}()
	log.Info("RADIUS front door started", slog.String("addr", conn.LocalAddr().String()), slog.String("service", service), slog.Int("clients", len(clients)))
	return func() {
		conn.Close()
		<-done
		st := srv.Stats()
		log.Info("RADIUS front door stopped", slog.Uint64("requests", st.Requests), slog.Uint64("accepts", st.Accepts),
			slog.Uint64("rejects", st.Rejects), slog.Uint64("unknown_client", st.UnknownClient),
			slog.Uint64("bad_message_authenticator", st.BadMessageAuthenticator), slog.Uint64("duplicates", st.Duplicates),
			slog.Uint64("overloaded", st.Overloaded), slog.Uint64("rate_limited", st.RateLimited),
			slog.Uint64("challenges", st.Challenges), slog.Uint64("challenges_answered", st.ChallengeAnswers))
	}, nil
}

// newAccountant returns the RADIUS accounting of cfg, or nil when
// radius_accounting has no servers. The PPTP front door calls Start for
// every session that passed authentication and Stop with the close cause;
// at shutdown, stop every session (acct.CauseAdminReboot) and Close.
func newAccountant(cfg *config.Config, log *slog.Logger) (*acct.Accountant, error) {
	ra := cfg.RADIUSAccounting
	if len(ra.Servers) == 0 {
		return nil, nil
	}
	b, err := os.ReadFile(ra.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("radius_accounting.secret_file: %w", err)
	}
	secret := radclient.Secret(bytes.TrimRight(b, "\r\n"))
	if len(secret) == 0 {
		return nil, fmt.Errorf("radius_accounting.secret_file: %s is empty", ra.SecretFile)
	}
	ac := acct.Config{
		Timeout: ra.Timeout, Retries: ra.Retries, DeadAfter: ra.DeadAfter,
		InterimInterval: ra.InterimInterval, NASIdentifier: ra.NASIdentifier, NASIPAddress: ra.NASIPAddress,
	}
	if ra.Retries == 0 {
		ac.Retries = -1 // radclient: none
	}
	for _, s := range ra.Servers {
		ac.Servers = append(ac.Servers, radclient.Server{Addr: s, Secret: secret})
	}
	return acct.New(ac, log.With(slog.String("component", "radius_accounting"))), nil
}

// radiusReadBuffer is the RADIUS socket's receive buffer: at the default
// (about 200 KiB, a thousand requests) a flood from one NAS fills it
// whenever the read loop is not scheduled for a few milliseconds, and the
// kernel then drops every NAS's requests alike, before the per-NAS limit
// can tell them apart.
const radiusReadBuffer = 8 << 20

// growReadBuffer sets conn's receive buffer to n bytes: past
// net.core.rmem_max with SO_RCVBUFFORCE when the process may (root,
// CAP_NET_ADMIN), else as far as rmem_max allows.
func growReadBuffer(conn net.PacketConn, n int) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
		if serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}
	}); err != nil {
		return err
	}
	return serr
}

// readSecretFile reads a shared secret from path, without the line end;
// key names the setting in errors.
func readSecretFile(key, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	secret := bytes.TrimRight(b, "\r\n")
	if len(secret) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", key, path)
	}
	return secret, nil
}
