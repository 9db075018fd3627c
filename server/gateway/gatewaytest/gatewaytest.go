// Package gatewaytest is a PPTP client for tests of the PPTP front door
// (server/gateway, and "gatehouse serve" with PPTP on), made of the
// project's own pieces: the scripted control connection of
// server/control/controltest, a raw GRE socket, and the PPP client of
// server/session/sessiontest (LCP, MS-CHAPv2, IPCP, CCP, MPPE). It proves
// the gateway's logic end to end; interoperability with a real client is
// test/interop's job.
//
// A raw GRE socket needs root (CAP_NET_RAW), and the client and the
// gateway must not share GRE with anything else: run the test in a fresh
// network namespace with [InNetns], the gateway on 127.0.0.1 and the
// client on another loopback address such as 127.0.0.2.
//
// It is test support only: nothing outside _test.go files imports it.
package gatewaytest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/control/controltest"
	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
	"github.com/gatehouse-vpn/gatehouse/server/session/sessiontest"
	"golang.org/x/sys/unix"
)

// NetnsEnv is set in the environment of a test that InNetns re-ran inside
// a network namespace.
const NetnsEnv = "GATEHOUSE_TEST_NETNS"

// InNetns re-runs the calling test (a top-level test) inside a fresh
// network namespace, as root, and reports its result: it returns false in
// the calling process, whose test passes or fails with the inner run's.
// Inside the namespace it brings the loopback interface up and returns
// true: the test's body runs there. Without root the test is skipped with
// a loud "*** SKIP:" line; CI runs the tests as root.
//
// The inner run is the same test binary with -test.run ^Name$ and
// -test.v, and with the environment of this one plus NetnsEnv; its output
// is logged by the outer test (and with -v, shown).
func InNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(NetnsEnv) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v %s", err, out)
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("*** SKIP: needs root to create a network namespace, raw GRE sockets and TUN devices; CI runs it as root")
	}
	ns := fmt.Sprintf("ghtest%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	args := []string{"netns", "exec", ns, os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), NetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in namespace %s:\n%s", ns, out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in namespace %s: %v", ns, err)
	}
	return false
}

// Options says which gateway to call, from where, and as whom.
type Options struct {
	// Server is the gateway's address; Port its control port (default
	// 1723).
	Server netip.Addr
	Port   uint16
	// Local is the client's own address, a loopback alias such as
	// 127.0.0.2 (any 127/8 address is on lo): its raw GRE socket is bound
	// to it and sees only what the gateway sends to the client.
	Local netip.Addr
	// User and Password are what the PPP client's MS-CHAPv2 answers
	// with: for a policy such as "Password and OATH", Password is the
	// password followed by the current code.
	User, Password string
	// CallID is the client's Call ID (default 77).
	CallID uint16
	// Wait is how long Dial retries while the gateway is not listening
	// yet (default 15s).
	Wait time.Duration
}

// Client is one PPTP client with its call set up: a control connection
// (Control), a raw GRE socket, and the PPP client (PPP) whose frames go
// over GRE. Dial returns it before PPP starts: call Start, then wait for
// DataReady. Close (also run at the test's cleanup) tears it down.
type Client struct {
	// Control is the control connection; Expect on it reads what the
	// gateway sends, such as Call-Disconnect-Notify.
	Control *controltest.Client
	// PPP is the PPP client: Addresses, SendIP, GotIP, Failure,
	// GotTerminate and the rest.
	PPP *sessiontest.Client
	// ServerCallID is the gateway's Call ID for the call, from its
	// Outgoing-Call-Reply; CallID the client's own.
	ServerCallID uint16
	CallID       uint16

	opts       Options
	gre        *RawGRE
	seq        atomic.Uint32
	acks       atomic.Int64
	stop       chan struct{}
	readerDone chan struct{}
	closeOnce  sync.Once
}

// Dial opens the raw GRE socket, starts reading it (so the gateway's
// first LCP Configure-Request is not lost), connects the control
// connection, starts it and sets up one outgoing call. Any failure fails
// the test.
func Dial(t testing.TB, o Options) *Client {
	t.Helper()
	if o.Port == 0 {
		o.Port = 1723
	}
	if o.CallID == 0 {
		o.CallID = 77
	}
	if o.Wait == 0 {
		o.Wait = 15 * time.Second
	}
	c := &Client{
		CallID: o.CallID, opts: o, gre: OpenRawGRE(t, o.Local), PPP: sessiontest.NewClient(o.User, o.Password),
		stop: make(chan struct{}), readerDone: make(chan struct{}),
	}
	var serverCallID atomic.Uint32
	c.PPP.ToServer = func(frame []byte) {
		h := gre.Header{CallID: uint16(serverCallID.Load()), SequencePresent: true, SequenceNumber: c.seq.Add(1) - 1}
		_ = c.gre.Send(o.Server, gre.AppendPacket(nil, h, frame))
	}
	go c.readGRE()
	t.Cleanup(c.Close)

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: o.Local.AsSlice()}, Timeout: 5 * time.Second}
	addr := netip.AddrPortFrom(o.Server, o.Port).String()
	var conn net.Conn
	var err error
	for deadline := time.Now().Add(o.Wait); ; time.Sleep(20 * time.Millisecond) {
		if conn, err = d.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatewaytest: no PPTP listener at %s: %v", addr, err)
		}
	}
	c.Control = controltest.NewClient(conn)
	c.Control.AnswerEcho(true)
	if _, err := c.Control.Start(); err != nil {
		t.Fatalf("gatewaytest: Start-Control-Connection: %v", err)
	}
	ocrp, err := c.Control.Call(o.CallID)
	if err != nil {
		t.Fatalf("gatewaytest: Outgoing-Call: %v", err)
	}
	if ocrp.ResultCode != pptp.OutgoingConnected {
		t.Fatalf("gatewaytest: Outgoing-Call-Reply %+v, want Connected", ocrp)
	}
	c.ServerCallID = ocrp.CallID
	serverCallID.Store(uint32(ocrp.CallID))
	return c
}

