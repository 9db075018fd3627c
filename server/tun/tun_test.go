package tun

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const nsEnv = "GATEHOUSE_TUN_TEST_NETNS"

// inNetns re-runs the named test inside a fresh network namespace (as
// root) and reports its result; inside, it returns true and the test body
// runs.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(nsEnv) != "" {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to create a network namespace and a TUN device; CI runs it as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Fatalf("running as root but /dev/net/tun is missing: %v", err)
	}
	ns := fmt.Sprintf("ghtun%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), nsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in namespace %s: %v\n%s", ns, err, out)
	}
	return false
}

// TestConfigureAndExchange: a real TUN device gets the gateway address and
// the pool route; a UDP datagram sent to a pool address comes out of the
// device as an IPv4 packet, and a packet written into the device from a
// pool address reaches a local socket.
func TestConfigureAndExchange(t *testing.T) {
	if !inNetns(t) {
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v %s", err, out)
	}
	dev, err := Open("gh0")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	local := netip.MustParseAddr("192.0.2.1")
	pool := netip.MustParsePrefix("192.0.2.128/25")
	if err := dev.Configure(local, 1400, pool); err != nil {
		t.Fatal(err)
	}
	if err := EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "-o", "route", "show", "192.0.2.128/25").CombinedOutput()
	if !strings.Contains(string(out), "dev gh0") {
		t.Fatalf("no pool route via gh0: %s", out)
	}
	out, _ = exec.Command("ip", "-o", "link", "show", "gh0").CombinedOutput()
	if !strings.Contains(string(out), "mtu 1400") || !strings.Contains(string(out), "UP") {
		t.Fatalf("link: %s", out)
	}
	if want := fmt.Sprintf("qlen %d", TxQueueLen); !strings.Contains(string(out), want) {
		t.Errorf("link: %s, want %s", out, want)
	}

	if v, err := os.ReadFile("/proc/sys/net/ipv6/conf/gh0/disable_ipv6"); err == nil && strings.TrimSpace(string(v)) != "1" {
		t.Errorf("IPv6 left on for gh0 (disable_ipv6 %q): the kernel would send its own IPv6 packets into the TUN", v)
	}

	// Kernel -> device. Nothing but IPv4 comes out of it.
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IP(local.AsSlice())}, &net.UDPAddr{IP: net.ParseIP("192.0.2.130"), Port: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2000)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := dev.Read(buf)
		if err == nil && n > 0 && buf[0]>>4 != 4 {
			t.Errorf("a packet of IP version %d came out of the device", buf[0]>>4)
		}
		if err == nil && n >= 33 && buf[9] == 17 && bytes.Equal(buf[16:20], []byte{192, 0, 2, 130}) {
			if string(buf[28:n]) != "hello" {
				t.Fatalf("payload %q", buf[28:n])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no packet from the kernel on the TUN device")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Device -> kernel: an answer from 192.0.2.130:9 to our socket.
	laddr := c.LocalAddr().(*net.UDPAddr)
	pkt := udpPacket([4]byte{192, 0, 2, 130}, [4]byte{192, 0, 2, 1}, 9, uint16(laddr.Port), []byte("world"))
	if _, err := dev.Write(pkt); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "world" {
		t.Fatalf("read from socket: %v %q", err, buf[:n])
	}
}

func udpPacket(src, dst [4]byte, sport, dport uint16, payload []byte) []byte {
	total := 28 + len(payload)
	p := make([]byte, total)
	p[0], p[2], p[3], p[8], p[9] = 0x45, byte(total>>8), byte(total), 64, 17
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(p[i])<<8 | uint32(p[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	cs := ^uint16(sum)
	p[10], p[11] = byte(cs>>8), byte(cs)
	p[20], p[21], p[22], p[23] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
	ul := 8 + len(payload)
	p[24], p[25] = byte(ul>>8), byte(ul)
	copy(p[28:], payload) // UDP checksum 0: none
	return p
}
