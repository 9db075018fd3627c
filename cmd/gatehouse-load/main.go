// Command gatehouse-load is a PPTP load generator: it sets up many PPTP
// sessions (control connection, enhanced GRE, LCP, MS-CHAPv2, IPCP,
// CCP and MPPE-128) from several source addresses, holds them, sends
// traffic through them, and reports set-up rate, failures, latency,
// throughput and drops. With -mode tun-echo it measures instead the
// machine's own plain TUN limit with the same traffic, so that the PPTP
// throughput can be read as a fraction of it. The client is package
// test/pptpload; docs/performance.md has the commands and the figures.
//
// With -storm N it measures a set-up storm: once -sessions are up and
// carry paced udp traffic both ways (-pps each way, all together), N
// set-ups are fired at once from -storm-sources, and the report gives
// the established sessions' loss each way before, during and after the
// storm, the storm's successes, failures by reason and set-up latency,
// which sessions survived, and the server before and after.
//
// It needs root (raw GRE sockets; a TUN device for tun-echo).
//
//	gatehouse-load -server 127.0.0.1 -sources 127.0.0.2,127.0.0.3 -sessions 100 -rate 500 \
//	    -user alice -password secret -duration 5s -direction both
//	gatehouse-load -mode tun-echo -duration 5s -direction both
//	gatehouse-load -server 127.0.0.1 -sources 127.0.0.2,127.0.0.3 -sessions 50 -calls-per-conn 5 -pps 10000 \
//	    -storm 5000 -storm-sources 127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9 -user alice -password secret
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-vpn/gatehouse/test/pptpload"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	cfg  pptpload.Config
	json bool
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse-load: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := pptpload.Run(ctx, o.cfg)
	if rep != nil {
		if o.json {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.WriteText(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse-load: %v\n", err)
		return 1
	}
	return 0
}

// parseArgs turns the command line into a run's configuration.
func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("gatehouse-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o                                      options
		server, sources, user, password, users string
		stormSources                           string
		mppeMode, traffic, target, logLevel    string
		quiet                                  bool
	)
	c := &o.cfg
	fs.StringVar(&c.Mode, "mode", "pptp", "pptp: sessions against -server; tun-echo: the plain TUN limit, no server")
	fs.StringVar(&server, "server", "", "the PPTP server, ADDRESS or ADDRESS:PORT (port 1723 by default)")
	fs.StringVar(&sources, "sources", "", "local addresses to connect from, in turn: a comma-separated list or a CIDR prefix (each address must exist on this host)")
	fs.IntVar(&c.Sessions, "sessions", 1, "sessions to set up")
	fs.Float64Var(&c.Rate, "rate", 0, "session set-ups started per second; 0 is as fast as -concurrency allows")
	fs.IntVar(&c.CallsPerConn, "calls-per-conn", 1, "calls on each control connection (pptpd takes 1)")
	fs.IntVar(&c.Concurrency, "concurrency", 256, "set-ups in progress at once, at most")
	fs.StringVar(&user, "user", "", "the user name every session logs in with")
	fs.StringVar(&password, "password", "", "the password (with a one-time code appended, for such policies)")
	fs.StringVar(&users, "users", "", "a file of NAME PASSWORD lines (the password is the rest of the line); sessions take them in turn")
	fs.StringVar(&mppeMode, "mppe", "stateless", "stateless or stateful: the MPPE-128 mode the client asks for")
	fs.DurationVar(&c.SetupTimeout, "setup-timeout", 0, "how long one session may take to reach the data phase (default 30s)")
	fs.DurationVar(&c.Hold, "hold", 0, "keep the sessions up and idle (answering LCP echoes) this long after the traffic")
	fs.StringVar(&traffic, "traffic", "", "udp, icmp or none; default udp when -duration is set. udp needs the tool on the gateway's host (see -target); icmp pings -target through each tunnel and counts the replies")
	fs.StringVar(&c.Direction, "direction", "both", "udp traffic: up (client to server), down (server to client) or both")
	fs.IntVar(&c.Size, "size", 1400, "IPv4 packet size in octets")
	fs.Float64Var(&c.PPS, "pps", 0, "packets per second of each direction, all sessions together; 0 is as fast as the sender goes")
	fs.DurationVar(&c.Duration, "duration", 0, "how long to send traffic")
	fs.StringVar(&target, "target", "", "udp: the address the sink binds to on this host (default: the server's tunnel address from IPCP); icmp: the address pinged")
	var port uint
	fs.UintVar(&port, "port", 5001, "the sink's UDP port")
	fs.StringVar(&c.TUNName, "tun", "ghecho0", "-mode tun-echo: the TUN device to create")
	fs.IntVar(&c.Storm, "storm", 0, "a set-up storm: with the -sessions up and carrying udp traffic (-pps each way, all together), fire this many set-ups at once and report the traffic's loss before, during and after it (-duration is not used)")
	fs.StringVar(&stormSources, "storm-sources", "", "-storm: the local addresses the storm comes from, as -sources (default: -sources)")
	fs.IntVar(&c.StormCallsPerConn, "storm-calls-per-conn", 10, "-storm: calls on each of the storm's control connections")
	fs.DurationVar(&c.StormWindow, "storm-window", 5*time.Second, "-storm: how long the windows before and after the storm last")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's process, to report its resident memory and threads")
	fs.StringVar(&c.MetricsURL, "metrics", "", "the server's Prometheus metrics URL, to report its goroutines")
	fs.BoolVar(&o.json, "json", false, "write the report as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress line on standard error")
	fs.StringVar(&logLevel, "log", "warn", "log level on standard error: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	if server != "" {
		ap, err := parseServer(server)
		if err != nil {
			errs = append(errs, err)
		}
		c.Server = ap
	}
	if sources != "" {
		s, err := parseSources(sources)
		if err != nil {
			errs = append(errs, err)
		}
		c.Sources = s
	}
	if stormSources != "" {
		s, err := parseSources(stormSources)
		if err != nil {
			errs = append(errs, fmt.Errorf("-storm-sources: %w", err))
		}
		c.StormSources = s
	}
	if user != "" {
		c.Users = append(c.Users, pptpload.Credential{User: user, Password: password})
	}
	if users != "" {
		u, err := readUsers(users)
		if err != nil {
			errs = append(errs, err)
		}
		c.Users = append(c.Users, u...)
	}
	switch mppeMode {
	case "stateless":
	case "stateful":
		c.Stateful = true
	default:
		errs = append(errs, fmt.Errorf("-mppe %q: stateless or stateful", mppeMode))
	}
	switch {
	case traffic == "none":
	case traffic != "":
		c.Traffic = traffic
	case c.Duration > 0, c.Storm > 0:
		c.Traffic = "udp"
	}
	if target != "" {
		a, err := netip.ParseAddr(target)
		if err != nil {
			errs = append(errs, fmt.Errorf("-target: %w", err))
		}
		c.Target = a
	}
	if port == 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("-port %d: from 1 to 65535", port))
	}
	c.Port = uint16(port)
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("-log: %w", err))
	}
	c.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !quiet {
		c.Progress = stderr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// parseServer reads ADDRESS or ADDRESS:PORT.
func parseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-server %q: want ADDRESS or ADDRESS:PORT", s)
	}
	return netip.AddrPortFrom(a, 1723), nil
}

