package interop

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The addresses of every topology. They come from the RFC 5737
// documentation ranges only, so the harness cannot reach a real network.
var (
	// ServerIP is the gateway's address on the VMs' network (bridge br0
	// in the gateway namespace): the server under test listens here.
	ServerIP = netip.MustParseAddr("198.51.100.1")
	// PPTPDIP is where the reference pptpd VM (StartPPTPD) listens.
	PPTPDIP = netip.MustParseAddr("198.51.100.2")
	// LanGatewayIP is the gateway's address on the LAN (veth lan0).
	LanGatewayIP = netip.MustParseAddr("203.0.113.1")
	// LanHostIP is the host behind the gateway (eth0 in the LAN
	// namespace, default route via LanGatewayIP): ping it through the
	// tunnel to prove the data plane.
	LanHostIP = netip.MustParseAddr("203.0.113.2")
	// TunnelNet is left free for the server's address pool and its own
	// tunnel address.
	TunnelNet = netip.MustParsePrefix("192.0.2.0/24")

	vmNet        = netip.MustParsePrefix("198.51.100.0/24")
	lanNet       = netip.MustParsePrefix("203.0.113.0/24")
	firstClient  = 10  // client VMs get 198.51.100.10 and up
	clientsLimit = 240 // ... up to 198.51.100.249
)

// Topology is a pair of network namespaces a PPTP server is tested in:
//
//	client VMs 198.51.100.10, .11, ... (one tap each: vm0, vm1, ...)
//	       │
//	┌──────┴─ GatewayNS ────────────────────────────────────┐
//	│ br0 198.51.100.1  ← the server under test listens here │
//	│ lan0 203.0.113.1          ip_forward=1, no IPv6         │
//	└──────┬─────────────────────────────────────────────────┘
//	       │ veth
//	┌──────┴─ LanNS ───────────────────────────┐
//	│ eth0 203.0.113.2, default via 203.0.113.1 │
//	└───────────────────────────────────────────┘
//
// 192.0.2.0/24 is free for the server's tunnel addresses: the server
// routes its pool to its TUN device in GatewayNS. Nothing is connected to
// the host's own network namespace.
type Topology struct {
	Name      string // common prefix of the namespace names
	GatewayNS string // the server under test runs here
	LanNS     string // the LAN host
	Bridge    string // "br0", in GatewayNS, holds ServerIP
	LanLink   string // "lan0", GatewayNS's link to the LAN

	ServerIP     netip.Addr // 198.51.100.1
	LanGatewayIP netip.Addr // 203.0.113.1
	LanHostIP    netip.Addr // 203.0.113.2
	TunnelNet    netip.Prefix

	img  *image
	next atomic.Int32 // next client VM slot

	clients struct {
		sync.Mutex
		running map[*Client]bool
	}
}

var topologySeq atomic.Int32

// Up builds a fresh topology for the test and removes it when the test
// ends. Its namespaces are named gh-PREFIX-PID-N-gw and gh-PREFIX-PID-N-lan,
// so parallel tests and parallel test processes never share one. Up calls
// Require, so it skips or fails the test as Require does. Namespaces left
// behind by killed test processes are removed on the way.
func Up(t testing.TB, prefix string) *Topology {
	t.Helper()
	Require(t)
	if !regexp.MustCompile(`^[a-z0-9]{1,16}$`).MatchString(prefix) {
		t.Fatalf("interop.Up: prefix %q: use 1-16 lower-case letters or digits", prefix)
	}
	removeStale()
	name := fmt.Sprintf("gh-%s-%d-%d", prefix, os.Getpid(), topologySeq.Add(1))
	tp, err := Create(name)
	if err != nil {
		t.Fatalf("interop.Up: %v", err)
	}
	t.Cleanup(func() {
		if err := tp.Close(); err != nil {
			t.Errorf("interop: removing topology %s: %v", name, err)
		}
	})
	return tp
}

