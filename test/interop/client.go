package interop

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClientOptions describe one connection attempt of the Linux PPTP client
// (pptp-linux 1.10 + pppd 2.4.9 + the kernel's ppp_mppe). The zero value
// plus User and Password is a Windows-like client: MS-CHAPv2 only,
// MPPE-128 required, no traffic, hang up at once.
type ClientOptions struct {
	// Name labels the client in logs and failures; default "client-N".
	Name string
	// Server is the PPTP server's address; default ServerIP.
	Server         netip.Addr
	User, Password string
	// Auth is what the client lets the server authenticate it with:
	//   "mschapv2" (default)  refuse-pap refuse-chap refuse-mschap refuse-eap
	//   "mschap"              MS-CHAPv1 only
	//   "chap"                CHAP-MD5 only
	//   "pap"                 PAP only (refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap)
	//   "any"                 whatever the server asks for
	Auth string
	// MPPE is what the client demands of CCP:
	//   "required", "128"  require-mppe-128 (default with mschapv2, mschap, any)
	//   "40"               require-mppe-40: 40-bit only, 128 refused
	//                      (pppd has no 56-bit option, and refuses 40-bit
	//                      after MS-CHAPv1, which would need the LM hash)
	//   "any"              require-mppe: 40 or 128, the server picks
	//   "stateful"         require-mppe-128 mppe-stateful: pppd still asks
	//                      for stateless, but accepts stateful when the
	//                      server insists (Nak); it cannot demand stateful
	//   "none"             nomppe (default with pap and chap: MPPE keys
	//                      come only from MS-CHAP)
	MPPE string
	// PPPDOpts are extra pppd option lines, e.g. "mtu 1400",
	// "lcp-echo-interval 2", "lcp-echo-failure 3".
	PPPDOpts []string
	// PPTPOpts are extra arguments of pptp, e.g. "--nobuffer".
	PPTPOpts []string

	// Ping, when valid, is pinged through the tunnel after IPCP (a /32
	// route via ppp0 is added unless it is the server's tunnel address).
	Ping      netip.Addr
	PingCount int // default 3
	// MinPingReplies, when above 0, is how many replies RunClient
	// needs; by default every ping must be answered. Under load a TCG
	// guest loses the odd packet before it reaches the server (seen in CI:
	// the server's counters show none arriving), so tests of a server's
	// data path that prove reachability ask for fewer and check the
	// server's own counters.
	MinPingReplies int
	PingSize       int           // ICMP payload bytes; default 56
	PingInterval   time.Duration // default 200ms
	Flood          bool          // ping -f: as fast as replies come back
	// Routes are routed through the tunnel too.
	Routes []netip.Prefix

	// Hold keeps the link up, idle, this long after the ping; a server
	// hang-up during the hold ends it early (Result.Disconnect "peer").
	Hold time.Duration
	// Probe, when valid, is connected to over TCP (busybox nc, 2 s
	// timeout) through the tunnel once a second during the hold; each
	// attempt prints "@gh probe ok" or "@gh probe fail" (Result.Probes,
	// Client.WaitLog).
	Probe netip.AddrPort
	// Multicast makes the client send an mDNS query (busybox nslookup to
	// 224.0.0.251:5353) every 100 ms through the tunnel during the hold:
	// traffic that must not count as activity for an idle timeout.
	Multicast bool
	// ConnectTimeout is how long the guest waits for IPCP; default 30s.
	ConnectTimeout time.Duration
	// Timeout bounds the whole attempt on the host, boot included;
	// default 120s + Hold + the ping's duration.
	Timeout time.Duration

	// ExpectFail: RunClient/RunClients report an error unless the attempt
	// fails to connect. Without it they report an error unless the client
	// connects, gets the MPPE strength asked for (none for "none") and
	// every ping is answered.
	ExpectFail bool
}

// Client is one running client VM (StartClient, Topology.Start).
type Client struct {
	Name string
	Addr netip.Addr // the VM's address, 198.51.100.N

	tp   *Topology
	opts ClientOptions
	tap  string
	vm   *vm

	once   sync.Once
	result Result
	killed bool
	killMu sync.Mutex
}

