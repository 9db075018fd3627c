package pptpload

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-vpn/gatehouse/server/tun"
)

// TUNEcho is the measure of the machine's own plain TUN limit: a TUN
// device whose far end is this process, with no PPTP and no MPPE. For
// direction up the tool writes IPv4/UDP packets into the device (as the
// gateway writes its clients' decrypted packets) and the kernel delivers
// them to the Sink; for down the Sink sends datagrams that the kernel
// routes into the device and the tool reads them back (as the gateway
// reads the packets for its clients). The same Sink, packet size and
// pacing as the PPTP run, so the PPTP figures are a fraction of this one.
type TUNEcho struct {
	dev       *tun.File
	Local     netip.Addr // the device's address: the Sink binds to it
	Peer      netip.Addr // the far end's address, routed into the device
	Received  atomic.Uint64
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// TUNEchoLocal and TUNEchoPeer are the addresses of the tun-echo device,
// from the benchmarking range of RFC 2544 (198.18.0.0/15).
var (
	TUNEchoLocal = netip.MustParseAddr("198.18.0.1")
	TUNEchoPeer  = netip.MustParseAddr("198.18.0.2")
)

// OpenTUNEcho creates the device name (needs CAP_NET_ADMIN) and starts
// reading it.
func OpenTUNEcho(name string) (*TUNEcho, error) {
	dev, err := tun.Open(name)
	if err != nil {
		return nil, fmt.Errorf("pptpload: tun-echo device: %w", err)
	}
	if err := dev.Configure(TUNEchoLocal, 1500, netip.PrefixFrom(TUNEchoPeer, 32)); err != nil {
		dev.Close()
		return nil, fmt.Errorf("pptpload: tun-echo device: %w", err)
	}
	e := &TUNEcho{dev: dev, Local: TUNEchoLocal, Peer: TUNEchoPeer}
	e.wg.Add(1)
	go e.RoutineRead()
	return e, nil
}

// RoutineRead counts the UDP datagrams the kernel routes into the
// device, until Close.
func (e *TUNEcho) RoutineRead() {
	defer e.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := e.dev.Read(buf)
		if err != nil {
			return
		}
		if classify(buf[:n]) == kindUDP {
			e.Received.Add(1)
		}
	}
}

// Write writes one packet into the device, as if it came from Peer.
func (e *TUNEcho) Write(ip []byte) bool {
	_, err := e.dev.Write(ip)
	return err == nil
}

// Close removes the device.
func (e *TUNEcho) Close() {
	e.closeOnce.Do(func() {
		e.dev.Close()
		e.wg.Wait()
	})
}