// Create builds the topology with namespaces NAME-gw and NAME-lan. It is
// the non-testing form of Up, for the pptpvm command; the caller calls
// Close. Needs root and a built image (see Require).
func Create(name string) (*Topology, error) {
	img, err := loadImage()
	if err != nil {
		return nil, err
	}
	tp := newTopology(name, img)
	for _, ns := range []string{tp.GatewayNS, tp.LanNS} {
		if nsExists(ns) {
			return nil, fmt.Errorf("namespace %s exists already (ip netns del %s)", ns, ns)
		}
	}
	if err := tp.build(); err != nil {
		tp.removeNamespaces()
		return nil, err
	}
	return tp, nil
}

// Open returns the topology Create(name) built earlier, maybe in another
// process (the pptpvm command's "up").
func Open(name string) (*Topology, error) {
	img, err := loadImage()
	if err != nil {
		return nil, err
	}
	tp := newTopology(name, img)
	for _, ns := range []string{tp.GatewayNS, tp.LanNS} {
		if !nsExists(ns) {
			return nil, fmt.Errorf("no namespace %s (pptpvm up creates it)", ns)
		}
	}
	return tp, nil
}

func newTopology(name string, img *image) *Topology {
	tp := &Topology{
		Name:         name,
		GatewayNS:    name + "-gw",
		LanNS:        name + "-lan",
		Bridge:       "br0",
		LanLink:      "lan0",
		ServerIP:     ServerIP,
		LanGatewayIP: LanGatewayIP,
		LanHostIP:    LanHostIP,
		TunnelNet:    TunnelNet,
		img:          img,
	}
	tp.clients.running = map[*Client]bool{}
	return tp
}

func (tp *Topology) build() error {
	for _, ns := range []string{tp.GatewayNS, tp.LanNS} {
		if err := run("ip", "netns", "add", ns); err != nil {
			return err
		}
		// Before any link exists, so that no link gets IPv6.
		if err := tp.sysctl(ns, map[string]string{
			"net/ipv6/conf/all/disable_ipv6":     "1",
			"net/ipv6/conf/default/disable_ipv6": "1",
		}); err != nil {
			return err
		}
	}
	gw, lan := tp.GatewayNS, tp.LanNS
	steps := [][]string{
		{"-n", gw, "link", "set", "lo", "up"},
		{"-n", lan, "link", "set", "lo", "up"},
		{"-n", gw, "link", "add", tp.Bridge, "type", "bridge"},
		{"-n", gw, "addr", "add", prefixOf(tp.ServerIP, vmNet), "dev", tp.Bridge},
		{"-n", gw, "link", "set", tp.Bridge, "up"},
		{"-n", gw, "link", "add", tp.LanLink, "type", "veth", "peer", "name", "eth0", "netns", lan},
		{"-n", gw, "addr", "add", prefixOf(tp.LanGatewayIP, lanNet), "dev", tp.LanLink},
		{"-n", gw, "link", "set", tp.LanLink, "up"},
		{"-n", lan, "addr", "add", prefixOf(tp.LanHostIP, lanNet), "dev", "eth0"},
		{"-n", lan, "link", "set", "eth0", "up"},
		{"-n", lan, "route", "add", "default", "via", tp.LanGatewayIP.String()},
	}
	for _, s := range steps {
		if err := run("ip", s...); err != nil {
			return err
		}
	}
	return tp.sysctl(gw, map[string]string{"net/ipv4/ip_forward": "1"})
}

func prefixOf(a netip.Addr, p netip.Prefix) string {
	return netip.PrefixFrom(a, p.Bits()).String()
}

// sysctl writes /proc/sys/KEY inside namespace ns. Network sysctls belong
// to the namespace of the thread that opens them.
func (tp *Topology) sysctl(ns string, kv map[string]string) error {
	return enter(ns, func() error {
		for k, v := range kv {
			if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
				return fmt.Errorf("sysctl %s=%s in %s: %w", k, v, ns, err)
			}
		}
		return nil
	})
}

// Close stops the client VMs still running and deletes both namespaces
// (and with them the bridge, the taps and the veth pair). A process the
// test started in a namespace and left running keeps the namespace alive
// until it exits.
func (tp *Topology) Close() error {
	tp.clients.Lock()
	running := make([]*Client, 0, len(tp.clients.running))
	for c := range tp.clients.running {
		running = append(running, c)
	}
	tp.clients.Unlock()
	for _, c := range running {
		c.Kill()
		c.Wait()
	}
	return tp.removeNamespaces()
}

