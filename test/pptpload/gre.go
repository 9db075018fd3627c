package pptpload

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"golang.org/x/sys/unix"
)

// GRESocket is the raw IPPROTO_GRE socket of one source address,
// connected to the server, shared by every session from that address.
// Its reader goroutine hands each packet to the session whose Call ID it
// carries: the client's Call IDs are unique per source address, since
// the server's GRE packets name the call by the client's Call ID alone.
type GRESocket struct {
	Local, Server netip.Addr

	fd       int
	sessions [1 << 16]atomic.Pointer[Session]
	nextID   atomic.Uint32
	stopped  atomic.Bool
	wg       sync.WaitGroup

	// Counters: packets that were not GRE of a known call.
	BadPackets, UnknownCall, SendErrors atomic.Uint64
}

// socketBuffer is the receive and send buffer asked of the kernel, so
// that a burst of 1400-byte packets is not dropped before the reader
// runs.
const socketBuffer = 8 << 20

// OpenGRE opens the raw GRE socket of local, bound to it and connected to
// server (so it reads only the server's packets), and starts its reader.
// It needs CAP_NET_RAW.
func OpenGRE(local, server netip.Addr) (*GRESocket, error) {
	if !local.Is4() || !server.Is4() {
		return nil, errors.New("pptpload: GRE: IPv4 addresses only")
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_GRE)
	if err != nil {
		return nil, fmt.Errorf("pptpload: raw GRE socket (needs root or CAP_NET_RAW): %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.As4()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pptpload: bind raw GRE socket to %v: %w", local, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: server.As4()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pptpload: connect raw GRE socket to %v: %w", server, err)
	}
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], socketBuffer) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], socketBuffer)
		}
	}
	tv := unix.Timeval{Usec: 200000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pptpload: GRE receive timeout: %w", err)
	}
	g := &GRESocket{Local: local, Server: server, fd: fd}
	// Start the Call IDs at a random place, as a client process does: a
	// previous run's calls may still be closing on the server (LCP
	// Terminate-Requests for 6 s), and their packets must not reach this
	// run's sessions.
	var b [2]byte
	_, _ = rand.Read(b[:])
	g.nextID.Store(uint32(b[0])<<8 | uint32(b[1]))
	g.wg.Add(1)
	go g.RoutineRead()
	return g, nil
}

// register gives s a free client Call ID of this source and makes the
// reader hand it its packets.
func (g *GRESocket) register(o SessionOptions) (*Session, error) {
	for range 1 << 16 {
		id := uint16(g.nextID.Add(1))
		if id == 0 {
			continue
		}
		s := newSession(g, id, o)
		if g.sessions[id].CompareAndSwap(nil, s) {
			return s, nil
		}
	}
	return nil, errors.New(ReasonNoCallID)
}

func (g *GRESocket) unregister(s *Session) { g.sessions[s.CallID].CompareAndSwap(s, nil) }

// RoutineRead reads the server's GRE packets until Close and hands each
// to its session. The buffer is the reader's own: a session decrypts in
// place and keeps nothing of it.
func (g *GRESocket) RoutineRead() {
	defer g.wg.Done()
	buf := make([]byte, 65536)
	for !g.stopped.Load() {
		n, err := unix.Read(g.fd, buf)
		if err != nil {
			continue // the receive timeout, to look at stopped
		}
		pkt, ok := ipv4Payload(buf[:n], unix.IPPROTO_GRE)
		if !ok {
			g.BadPackets.Add(1)
			continue
		}
		h, payload, err := gre.Parse(pkt)
		if err != nil {
			g.BadPackets.Add(1)
			continue
		}
		s := g.sessions[h.CallID].Load()
		if s == nil {
			g.UnknownCall.Add(1)
			continue
		}
		if h.SequencePresent {
			s.receive(h, payload)
		}
	}
}

// send writes one GRE packet (the kernel adds the IPv4 header).
func (g *GRESocket) send(b []byte) error {
	_, err := unix.Write(g.fd, b)
	if err != nil {
		g.SendErrors.Add(1)
	}
	return err
}

// Close stops the reader and closes the socket.
func (g *GRESocket) Close() error {
	g.stopped.Store(true)
	g.wg.Wait()
	return unix.Close(g.fd)
}

// ipv4Payload returns the payload of an IPv4 datagram of protocol proto.
func ipv4Payload(b []byte, proto byte) ([]byte, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl || b[9] != proto {
		return nil, false
	}
	if total := int(b[2])<<8 | int(b[3]); total >= ihl && total < len(b) {
		b = b[:total]
	}
	return b[ihl:], true
}
