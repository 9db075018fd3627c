// Package tun is the gateway's one TUN device: every session's IP packets
// leave and enter the kernel through it, and the kernel routes the tunnel
// pool to it.
//
// Open creates the device with golang.org/x/sys/unix (IFF_TUN|IFF_NO_PI:
// raw IPv4 packets, no packet-information prefix); Configure gives it the
// gateway's PPP address, an MTU, brings it up and routes the pool to it,
// over rtnetlink, so nothing but the kernel is needed. IP forwarding is
// switched on with EnableForwarding, proxy ARP for a pool inside a LAN
// subnet with EnableProxyARP.
//
// The data plane depends on the small [Device] interface, not on this
// package's File, so it can be tested with a channel-backed fake.
package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device is a TUN device: each Read returns one IPv4 packet, each Write
// sends one.
type Device interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Name() string
	Close() error
}

// File is a Linux TUN device.
type File struct {
	f     *os.File
	name  string
	index int
}

var _ Device = (*File)(nil)

// Open creates (or attaches to) the TUN device name; "" lets the kernel
// pick one ("tun0", ...).
func Open(name string) (*File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tun: open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: interface name %q: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: create %q: %w", name, err)
	}
	t := &File{f: os.NewFile(uintptr(fd), "/dev/net/tun"), name: ifr.Name()}
	idx, err := ifIndex(t.name)
	if err != nil {
		t.f.Close()
		return nil, err
	}
	t.index = idx
	return t, nil
}

func ifIndex(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("tun: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("tun: index of %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

// Name is the interface name.
func (t *File) Name() string { return t.name }

// Index is the interface index.
func (t *File) Index() int { return t.index }

// Read reads one packet; it blocks (in the runtime poller) until one comes.
func (t *File) Read(p []byte) (int, error) { return t.f.Read(p) }

// Write sends one packet.
func (t *File) Write(p []byte) (int, error) { return t.f.Write(p) }

// Close removes the device (it is not persistent).
func (t *File) Close() error { return t.f.Close() }

// Configure sets the MTU, gives the device the gateway's address local,
// brings it up and routes the pool's prefixes to it.
func (t *File) Configure(local netip.Addr, mtu int, pool ...netip.Prefix) error {
	if !local.Is4() {
		return errors.New("tun: IPv4 only")
	}
	for _, p := range pool {
		if !p.Addr().Is4() {
			return errors.New("tun: IPv4 only")
		}
	}
	if err := setMTU(t.name, mtu); err != nil {
		return err
	}
	if err := setTxQueueLen(t.name, TxQueueLen); err != nil {
		return err
	}
	if err := t.addAddress(local); err != nil {
		return err
	}
	if err := disableIPv6(t.name); err != nil {
		return err
	}
	if err := setUp(t.name); err != nil {
		return err
	}
	for _, p := range pool {
		if err := t.addRoute(p); err != nil {
			return err
		}
	}
	return nil
}

func setMTU(name string, mtu int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tun: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, _ := unix.NewIfreq(name)
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("tun: MTU %d on %s: %w", mtu, name, err)
	}
	return nil
}

// TxQueueLen is the device's transmit queue: the packets the kernel
// routes to the clients, waiting for the gateway to read them. The
// kernel's default for a TUN device, 500, overflowed under a traffic
// peak while the one reader was busy (docs/performance.md).
const TxQueueLen = 4096

func setTxQueueLen(name string, n int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tun: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, _ := unix.NewIfreq(name)
	ifr.SetUint32(uint32(n))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFTXQLEN, ifr); err != nil {
		return fmt.Errorf("tun: transmit queue of %d on %s: %w", n, name, err)
	}
	return nil
}

func setUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tun: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, _ := unix.NewIfreq(name)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tun: flags of %s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tun: bring %s up: %w", name, err)
	}
	return nil
}

