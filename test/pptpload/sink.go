package pptpload

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Sink is the UDP end of the traffic on the server's side: for
// direction up it counts the datagrams the sessions send through the
// tunnel; for down it is where the datagrams to the sessions come from.
// It runs in the load tool's process, on the gateway's host, bound to
// the gateway's tunnel address (or, in tun-echo mode, to the test TUN
// device's address).
type Sink struct {
	conn     *net.UDPConn
	Received atomic.Uint64
	// ReceivedBy counts the datagrams by the first octet of their
	// payload: a storm's window (see StormReport).
	ReceivedBy [windows]atomic.Uint64
	stopped    atomic.Bool
	wg         sync.WaitGroup
}

// ListenSink binds the sink to addr and starts counting.
func ListenSink(addr netip.AddrPort) (*Sink, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("pptpload: UDP sink on %v: %w", addr, err)
	}
	// As root, past net.core.rmem_max: the sink must not be where
	// packets are lost.
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer)
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer)
		})
	}
	_ = c.SetWriteBuffer(socketBuffer) // without root, as much as the kernel allows
	s := &Sink{conn: c}
	s.wg.Add(1)
	go s.RoutineReceive()
	return s, nil
}

// RoutineReceive counts datagrams until Close.
func (s *Sink) RoutineReceive() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for !s.stopped.Load() {
		_ = s.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := s.conn.ReadFromUDPAddrPort(buf); err == nil {
			s.Received.Add(1)
			if n > 0 && int(buf[0]) < len(s.ReceivedBy) {
				s.ReceivedBy[buf[0]].Add(1)
			}
		}
	}
}

// Send sends one datagram of payload to to; false when the kernel
// refused it.
func (s *Sink) Send(payload []byte, to netip.AddrPort) bool {
	_, err := s.conn.WriteToUDPAddrPort(payload, to)
	return err == nil
}

// Close stops the sink.
func (s *Sink) Close() {
	s.stopped.Store(true)
	s.wg.Wait()
	s.conn.Close()
}