// Start boots a client VM and returns at once; the non-testing form of
// StartClient. Wait must be called to release the VM's tap.
func (tp *Topology) Start(o ClientOptions) (*Client, error) {
	files, err := o.guestFiles(tp)
	if err != nil {
		return nil, err
	}
	tap, addr, err := tp.allocateVM()
	if err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = "client-" + strings.TrimPrefix(tap, "vm")
	}
	files["vm_ip"] = prefixOf(addr, vmNet)
	m, err := startVM(tp.img, vmSpec{name: o.Name, ns: tp.GatewayNS, tap: tap, mac: macFor(addr), files: files})
	if err != nil {
		tp.removeTap(tap)
		return nil, err
	}
	c := &Client{Name: o.Name, Addr: addr, tp: tp, opts: o, tap: tap, vm: m}
	tp.clients.Lock()
	tp.clients.running[c] = true
	tp.clients.Unlock()
	return c, nil
}

// StartClient boots a client VM for one attempt and returns while it runs:
// use it to act during the attempt (WaitUp, then Kill, or start a second
// client). Wait returns its Result; the test's cleanup kills it if the
// test never waits.
func (tp *Topology) StartClient(t testing.TB, o ClientOptions) *Client {
	t.Helper()
	c, err := tp.Start(o)
	if err != nil {
		t.Fatalf("interop: starting client VM: %v", err)
	}
	t.Cleanup(func() { c.Kill(); c.Wait() })
	return c
}

// RunClient boots one client VM, makes one attempt, and returns what
// happened. It fails the test when the harness itself fails (the VM did
// not boot or finish), and reports an error when the outcome is not the
// one ClientOptions.ExpectFail asks for; the caller checks the details.
func (tp *Topology) RunClient(t testing.TB, o ClientOptions) Result {
	t.Helper()
	return tp.RunClients(t, o)[0]
}

// RunClients boots one VM per ClientOptions, all at once, and waits for
// all of them: several clients connected to the server at the same time.
// Each gets its own address (198.51.100.10 and up). Results come in the
// order of the options; failures are reported as by RunClient.
func (tp *Topology) RunClients(t testing.TB, opts ...ClientOptions) []Result {
	t.Helper()
	clients := make([]*Client, len(opts))
	for i, o := range opts {
		c, err := tp.Start(o)
		if err != nil {
			for _, c := range clients[:i] {
				c.Kill()
				c.Wait()
			}
			t.Fatalf("interop: starting client VM %d: %v", i, err)
		}
		clients[i] = c
	}
	results := make([]Result, len(clients))
	var harness []string
	for i, c := range clients {
		r := c.Wait()
		results[i] = r
		t.Logf("interop: %s", r)
		if r.Err != nil {
			harness = append(harness, fmt.Sprintf("%s: %v\n%s", r.Name, r.Err, r.Log))
			continue
		}
		if err := r.Check(c.opts); err != nil {
			t.Errorf("interop: %s: %v\n--- console of %s\n%s", r.Name, err, r.Name, r.Log)
		}
	}
	if len(harness) > 0 {
		t.Fatalf("interop: harness failure:\n%s", strings.Join(harness, "\n"))
	}
	return results
}

// WaitUp waits until the client's link is up (IPCP done, ip-up ran) and
// reports whether it came up within timeout. It returns false at once when
// the attempt has ended without coming up.
func (c *Client) WaitUp(timeout time.Duration) bool {
	select {
	case <-c.vm.up:
		return true
	case <-c.vm.exited:
		select {
		case <-c.vm.up:
			return true
		default:
			return false
		}
	case <-time.After(timeout):
		return false
	}
}

// WaitLog waits until the client's console shows a line containing s and
// reports whether it did within timeout; it returns false at once when the
// VM has stopped without printing it. Lines printed before the call
// count; pass a count with WaitLogCount to wait for a later one.
func (c *Client) WaitLog(s string, timeout time.Duration) bool {
	return c.WaitLogCount(s, 1, timeout)
}

