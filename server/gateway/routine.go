package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"syscall"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"golang.org/x/sys/unix"
)

// ipProtoGRE is IP protocol 47.
const ipProtoGRE = 47

// greSocket is the raw IPPROTO_GRE socket: reads return whole IPv4
// datagrams, writes get their IPv4 header from the kernel.
type greSocket struct {
	f  *os.File
	rc syscall.RawConn
	// rcvbuf and sndbuf are the buffer sizes the kernel granted.
	rcvbuf, sndbuf int
}

// GRESocketBuffer is the receive buffer the GRE socket asks for. Every client's packets, data and set-up alike, arrive on this one
// socket, and the kernel drops what does not fit while the reader is
// busy: with the default (net.core.rmem_default, about 208 KiB, some 150
// full-size packets) a burst of set-ups or a traffic peak lost packets,
// and each lost set-up packet cost its session a retransmission of 1 or
// 3 s (docs/performance.md). As root the gateway sets it with
// SO_RCVBUFFORCE, past net.core.rmem_max; otherwise the kernel caps it at
// rmem_max. The send buffer stays the kernel's default, so that a peer
// slower than the gateway pushes back on the senders as before.
const GRESocketBuffer = 8 << 20

// openGRE opens the raw GRE socket bound to local, non-blocking and
// registered with the runtime poller so that close ends a pending read.
func openGRE(local netip.Addr) (*greSocket, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_GRE)
	if err != nil {
		return nil, fmt.Errorf("gateway: gre socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.As4()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("gateway: gre bind %s: %w", local, err)
	}
	rcv := setBuffer(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, GRESocketBuffer)
	snd, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	s := &greSocket{f: os.NewFile(uintptr(fd), "gre"), rcvbuf: rcv, sndbuf: snd}
	if s.rc, err = s.f.SyscallConn(); err != nil {
		s.f.Close()
		return nil, fmt.Errorf("gateway: gre socket: %w", err)
	}
	return s, nil
}

// setBuffer asks for a socket buffer of size octets, with force (which
// needs CAP_NET_ADMIN and passes the sysctl cap) and else with plain, and
// returns what the kernel granted (it doubles the request for its own
// bookkeeping; getsockopt reports that).
func setBuffer(fd, force, plain, size int) int {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size)
	}
	got, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, plain)
	return got
}

func (s *greSocket) read(b []byte) (int, error) { return s.f.Read(b) }

// greSender sends one packet through a greSocket. Each call owns one, built
// once, so that sending allocates nothing: the function handed to
// RawConn.Write is a method value made at newCall, not a closure per packet.
type greSender struct {
	sock *greSocket
	to   unix.SockaddrInet4
	b    []byte
	err  error
	fn   func(fd uintptr) bool
}

func (s *greSender) init(sock *greSocket, to netip.Addr) {
	s.sock, s.to.Addr = sock, to.As4()
	s.fn = s.write
}

func (s *greSender) write(fd uintptr) bool {
	s.err = unix.Sendto(int(fd), s.b, 0, &s.to)
	return s.err != unix.EAGAIN
}

// send writes b to the peer; the caller serializes sends.
func (s *greSender) send(b []byte) error {
	s.b = b
	err := s.sock.rc.Write(s.fn)
	s.b = nil
	if err != nil {
		return err
	}
	return s.err
}

func (s *greSocket) close() error { return s.f.Close() }

// parseIPv4 returns the source address and the payload of an IPv4 datagram
// carrying GRE, checking every length before it is used.
func parseIPv4(b []byte) (src netip.Addr, payload []byte, ok bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return netip.Addr{}, nil, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl || b[9] != ipProtoGRE {
		return netip.Addr{}, nil, false
	}
	total := int(b[2])<<8 | int(b[3])
	if total >= ihl && total < len(b) {
		b = b[:total]
	}
	return netip.AddrFrom4([4]byte(b[12:16])), b[ihl:], true
}

// RoutineReadGRE reads the GRE socket until it is closed and passes each
// data packet to its call's session (steps 1-3 of the pipeline).
func (g *Gateway) RoutineReadGRE() {
	defer g.wg.Done()
	g.log.Debug("routine read gre started")
	defer g.log.Debug("routine read gre stopped")
	buf := make([]byte, 1<<16)
	for {
		n, err := g.gre.read(buf)
		if errors.Is(err, io.EOF) { // os.File's word for an empty datagram
			g.stats.greMalformed.Add(1)
			continue
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				g.log.Warn("gre read", slog.Any("error", err))
			}
			return
		}
		g.stats.greReceived.Add(1)
		g.stats.greBytes.Add(uint64(n))
		g.receiveGRE(buf[:n])
	}
}

// receiveGRE handles one IPv4 datagram from the GRE socket.
func (g *Gateway) receiveGRE(b []byte) {
	src, pkt, ok := parseIPv4(b)
	if !ok {
		g.stats.greMalformed.Add(1)
		return
	}
	h, payload, err := gre.Parse(pkt)
	if err != nil {
		g.stats.greMalformed.Add(1)
		if g.log.Enabled(context.Background(), slog.LevelDebug) {
			g.log.Debug("gre packet dropped", slog.String("source", src.String()), slog.Any("error", err))
		}
		return
	}
	c := g.lookupID(h.CallID)
	if c == nil {
		g.stats.greUnknownCall.Add(1)
		return
	}
	if src != c.ctl.Peer {
		g.stats.greWrongSource.Add(1)
		return
	}
	if !c.greSeen.Load() {
		c.greSeen.Store(true)
	}
	if h.AcknowledgmentPresent {
		c.acked(h.AcknowledgmentNumber)
	}
	if !h.SequencePresent {
		return
	}
	v, _ := c.rx.window.Admit(h.SequenceNumber)
	if !v.Deliver() {
		g.stats.greOld.Add(1)
		return
	}
	c.delivered(h.SequenceNumber)
	c.s.ReceivePPP(payload)
}

// RoutineReadTUN reads IPv4 packets from the TUN until it is closed and
// gives each to the session holding its destination address (step 5).
func (g *Gateway) RoutineReadTUN() {
	defer g.wg.Done()
	g.log.Debug("routine read tun started")
	defer g.log.Debug("routine read tun stopped")
	buf := make([]byte, max(g.mtu, 1500)+64)
	for {
		n, err := g.cfg.TUN.Read(buf)
		if err != nil {
			g.log.Debug("tun read", slog.Any("error", err))
			return
		}
		g.stats.tunReceived.Add(1)
		g.stats.tunBytes.Add(uint64(n))
		g.receiveTUN(buf[:n])
	}
}

// receiveTUN handles one packet from the TUN.
func (g *Gateway) receiveTUN(ip []byte) {
	if len(ip) > 0 && ip[0]>>4 != 4 {
		g.stats.tunNotIPv4.Add(1)
		return
	}
	if len(ip) < 20 {
		g.stats.tunMalformed.Add(1)
		return
	}
	c := g.lookupAddr(netip.AddrFrom4([4]byte(ip[16:20])))
	if c == nil {
		g.stats.tunNoSession.Add(1)
		return
	}
	c.s.SendIP(ip)
}
