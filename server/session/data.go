package session

import (
	"errors"

	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// The data path, on the callers' goroutines under s.data's mutex:
//
//  1. ReceivePPP parses the frame. Control protocols are copied into a
//     pooled buffer and queued for RoutineSession (dropped when full).
//  2. 0x00FD: Decrypt in place, in the caller's frame; the inner
//     protocol must be IP; deliver. ErrNeedReset asks RoutineSession for
//     a Reset-Request.
//  3. 0x0021 in the clear: refused when MPPE is required or on.
//  4. SendIP writes frame header, protocol 0x0021 and the packet into a
//     pooled buffer (txPool), encrypts in place, and hands the frame to
//     the Link; in the clear when MPPE is neither required nor
//     negotiated.

// ReceivePPP takes one GRE payload (a PPP frame) from the GRE reader.
// It never blocks on the session goroutine and does not retain frame; it
// may overwrite it (an MPPE packet is decrypted in place).
func (s *Session) ReceivePPP(frame []byte) {
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil {
		s.stats.dropProtocol.Add(1)
		return
	}
	switch proto {
	case ppp.ProtoCompressedDatagram:
		if !s.receiveEncrypted(info, false) {
			s.queueControl(frame)
		}
	case ppp.ProtoIP:
		if !s.receivePlain(info, false) {
			s.queueControl(frame)
		}
	default:
		s.queueControl(frame)
	}
}

func (s *Session) queueControl(frame []byte) {
	if len(frame) > MaxFrame {
		s.stats.dropProtocol.Add(1)
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	fb := framePool.Get().(*frameBuf)
	fb.n = copy(fb.b[:], frame)
	select {
	case s.control <- fb:
	default:
		framePool.Put(fb)
		s.stats.dropQueue.Add(1)
	}
}

// receiveEncrypted handles an MPPE packet; it returns false, having done
// nothing, when the data path is not open yet and queue is false, so the
// caller queues the frame behind the control frames: a client may send
// its first packets right after the Configure-Ack that completes CCP or
// IPCP, and the session goroutine has not processed that Ack yet. The
// session goroutine calls it again with queue true.
func (s *Session) receiveEncrypted(packet []byte, queued bool) bool {
	s.data.Lock()
	if !s.data.open || s.data.dec == nil {
		s.data.Unlock()
		if !queued && !s.established() {
			return false
		}
		s.stats.dropNotReady.Add(1)
		return true
	}
	pt, err := s.data.dec.Decrypt(packet[:0], packet)
	if err != nil {
		s.data.Unlock()
		s.stats.dropDecrypt.Add(1)
		if errors.Is(err, mppe.ErrNeedReset) {
			s.askReset()
		}
		return true
	}
	proto, ip, ok := ppp.SplitProtocol(pt)
	if !ok || proto != ppp.ProtoIP {
		stateless := s.data.stateless
		s.data.Unlock()
		s.stats.dropProtocol.Add(1)
		if !stateless && (!ok || proto < 0x0021 || proto > 0x00fa) {
			// A protocol MPPE never carries (RFC 3078 section 3) is the
			// only sign of a keystream out of step.
			s.askReset()
		}
		return true
	}
	s.stats.packetsIn.Add(1)
	s.stats.bytesIn.Add(uint64(len(ip)))
	s.deliver(ip)
	s.data.Unlock()
	return true
}

func (s *Session) askReset() {
	select {
	case s.resetReq <- struct{}{}:
	default:
	}
}

// receivePlain handles IP in the clear; like receiveEncrypted it returns
// false when the frame should wait behind the control frames.
func (s *Session) receivePlain(ip []byte, queued bool) bool {
	s.data.Lock()
	defer s.data.Unlock()
	if s.data.required || s.data.enc != nil {
		s.stats.dropPlainIP.Add(1)
		return true
	}
	if !s.data.open {
		if !queued && !s.established() {
			return false
		}
		s.stats.dropNotReady.Add(1)
		return true
	}
	s.stats.packetsIn.Add(1)
	s.stats.bytesIn.Add(uint64(len(ip)))
	s.deliver(ip)
	return true
}

// SendIP encrypts one IP packet from the TUN and sends it to the peer.
// Before the data phase, or when the packet does not fit, it is dropped
// and counted. ipPacket is not retained.
func (s *Session) SendIP(ipPacket []byte) {
	s.data.Lock()
	defer s.data.Unlock()
	if !s.data.open || (s.data.enc == nil && s.data.required) {
		s.stats.dropNotReady.Add(1)
		return
	}
	tx := txPool.Get().(*txBuf)
	defer txPool.Put(tx)
	if s.data.enc == nil {
		// MPPE not required and not negotiated: IP in the clear.
		if 4+len(ipPacket) > len(tx) {
			s.stats.dropProtocol.Add(1)
			return
		}
		frame := ppp.AppendFrame(tx[:0], ppp.ProtoIP, ipPacket, s.data.acfc, s.data.pfc)
		if err := s.link.SendPPP(frame); err != nil {
			s.stats.dropNotReady.Add(1)
			return
		}
		s.stats.packetsOut.Add(1)
		s.stats.bytesOut.Add(uint64(len(ipPacket)))
		return
	}
	// Frame header, then MPPE header room, then protocol field and packet.
	h := len(ppp.AppendFrame(tx[:0], ppp.ProtoCompressedDatagram, nil, s.data.acfc, s.data.pfc))
	start := h + mppe.HeaderLen
	if start+2+len(ipPacket) > len(tx) {
		s.stats.dropProtocol.Add(1)
		return
	}
	buf := tx[:]
	buf[start], buf[start+1] = 0x00, byte(ppp.ProtoIP)
	n := copy(buf[start+2:], ipPacket)
	pkt := s.data.enc.Encrypt(buf[h:h], buf[start:start+2+n])
	if err := s.link.SendPPP(buf[:h+len(pkt)]); err != nil {
		s.stats.dropNotReady.Add(1)
		return
	}
	s.stats.packetsOut.Add(1)
	s.stats.bytesOut.Add(uint64(n))
}