// addAddress adds local/32 to the device (RTM_NEWADDR).
func (t *File) addAddress(local netip.Addr) error {
	msg := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: 32, Scope: unix.RT_SCOPE_UNIVERSE, Index: uint32(t.index)}
	a := local.As4()
	body := append(structBytes(unsafe.Pointer(&msg), unix.SizeofIfAddrmsg),
		rtattr(unix.IFA_LOCAL, a[:])...)
	body = append(body, rtattr(unix.IFA_ADDRESS, a[:])...)
	if err := netlinkRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, body); err != nil {
		return fmt.Errorf("tun: address %s on %s: %w", local, t.name, err)
	}
	return nil
}

// addRoute routes pool to the device (RTM_NEWROUTE).
func (t *File) addRoute(pool netip.Prefix) error {
	msg := unix.RtMsg{Family: unix.AF_INET, Dst_len: uint8(pool.Bits()), Table: unix.RT_TABLE_MAIN,
		Protocol: unix.RTPROT_STATIC, Scope: unix.RT_SCOPE_LINK, Type: unix.RTN_UNICAST}
	dst := pool.Masked().Addr().As4()
	oif := make([]byte, 4)
	binary.NativeEndian.PutUint32(oif, uint32(t.index))
	body := append(structBytes(unsafe.Pointer(&msg), unix.SizeofRtMsg), rtattr(unix.RTA_DST, dst[:])...)
	body = append(body, rtattr(unix.RTA_OIF, oif)...)
	if err := netlinkRequest(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, body); err != nil {
		return fmt.Errorf("tun: route %s via %s: %w", pool, t.name, err)
	}
	return nil
}

// EnableProxyARP makes the kernel answer ARP for the pool first..last on
// every interface with an IPv4 subnet that holds the whole pool, so hosts
// on that LAN reach the clients without a route to the gateway (the
// kernel's proxy_arp answers for addresses it routes through another
// interface: the TUN). It returns the interfaces, or an error when none
// holds the pool.
func EnableProxyARP(first, last netip.Addr) ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("tun: proxy ARP: %w", err)
	}
	var names []string
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			p, ok := netipPrefix(ipn)
			if !ok || !p.Addr().Is4() || !p.Contains(first) || !p.Contains(last) {
				continue
			}
			path := "/proc/sys/net/ipv4/conf/" + ifc.Name + "/proxy_arp"
			if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
				return names, fmt.Errorf("tun: proxy ARP on %s: %w", ifc.Name, err)
			}
			names = append(names, ifc.Name)
			break
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("tun: proxy ARP: no interface has a subnet holding the pool %s-%s", first, last)
	}
	return names, nil
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// disableIPv6 keeps the kernel from putting IPv6 on the device: the
// gateway carries IPv4 only, and without this the kernel sends its own
// router solicitations and MLD reports into the TUN as soon as it is up,
// which the gateway would read and drop. A kernel without IPv6 has no
// such file, and nothing to disable.
func disableIPv6(name string) error {
	err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1\n"), 0o644)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tun: disable IPv6 on %s: %w", name, err)
	}
	return nil
}

// EnableForwarding switches on IPv4 forwarding in this network namespace.
func EnableForwarding() error {
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("tun: enable IPv4 forwarding: %w", err)
	}
	return nil
}

func structBytes(p unsafe.Pointer, n int) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(p), n)...)
}

func rtattr(typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b := make([]byte, (l+3)&^3)
	binary.NativeEndian.PutUint16(b[0:], uint16(l))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[unix.SizeofRtAttr:], data)
	return b
}

// netlinkRequest sends one rtnetlink request and waits for its
// acknowledgement.
func netlinkRequest(typ uint16, flags uint16, body []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	// The answer is one nlmsghdr of type NLMSG_ERROR whose first four
	// bytes of payload are 0 (success) or a negative errno.
	if n < unix.SizeofNlMsghdr+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return errors.New("no acknowledgement from the kernel")
	}
	if code := int32(binary.NativeEndian.Uint32(buf[unix.SizeofNlMsghdr:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}
