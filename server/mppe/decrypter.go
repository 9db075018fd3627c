package mppe

import (
	"errors"
	"fmt"
)

// Decrypt turns one MPPE packet back into one PPP datagram:
//
//  1. Check the header: long enough, D (encrypted) set, A (FLUSHED) set in
//     stateless mode, and the coherency count 1 to Window ahead of the
//     last packet's. A packet that fails leaves the state untouched.
//  2. Catch up with the sender's key: in stateless mode, one key change
//     per count the packet is ahead (RFC 3078 section 8.1); in stateful
//     mode, one per flag packet passed, this one included (sections 7.2
//     and 8.2).
//  3. Stateful only: a FLUSHED packet changes the session key (once; a
//     flag packet's own change counts) and ends any wait for one; a packet
//     that is not flushed must follow the last one directly, or the
//     packets in between are lost, the RC4 tables are out of step, and the
//     Decrypter waits for a flushed packet (section 8.2, as Linux's
//     ppp_mppe reads it: see the package documentation).
//  4. Decrypt the protocol field and the information with RC4.

// Errors of Decrypt. Each one means the packet is dropped. They are
// sentinels, compared with errors.Is or ==, and carry no per-packet detail
// so that refusing a packet allocates nothing; [ParseHeader] of the packet
// gives its bits and count for a log line.
var (
	// ErrShort: the packet has no room for the header and at least one
	// octet of the protocol field.
	ErrShort = errors.New("mppe: packet too short")
	// ErrNotEncrypted: bit D is clear. Once MPPE is negotiated every
	// packet must be encrypted; RFC 3078 section 9 notes that an
	// attacker can clear the bit to deny service.
	ErrNotEncrypted = errors.New("mppe: encrypted bit (D) clear")
	// ErrNotFlushed: in stateless mode, bit A is clear; RFC 3078 section
	// 3.1 says it MUST be set on every packet.
	ErrNotFlushed = errors.New("mppe: stateless packet without the FLUSHED bit (A)")
	// ErrLate: the coherency count is not 1 to Window ahead of the last
	// packet's: a late (reordered) packet, a duplicate, or one after a
	// gap too long to tell from those. Decrypting it would take the
	// wrong key, so it is dropped and the state is left as it was.
	ErrLate = errors.New("mppe: coherency count behind the last packet's: late or duplicate packet")
	// ErrNeedReset: stateful mode only. Packets were lost, so the RC4
	// tables are out of step with the sender's until a packet with the
	// FLUSHED bit arrives. The session should send a CCP Reset-Request
	// (RFC 3078 section 8.2); the peer's encrypter then flushes (see
	// [Encrypter.ResetRequest]). Every packet dropped while waiting
	// returns ErrNeedReset again, as RFC 1962 section 3.1 has CCP repeat
	// the Reset-Request, with the same Identifier, for each compressed
	// packet it discards until the Reset-Ack arrives.
	ErrNeedReset = errors.New("mppe: packets lost in stateful mode: send a CCP Reset-Request")
)

// A Decrypter decrypts the packets of one direction of an MPPE session:
// on the server, the packets it receives, with the MPPE receive key.
//
// A Decrypter must not be used concurrently.
type Decrypter struct {
	keys      keys
	stateless bool
	cc        uint16 // coherency count of the last packet accepted or, stateful, seen
	// waiting: stateful only, packets were lost and only a FLUSHED
	// packet can be decrypted (RFC 3078 section 8.2: "silently discard
	// all packets until a packet is received with the FLUSHED bit set").
	waiting bool
}

// NewDecrypter returns the Decrypter of one direction. startKey is the
// direction's MPPE master key (RFC 3079 section 3.4): on the server, the
// master receive key, MS-MPPE-Recv-Key of the policy engine's result; for
// 40- and 56-bit keys only its first 8 octets count. bits and stateless
// are as negotiated, as for [NewEncrypter].
func NewDecrypter(startKey [16]byte, bits int, stateless bool) (*Decrypter, error) {
	d := &Decrypter{stateless: stateless, cc: CoherencyCountSpace - 1}
	if err := d.keys.init(startKey, bits); err != nil {
		return nil, err
	}
	return d, nil
}

// Decrypt decrypts packet, an MPPE packet (the information field of a PPP
// frame with protocol [Protocol]), appends the datagram (the protocol
// field, then the information) to dst and returns the extended slice.
//
// On an error, Decrypt returns dst unchanged and the packet must be
// dropped; see the Err variables. MPPE has no integrity check: a packet
// that passes has the right header, not necessarily the right content.
//
// Decrypt allocates only when dst has less than len(packet)-HeaderLen
// octets of spare capacity. To decrypt in place, pass packet[:0] as dst
// (the datagram moves to the front of packet); otherwise the output must
// not overlap packet, except by starting before its encrypted part.
// Decrypt panics on any other overlap.
func (d *Decrypter) Decrypt(dst, packet []byte) ([]byte, error) {
	// 1. Check the header.
	if len(packet) < HeaderLen+1 {
		return dst, ErrShort
	}
	h, _ := ParseHeader(packet)
	switch {
	case !h.Encrypted():
		return dst, ErrNotEncrypted
	case d.stateless && !h.Flushed():
		return dst, ErrNotFlushed
	}
	cc := h.CoherencyCount()
	delta := (cc - d.cc) & coherencyMask
	if delta == 0 || delta > Window {
		return dst, ErrLate
	}
	ciphertext := packet[HeaderLen:]
	if n := len(dst) + len(ciphertext); cap(dst) >= n && clobbers(dst[len(dst):n], dst[len(dst):n], ciphertext) {
		panic("mppe: Decrypt: invalid buffer overlap")
	}

	if d.stateless {
		// 2. Catch up: N = C1 - C2 key changes.
		for range delta {
			d.keys.change()
		}
	} else {
		// 2. Catch up: a key change per flag packet, seen or lost.
		changes := flagPackets(d.cc, delta)
		for range changes {
			d.keys.change()
		}
		// 3. Flushed, in step, or waiting. The count follows the
		// sender even while waiting, so that a slow Reset-Request
		// cannot push the flushed packet out of the Window.
		switch {
		case h.Flushed():
			if !isFlagPacket(cc) {
				d.keys.change() // a flag packet's change is its flush
			}
			d.waiting = false
		case d.waiting || delta != 1:
			d.cc = cc
			d.waiting = true
			return dst, ErrNeedReset
		}
	}
	d.cc = cc

	// 4. Decrypt.
	out, datagram := grow(dst, len(ciphertext))
	d.keys.rc4.xorKeyStream(datagram, ciphertext)
	return out, nil
}

// String describes the Decrypter without its keys. Like Decrypt, it must
// not be called concurrently.
func (d *Decrypter) String() string {
	return fmt.Sprintf("mppe.Decrypter{%d-bit %s, count %d, keys REDACTED}", d.keys.bits, mode(d.stateless), d.cc)
}

// MarshalText is String, for log handlers and encoders.
func (d *Decrypter) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// GoString is String, so that %#v redacts too.
func (d *Decrypter) GoString() string { return d.String() }