// maxSources bounds the addresses a prefix may expand to.
const maxSources = 4096

// parseSources reads a comma-separated list of addresses, each of which
// may be a prefix: every address of a /31 or /32, the hosts (without
// the first and last address) of a shorter one.
func parseSources(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("-sources %q: not an IPv4 address", part)
			}
			out = append(out, a)
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("-sources %q: not an IPv4 prefix", part)
		}
		p = p.Masked()
		first, n := p.Addr(), 1<<(32-p.Bits())
		if p.Bits() <= 30 {
			first, n = first.Next(), n-2
		}
		if len(out)+n > maxSources {
			return nil, fmt.Errorf("-sources %q: more than %d addresses", part, maxSources)
		}
		for a := first; n > 0; a, n = a.Next(), n-1 {
			out = append(out, a)
		}
	}
	return out, nil
}

// readUsers reads NAME PASSWORD lines; blank lines and lines starting
// with # are skipped.
func readUsers(path string) ([]pptpload.Credential, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-users: %w", err)
	}
	return parseUsers(string(b), path)
}

func parseUsers(text, name string) ([]pptpload.Credential, error) {
	var out []pptpload.Credential
	n := 0
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		user, pw, ok := strings.Cut(strings.TrimLeft(line, " \t"), " ")
		if !ok || user == "" || pw == "" {
			return nil, fmt.Errorf("-users %s line %s: want NAME PASSWORD", name, strconv.Itoa(n))
		}
		out = append(out, pptpload.Credential{User: user, Password: pw})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-users %s: no users", name)
	}
	return out, nil
}
