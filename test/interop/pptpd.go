package interop

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// PPTPDOptions configure the reference server: Debian's pptpd 1.4 with
// its pppd 2.4.9, a PPTP server nobody here wrote. The self-test proves
// the client side against it; a server test can use it to see how an
// established implementation answers the same client.
type PPTPDOptions struct {
	User, Password string
	// MPPE: "required" (default; require-mppe-128), "40"
	// (require-mppe-40), "none" (nomppe).
	MPPE string
	// PPPDOpts are extra lines for its pppd, e.g. "idle 4".
	PPPDOpts []string
}

// PPTPD is a running reference server VM. It listens on Addr (PPTPDIP,
// 198.51.100.2), ends every tunnel at TunnelIP (192.0.2.1), hands out
// 192.0.2.10-192.0.2.19, sends DNS 192.0.2.53 and 192.0.2.54, and routes
// between the tunnels and the LAN: the gateway namespace routes
// 192.0.2.0/24 to it. One per topology; it is stopped when the test ends.
type PPTPD struct {
	Addr     netip.Addr
	TunnelIP netip.Addr
	vm       *vm
}

// Reference server addresses.
var (
	pptpdTunnelIP = netip.MustParseAddr("192.0.2.1")
	pptpdPool     = "192.0.2.10-19"
	pptpdDNS      = [2]string{"192.0.2.53", "192.0.2.54"}
)

// StartPPTPD boots the reference server and waits until it listens on
// port 1723.
func (tp *Topology) StartPPTPD(t testing.TB, o PPTPDOptions) *PPTPD {
	t.Helper()
	s, err := tp.BootPPTPD(o)
	if err != nil {
		t.Fatalf("interop: reference pptpd: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// BootPPTPD is the non-testing form of StartPPTPD; the caller calls Stop.
func (tp *Topology) BootPPTPD(o PPTPDOptions) (*PPTPD, error) {
	if o.User == "" || o.Password == "" || strings.ContainsAny(o.User+o.Password, "\n\x00") {
		return nil, errors.New("PPTPDOptions: User and Password are required, one line each")
	}
	mppe := map[string]string{"": "require-mppe-128", "required": "require-mppe-128",
		"40": "require-mppe-40", "none": "nomppe"}[o.MPPE]
	if mppe == "" {
		return nil, fmt.Errorf("PPTPDOptions.MPPE %q: want required, 40 or none", o.MPPE)
	}
	const tap = "pptpd0"
	if err := tp.addTap(tap); err != nil {
		return nil, err
	}
	if err := run("ip", "-n", tp.GatewayNS, "route", "replace", TunnelNet.String(), "via", PPTPDIP.String()); err != nil {
		tp.removeTap(tap)
		return nil, err
	}
	options := []string{
		"name pptpd",
		"refuse-pap refuse-chap refuse-mschap require-mschap-v2",
		mppe,
		"ms-dns " + pptpdDNS[0],
		"ms-dns " + pptpdDNS[1],
		"nodefaultroute nobsdcomp novj novjccomp nologfd noipv6 debug",
	}
	options = append(options, o.PPPDOpts...)
	files := map[string]string{
		"mode":    "pptpd",
		"vm_ip":   prefixOf(PPTPDIP, vmNet),
		"vm_gw":   tp.ServerIP.String(),
		"secrets": pppdQuote(o.User) + " pptpd " + pppdQuote(o.Password) + " *\n",
		"pptpd.conf": "ppp /usr/sbin/pppd\noption /etc/ppp/pptpd-options\n" +
			"localip " + pptpdTunnelIP.String() + "\nremoteip " + pptpdPool + "\n",
		"pptpd-options": strings.Join(options, "\n") + "\n",
	}
	m, err := startVM(tp.img, vmSpec{name: "pptpd", ns: tp.GatewayNS, tap: tap, mac: macFor(PPTPDIP), files: files})
	if err != nil {
		tp.removeTap(tap)
		return nil, err
	}
	s := &PPTPD{Addr: PPTPDIP, TunnelIP: pptpdTunnelIP, vm: m}
	select {
	case <-m.up:
		return s, nil
	case <-m.exited:
	case <-time.After(120 * time.Second):
	}
	s.Stop()
	return nil, fmt.Errorf("the pptpd VM did not come up (accel %s):\n%s", tp.img.accel, m.log())
}

// Log returns the server VM's console: pptpd's and its pppd's syslog.
func (s *PPTPD) Log() string { return s.vm.log() }

// Stop powers the server VM off.
func (s *PPTPD) Stop() { s.vm.stop() }