// readGRE hands the PPP client the data packets for its call until Close.
func (c *Client) readGRE() {
	defer close(c.readerDone)
	buf := make([]byte, 65536)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, _, err := unix.Recvfrom(c.gre.fd, buf, 0)
		if err != nil {
			continue // the receive timeout, to look at stop
		}
		pkt, ok := ipv4Payload(buf[:n])
		if !ok {
			continue
		}
		h, payload, err := gre.Parse(pkt)
		if err != nil || h.CallID != c.CallID {
			continue
		}
		if h.AcknowledgmentPresent {
			c.acks.Add(1)
		}
		if h.SequencePresent {
			c.PPP.Receive(payload)
		}
	}
}

// Start starts the PPP client: LCP, then MS-CHAPv2, IPCP and CCP.
func (c *Client) Start() { c.PPP.Start() }

// DataReady reports whether the session reached the data phase (IPCP and
// CCP open).
func (c *Client) DataReady() bool { return c.PPP.DataReady() }

// WaitDataReady waits up to timeout for the data phase.
func (c *Client) WaitDataReady(timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); !c.PPP.DataReady(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			if f, ok := c.PPP.Failure(); ok {
				return fmt.Errorf("gatewaytest: login refused (CHAP Failure %+v: %s)", f, c.PPP.FailureMessage())
			}
			return errors.New("gatewaytest: no data phase in time")
		}
	}
	return nil
}

// Disconnected waits up to timeout for the gateway's Call-Disconnect-Notify
// on the control connection.
func (c *Client) Disconnected(timeout time.Duration) (*pptp.CallDisconnectNotify, error) {
	return controltest.Expect[*pptp.CallDisconnectNotify](c.Control, timeout)
}

// Acks returns how many GRE packets from the gateway carried an
// acknowledgment.
func (c *Client) Acks() int64 { return c.acks.Load() }

// NextSequence is the sequence number the client's next GRE data packet
// will carry.
func (c *Client) NextSequence() uint32 { return c.seq.Load() }

// SendGRE sends b, a whole GRE packet (crafted, or garbage), from the
// client's raw socket to the gateway.
func (c *Client) SendGRE(b []byte) error { return c.gre.Send(c.opts.Server, b) }

// Close stops reading GRE, closes the control connection and the raw
// socket. It does not clear the call first: the gateway sees the control
// connection go. It may be called more than once.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.readerDone
		if c.Control != nil {
			c.Control.Close()
		}
		c.gre.Close()
	})
}

// RawGRE is a raw IPPROTO_GRE socket bound to one local address, with a
// short receive timeout.
type RawGRE struct{ fd int }

// OpenRawGRE opens a raw GRE socket bound to local (IPv4), failing the
// test on error. The caller closes it.
func OpenRawGRE(t testing.TB, local netip.Addr) *RawGRE {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_GRE)
	if err != nil {
		t.Fatalf("gatewaytest: raw GRE socket (needs root): %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.As4()}); err != nil {
		unix.Close(fd)
		t.Fatalf("gatewaytest: bind raw GRE socket to %v: %v", local, err)
	}
	tv := unix.Timeval{Usec: 100000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return &RawGRE{fd: fd}
}

// Send sends b (a GRE header and its payload; the kernel adds the IPv4
// header) to the address to.
func (r *RawGRE) Send(to netip.Addr, b []byte) error {
	return unix.Sendto(r.fd, b, 0, &unix.SockaddrInet4{Addr: to.As4()})
}

// Close closes the socket.
func (r *RawGRE) Close() error { return unix.Close(r.fd) }

// ipv4Payload returns the payload of an IPv4 datagram carrying GRE (what
// a raw socket reads: the IPv4 header comes with it).
func ipv4Payload(b []byte) ([]byte, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl || b[9] != unix.IPPROTO_GRE {
		return nil, false
	}
	if total := int(b[2])<<8 | int(b[3]); total >= ihl && total < len(b) {
		b = b[:total]
	}
	return b[ihl:], true
}