// WaitLogCount waits until the console shows at least n lines containing
// s.
func (c *Client) WaitLogCount(s string, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Count(c.vm.log(), s) >= n {
			return true
		}
		select {
		case <-c.vm.exited:
			return strings.Count(c.vm.log(), s) >= n
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill powers the client VM off at once, mid-attempt: no LCP
// Terminate-Request, no PPTP Call-Clear-Request or Stop-Control-Connection,
// no TCP FIN or RST — the server sees its peer fall silent, as when a
// laptop loses its network. Result.Reason is then "killed" (unless the
// attempt had already ended).
func (c *Client) Kill() {
	c.killMu.Lock()
	defer c.killMu.Unlock()
	if c.vm.kill() {
		c.killed = true
	}
}

// Unplug takes the client's tap device down: from then on nothing passes
// between the client and the server, in either direction, while both keep
// running — a pulled cable, or a network outage, that Replug ends.
func (c *Client) Unplug() error {
	return run("ip", "-n", c.tp.GatewayNS, "link", "set", c.tap, "down")
}

// Replug brings the client's tap device back up after Unplug.
func (c *Client) Replug() error {
	return run("ip", "-n", c.tp.GatewayNS, "link", "set", c.tap, "up")
}

// Wait waits for the attempt to end (or for its Timeout, then kills the
// VM) and returns its Result. It may be called more than once.
func (c *Client) Wait() Result {
	c.once.Do(func() {
		limit := c.opts.timeout()
		finished := c.vm.wait(time.Until(c.vm.start.Add(limit)))
		if !finished {
			c.vm.stop()
		}
		c.killMu.Lock()
		killed := c.killed
		c.killMu.Unlock()
		c.result = parseResult(c.vm.log())
		r := &c.result
		r.Name, r.VMAddr, r.Accel = c.Name, c.Addr, c.tp.img.accel
		r.Boot, r.Total = c.vm.bootTime(), c.vm.exitAt.Sub(c.vm.start)
		switch {
		case killed:
			r.Killed = true
			r.Disconnect = "killed"
			r.Reason = "killed"
		case !finished:
			r.Err = fmt.Errorf("no result within %v (boot %v, accel %s)", limit, r.Boot.Round(time.Millisecond), r.Accel)
		case !r.finished:
			r.Err = fmt.Errorf("the VM stopped without a result (%v)", c.vm.exitErr)
		}
		c.tp.removeTap(c.tap)
		c.tp.clients.Lock()
		delete(c.tp.clients.running, c)
		c.tp.clients.Unlock()
	})
	return c.result
}

func (o ClientOptions) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 120*time.Second + o.Hold + time.Duration(o.pingCount())*o.pingInterval()
}

func (o ClientOptions) pingCount() int {
	if o.PingCount > 0 {
		return o.PingCount
	}
	return 3
}

func (o ClientOptions) pingInterval() time.Duration {
	if o.PingInterval > 0 {
		return o.PingInterval
	}
	return 200 * time.Millisecond
}

func (o ClientOptions) auth() string {
	if o.Auth == "" {
		return "mschapv2"
	}
	return o.Auth
}

func (o ClientOptions) mppe() string {
	switch {
	case o.MPPE != "":
		return o.MPPE
	case o.auth() == "pap" || o.auth() == "chap":
		return "none"
	default:
		return "required"
	}
}

// wantBits is the MPPE strength the client insists on; 0 for none, -1
// when either 40 or 128 is fine.
func (o ClientOptions) wantBits() int {
	switch o.mppe() {
	case "40":
		return 40
	case "any":
		return -1
	case "none":
		return 0
	default:
		return 128
	}
}

var authOptions = map[string]string{
	"mschapv2": "refuse-pap refuse-chap refuse-mschap refuse-eap",
	"mschap":   "refuse-pap refuse-chap refuse-mschap-v2 refuse-eap",
	"chap":     "refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap",
	"pap":      "refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap",
	"any":      "",
}

var mppeOptions = map[string]string{
	"required": "require-mppe-128",
	"128":      "require-mppe-128",
	"40":       "require-mppe-40",
	"any":      "require-mppe",
	"stateful": "require-mppe-128\nmppe-stateful",
	"none":     "nomppe",
}

// PPPDOptions returns the pppd options file the client VM runs with
// ("pppd file ..."), for documentation and debugging.
func (o ClientOptions) PPPDOptions(server netip.Addr) (string, error) {
	auth, ok := authOptions[o.auth()]
	if !ok {
		return "", fmt.Errorf("ClientOptions.Auth %q: want mschapv2, mschap, chap, pap or any", o.Auth)
	}
	mppe, ok := mppeOptions[o.mppe()]
	if !ok {
		return "", fmt.Errorf("ClientOptions.MPPE %q: want required, 128, 40, any, stateful or none", o.MPPE)
	}
	if strings.ContainsAny(o.User, "\n\x00") {
		return "", errors.New("ClientOptions.User: no newlines")
	}
	pty := []string{"pptp", server.String(), "--nolaunchpppd"}
	for _, a := range o.PPTPOpts {
		if strings.ContainsAny(a, " \t\n\"'\\") {
			return "", fmt.Errorf("ClientOptions.PPTPOpts %q: one word, no quotes", a)
		}
		pty = append(pty, a)
	}
	var b strings.Builder
	line := func(s string) {
		if s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	line("pty " + pppdQuote(strings.Join(pty, " ")))
	line("user " + pppdQuote(o.User))
	line("remotename gatehouse-test-server")
	// noauth: the client does not ask the server to authenticate itself
	// (MS-CHAPv2's authenticator response is still checked). nodetach:
	// the log goes to stdout, which init streams to the console.
	line("noauth nodetach maxfail 1 noipdefault usepeerdns nodefaultroute noipv6")
	line("ipparam gatehouse-test")
	line("debug")
	line(auth)
	line(mppe)
	for _, opt := range o.PPPDOpts {
		if strings.Contains(opt, "\n") {
			return "", fmt.Errorf("ClientOptions.PPPDOpts %q: one line each", opt)
		}
		line(opt)
	}
	return b.String(), nil
}

// pppdQuote quotes s as one word of a pppd options or secrets file.
func pppdQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// guestFiles are the /harness settings of a client VM (see image/init).
func (o ClientOptions) guestFiles(tp *Topology) (map[string]string, error) {
	server := o.Server
	if !server.IsValid() {
		server = tp.ServerIP
	}
	if err := docAddr("Server", server); err != nil {
		return nil, err
	}
	if o.User == "" || o.Password == "" {
		return nil, errors.New("ClientOptions: User and Password are required")
	}
	if strings.ContainsAny(o.Password, "\n\x00") {
		return nil, errors.New("ClientOptions.Password: no newlines")
	}
	opts, err := o.PPPDOptions(server)
	if err != nil {
		return nil, err
	}
	files := map[string]string{
		"mode":            "client",
		"ppp-options":     opts,
		"secrets":         pppdQuote(o.User) + " * " + pppdQuote(o.Password) + " *\n",
		"connect_timeout": strconv.Itoa(int(durationOr(o.ConnectTimeout, 30*time.Second).Seconds())),
		"hold_cs":         strconv.FormatInt(o.Hold.Milliseconds()/10, 10),
	}
	if o.wantBits() != 0 {
		files["mppe_wait"] = "1"
	}
	if o.Ping.IsValid() {
		if err := docAddr("Ping", o.Ping); err != nil {
			return nil, err
		}
		files["ping"] = o.Ping.String()
		files["ping_count"] = strconv.Itoa(o.pingCount())
		size := o.PingSize
		if size == 0 {
			size = 56
		}
		files["ping_size"] = strconv.Itoa(size)
		files["ping_interval"] = strconv.FormatFloat(o.pingInterval().Seconds(), 'f', 3, 64)
		// After the last request, late replies are awaited this long.
		files["ping_wait"] = "5"
		if o.Flood {
			files["flood"] = "1"
		}
	}
	if o.Probe.IsValid() {
		if err := docAddr("Probe", o.Probe.Addr()); err != nil {
			return nil, err
		}
		files["probe"] = o.Probe.Addr().String() + " " + strconv.Itoa(int(o.Probe.Port()))
	}
	if o.Multicast {
		files["multicast"] = "1"
	}
	var routes []string
	for _, r := range o.Routes {
		if err := docAddr("Routes", r.Addr()); err != nil {
			return nil, err
		}
		routes = append(routes, r.String())
	}
	if len(routes) > 0 {
		files["routes"] = strings.Join(routes, " ")
	}
	return files, nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// docAddr refuses addresses outside the RFC 5737 documentation ranges.
func docAddr(field string, a netip.Addr) error {
	for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return nil
		}
	}
	return fmt.Errorf("ClientOptions.%s %v: use 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24", field, a)
}
