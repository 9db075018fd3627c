// Package gre implements the enhanced GRE header that carries PPP frames
// of PPTP calls (RFC 2637 section 4), and the receive-side bookkeeping of
// sequence and acknowledgment numbers.
//
// # The header
//
// A PPTP data packet is an IP packet of protocol 47 whose payload is the
// header of section 4.1 followed by one PPP frame (without HDLC framing,
// section 4). Parse decodes it; Header.Append and AppendPacket encode it.
// Both are pure: no logging, no sockets, and no allocation (Parse returns
// the payload as a sub-slice of its input, and its errors are values made
// once), so the receive loop can call them for every packet.
//
//	h, payload, err := gre.Parse(ipPayload)
//	if err != nil {
//		// count it by err.(gre.ParseError).Code, rate-limit a log line
//	}
//	// demultiplex on h.CallID, then gre.Window and gre.AckTracker
//
// Parse enforces section 4.1 strictly, because a packet that breaks it is
// not from a PPTP peer: version 1, protocol type 0x880B, K set, and C, R,
// s, Recur and the reserved Flags all zero. It also requires the S bit on
// every packet that carries payload (section 4.1: S is set "if a payload
// (data) packet is present"). Octets after Payload Length are ignored, as
// the Linux pptp driver ignores them; Payload Length beyond the packet is
// an error. When S is clear and A is set the acknowledgment number sits
// directly after the key, where the sequence number would be.
//
// # Sequence numbers
//
// Sequence numbers count a sender's data packets per call and wrap at
// 2^32; SeqLess compares them in serial-number arithmetic (RFC 1982).
//
// Window decides, for each received data packet, whether PPP gets it
// (section 4.4: the receiver must tolerate loss). The decision, and why:
//
//   - the next number, or a number ahead by at most MaxGap: deliver; the
//     numbers skipped are counted as lost;
//   - a number not after the last one delivered (duplicate or late):
//     drop. Late packets are never delivered out of order. The Linux
//     kernel's pptp driver does the same; MPPE above us cannot use a late
//     packet (stateful MPPE decrypts in order only, and stateless MPPE
//     discards a coherency count that went backwards, as Linux's ppp_mppe
//     does), and PPP tolerates loss by design;
//   - a number further ahead than MaxGap: dropped once and remembered; a
//     second packet within MaxGap after it confirms that the peer really
//     moved on (a long outage) and the Window resynchronises there. One
//     corrupt or forged number therefore cannot make the Window discard
//     the genuine packets that follow as old.
//
// The Linux kernel still passes old LCP Echo-Request and Echo-Reply
// frames up, so that keep-alives survive reordering; the session loop may
// do the same by looking at the payload of an Old packet. This package
// does not look into payloads.
//
// # Acknowledgments
//
// AckTracker remembers the highest sequence number delivered and whether
// the peer has been told (section 4.2). The session loop piggy-backs the
// acknowledgment on its next data packet (AckTracker.Piggyback) or, when
// it has nothing to send for a short while, sends an acknowledgment-only
// packet (S clear, A set, no payload). The sliding window of section 4.2
// that paces the sender by the peer's Packet Recv. Window Size is not
// implemented: Windows does not implement it either ([MS-PTPT] ignores
// the field) and Linux clients do not depend on it.
package gre