func (tp *Topology) removeNamespaces() error {
	var errs []error
	for _, ns := range []string{tp.LanNS, tp.GatewayNS} {
		if nsExists(ns) {
			if err := run("ip", "netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Exec returns a command that runs name with args inside namespace ns (use
// tp.GatewayNS for the server under test). Like exec.Command, it is not
// started yet; the process is killed if the test process dies.
func (tp *Topology) Exec(ns string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Enter runs fn on an OS thread that has joined namespace ns, then returns
// the thread to the process's namespace. Sockets and TUN devices that fn
// opens stay in ns for their whole life and may be used from any goroutine
// afterwards: this is how a test runs the server under test in-process,
//
//	tp.Enter(tp.GatewayNS, func() error {
//		ln, err = net.Listen("tcp", tp.ServerIP.String()+":1723")
//		return err
//	})
//
// Goroutines that fn starts do not run in ns. A fn that ends its goroutine
// (t.Fatal, t.Skip: runtime.Goexit) makes Enter return an error instead
// of waiting forever; the thread, still in ns, ends with the goroutine.
func (tp *Topology) Enter(ns string, fn func() error) error {
	return enter(ns, fn)
}

func enter(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		inFn := false
		defer func() {
			if inFn {
				errc <- fmt.Errorf("inside namespace %s: the function ended its goroutine (t.Fatal or t.Skip)", ns)
			}
		}()
		runtime.LockOSThread()
		// The thread is unlocked only when it is back in the original
		// namespace; otherwise it ends with this goroutine.
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer own.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- fmt.Errorf("namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			errc <- fmt.Errorf("entering namespace %s: %w", ns, err)
			return
		}
		inFn = true
		ferr := fn()
		inFn = false
		if err := setns(own); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leaving namespace %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// allocateVM gives a client VM its slot: tap vmN in the gateway namespace,
// on the bridge, and address 198.51.100.(10+N). Slots are not reused within
// a topology, so a server never sees a new client at an address a killed
// one had. Slots taken by another process (pptpvm client) are skipped.
func (tp *Topology) allocateVM() (tap string, addr netip.Addr, err error) {
	for {
		n := int(tp.next.Add(1)) - 1
		if n >= clientsLimit {
			return "", netip.Addr{}, fmt.Errorf("topology %s: all %d client addresses used", tp.Name, clientsLimit)
		}
		tap = "vm" + strconv.Itoa(n)
		if linkExists(tp.GatewayNS, tap) {
			continue
		}
		if err := tp.addTap(tap); err != nil {
			return "", netip.Addr{}, err
		}
		return tap, nthAddr(vmNet, firstClient+n), nil
	}
}

func (tp *Topology) addTap(tap string) error {
	if err := run("ip", "-n", tp.GatewayNS, "tuntap", "add", "dev", tap, "mode", "tap"); err != nil {
		return err
	}
	return run("ip", "-n", tp.GatewayNS, "link", "set", tap, "master", tp.Bridge, "up")
}

func (tp *Topology) removeTap(tap string) {
	_ = run("ip", "-n", tp.GatewayNS, "link", "del", tap)
}

func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Addr().As4()
	a[3] += byte(n)
	return netip.AddrFrom4(a)
}

// macFor derives a stable, locally administered MAC address from an IPv4
// address, so a capture can be read without an ARP table.
func macFor(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("02:67:68:%02x:%02x:%02x", b[1], b[2], b[3])
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func linkExists(ns, link string) bool {
	return exec.Command("ip", "-n", ns, "link", "show", "dev", link).Run() == nil
}

// removeStale deletes the namespaces of Up topologies whose test process
// no longer exists (killed by a timeout, say).
func removeStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	stale := regexp.MustCompile(`^gh-[a-z0-9]+-([0-9]+)-[0-9]+-(gw|lan)$`)
	for _, e := range entries {
		m := stale.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if _, err := os.Stat("/proc/" + m[1]); err == nil {
			continue
		}
		_ = run("ip", "netns", "del", e.Name())
	}
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
