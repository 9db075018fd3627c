// Command pptpvm drives the interop harness by hand: it builds the VM
// image, creates and removes a topology, runs one Linux PPTP client
// attempt against a server, or boots the reference pptpd. Run it as root;
// test/interop/README.md ("By hand") shows a session.
//
// "client" prints the Result as one JSON object and exits 0 when the
// outcome is the expected one (connected, MPPE as asked, every ping
// answered; with -expect-fail: not connected), 1 when not, 2 on usage
// errors, 3 when the harness failed.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-vpn/gatehouse/test/interop"
)

const usage = `usage: pptpvm COMMAND [flags]

  image            build (or find) the VM image; print where it is
  up               create the topology NAME-gw / NAME-lan
  down             delete it
  client [flags]   boot one client VM, make one attempt, print the result
  pptpd [flags]    boot the reference pptpd on 198.51.100.2 until Ctrl-C

Every command but image takes -name (default gh-manual).
"pptpvm COMMAND -h" lists a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	c := newCommand(os.Args[1])
	if c == nil {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := c.parse(os.Args[2:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "pptpvm %s: %v\n", os.Args[1], err)
		}
		os.Exit(2)
	}
	os.Exit(c.run())
}

// command is one subcommand: its flags, and what it does with them.
type command struct {
	fs  *flag.FlagSet
	run func() int
	// check validates the parsed flags.
	check func() error
}

func (c *command) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(c.fs.Args(), " "))
	}
	if c.check != nil {
		return c.check()
	}
	return nil
}

func newCommand(name string) *command {
	c := &command{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	topology := "gh-manual"
	if name != "image" {
		c.fs.StringVar(&topology, "name", topology, "topology name (namespaces NAME-gw, NAME-lan)")
	}
	switch name {
	case "image":
		c.run = image
	case "up":
		c.run = func() int { return up(topology) }
	case "down":
		c.run = func() int { return down(topology) }
	case "client":
		clientFlags(c, &topology)
	case "pptpd":
		pptpdFlags(c, &topology)
	default:
		return nil
	}
	return c
}

func failf(code int, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "pptpvm: "+format+"\n", args...)
	return code
}

func image() int {
	dir, accel, err := interop.Image()
	if err != nil {
		return failf(3, "%v", err)
	}
	fmt.Printf("image %s\naccel %s\n", dir, accel)
	return 0
}

func up(name string) int {
	tp, err := interop.Create(name)
	if err != nil {
		return failf(3, "%v", err)
	}
	fmt.Printf("GATEWAY_NS=%s      # the server under test runs here\n", tp.GatewayNS)
	fmt.Printf("LAN_NS=%s\n", tp.LanNS)
	fmt.Printf("SERVER_IP=%v      # br0 in GATEWAY_NS: the server listens here\n", tp.ServerIP)
	fmt.Printf("LAN_GATEWAY_IP=%v # lan0 in GATEWAY_NS\n", tp.LanGatewayIP)
	fmt.Printf("LAN_HOST_IP=%v    # eth0 in LAN_NS, default route via LAN_GATEWAY_IP\n", tp.LanHostIP)
	fmt.Printf("TUNNEL_NET=%v    # free for the server's pool; route it to the server's TUN\n", tp.TunnelNet)
	fmt.Printf("CLIENT_IPS=198.51.100.10 and up, one per client VM (taps vm0, vm1, ... on br0)\n")
	return 0
}

func down(name string) int {
	tp, err := interop.Open(name)
	if err != nil {
		return failf(3, "%v", err)
	}
	if err := tp.Close(); err != nil {
		return failf(3, "%v", err)
	}
	return 0
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ", ") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// addrFlag is an optional address flag.
type addrFlag struct{ a *netip.Addr }

func (f addrFlag) String() string {
	if f.a == nil || !f.a.IsValid() {
		return ""
	}
	return f.a.String()
}

func (f addrFlag) Set(s string) (err error) {
	*f.a, err = netip.ParseAddr(s)
	return err
}

// secret is the -password / -password-file pair.
type secret struct{ value, file string }

func (s *secret) flags(fs *flag.FlagSet, what string) {
	fs.StringVar(&s.value, "password", "", what+" (visible in ps; prefer -password-file)")
	fs.StringVar(&s.file, "password-file", "", "file whose first line is the password")
}

func (s *secret) read() (string, error) {
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return "", err
		}
		s.value, _, _ = strings.Cut(string(b), "\n")
	}
	if s.value == "" {
		return "", errors.New("-password or -password-file is required")
	}
	return s.value, nil
}

func clientFlags(c *command, topology *string) {
	fs := c.fs
	var o interop.ClientOptions
	var pw secret
	var pppdOpts, pptpOpts multi
	o.Server = interop.ServerIP
	fs.Var(addrFlag{&o.Server}, "server", "PPTP server address (default 198.51.100.1)")
	fs.StringVar(&o.User, "user", "", "user name (required)")
	pw.flags(fs, "password")
	fs.StringVar(&o.Auth, "auth", "mschapv2", "mschapv2, mschap, chap, pap or any")
	fs.StringVar(&o.MPPE, "mppe", "", "required|128, 40, any, stateful or none (default: required; none with pap, chap)")
	fs.Var(&pppdOpts, "pppd-opt", "extra pppd option line (repeatable)")
	fs.Var(&pptpOpts, "pptp-opt", "extra pptp argument (repeatable)")
	fs.Var(addrFlag{&o.Ping}, "ping", "address to ping through the tunnel (e.g. 203.0.113.2)")
	fs.IntVar(&o.PingCount, "ping-count", 3, "echo requests")
	fs.IntVar(&o.PingSize, "ping-size", 56, "ICMP payload bytes")
	fs.DurationVar(&o.PingInterval, "ping-interval", 200*time.Millisecond, "between echo requests")
	fs.BoolVar(&o.Flood, "flood", false, "ping -f")
	fs.DurationVar(&o.Hold, "hold", 0, "keep the link up this long after the ping")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 30*time.Second, "guest waits this long for IPCP")
	fs.DurationVar(&o.Timeout, "timeout", 0, "host-side limit (default 120s + hold + ping)")
	fs.BoolVar(&o.ExpectFail, "expect-fail", false, "success means the attempt did not connect")
	logFile := fs.String("log", "", "write the VM console to this file")
	verbose := fs.Bool("v", false, "copy the VM console to stderr")
	c.check = func() (err error) {
		if o.User == "" {
			return errors.New("-user is required")
		}
		o.Password, err = pw.read()
		o.PPPDOpts, o.PPTPOpts = pppdOpts, pptpOpts
		return err
	}
	c.run = func() int {
		tp, err := interop.Open(*topology)
		if err != nil {
			return failf(3, "%v", err)
		}
		cl, err := tp.Start(o)
		if err != nil {
			return failf(3, "%v", err)
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		go func() { <-stop; cl.Kill() }()
		r := cl.Wait()
		if *verbose {
			fmt.Fprint(os.Stderr, r.Log)
		}
		if *logFile != "" {
			if err := os.WriteFile(*logFile, []byte(r.Log), 0o600); err != nil {
				return failf(3, "%v", err)
			}
		}
		writeJSON(os.Stdout, r)
		switch {
		case r.Err != nil:
			return failf(3, "%v", r.Err)
		case r.Check(o) != nil:
			return failf(1, "%v", r.Check(o))
		}
		return 0
	}
}

// writeJSON prints the Result without its log, durations in seconds.
func writeJSON(w io.Writer, r interop.Result) {
	sec := func(d time.Duration) float64 { return d.Round(10 * time.Millisecond).Seconds() }
	addr := func(a netip.Addr) any {
		if a.IsValid() {
			return a.String()
		}
		return nil
	}
	m := map[string]any{
		"name": r.Name, "vm": addr(r.VMAddr), "accel": r.Accel,
		"connected": r.Connected, "auth": r.Auth, "auth_proto": r.AuthProto,
		"mppe_bits": r.MPPEBits, "stateless": r.Stateless,
		"local_ip": addr(r.LocalIP), "remote_ip": addr(r.RemoteIP), "dns1": addr(r.DNS1), "dns2": addr(r.DNS2),
		"ping_tx": r.PingTx, "ping_rx": r.PingRx, "ping_avg_ms": float64(r.PingAvg.Microseconds()) / 1000,
		"connect_s": sec(r.ConnectTime), "held_s": sec(r.Held),
		"disconnect": r.Disconnect, "peer_term_reason": r.PeerTermReason,
		"bytes_sent": r.BytesSent, "bytes_rcvd": r.BytesRcvd,
		"pppd_exit": r.PPPDExit, "reason": r.Reason,
		"boot_s": sec(r.Boot), "total_s": sec(r.Total),
	}
	if r.Err != nil {
		m["error"] = r.Err.Error()
	}
	out, _ := json.Marshal(m)
	fmt.Fprintln(w, string(out))
}

func pptpdFlags(c *command, topology *string) {
	fs := c.fs
	var o interop.PPTPDOptions
	var pw secret
	var pppdOpts multi
	fs.StringVar(&o.User, "user", "", "the one account (required)")
	pw.flags(fs, "its password")
	fs.StringVar(&o.MPPE, "mppe", "required", "required, 40 or none")
	fs.Var(&pppdOpts, "pppd-opt", "extra pppd option line (repeatable)")
	c.check = func() (err error) {
		if o.User == "" {
			return errors.New("-user is required")
		}
		o.Password, err = pw.read()
		o.PPPDOpts = pppdOpts
		return err
	}
	c.run = func() int {
		tp, err := interop.Open(*topology)
		if err != nil {
			return failf(3, "%v", err)
		}
		s, err := tp.BootPPTPD(o)
		if err != nil {
			return failf(3, "%v", err)
		}
		fmt.Fprintf(os.Stderr, "pptpd listens on %v:1723 (tunnels 192.0.2.1 <-> 192.0.2.10-19); Ctrl-C stops it\n", s.Addr)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
		s.Stop()
		fmt.Fprint(os.Stderr, s.Log())
		return 0
	}
}
