package mppe

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Encrypt turns one PPP datagram into one MPPE packet:
//
//  1. Count: the coherency count goes up by one, from 4095 back to 0
//     (RFC 3078 section 3.1).
//  2. Key: in stateless mode, change the key before every packet (section
//     7.1); in stateful mode, before every "flag" packet, whose count ends
//     in 0xFF (section 7.2); in stateful mode after a CCP Reset-Request,
//     re-initialise the RC4 tables with the current session key (section
//     8.2). Each of these sets the FLUSHED bit.
//  3. Header: A (FLUSHED) as above, D (encrypted) always, B and C never,
//     then the count.
//  4. Encrypt the protocol field and the information with RC4 (section 6).

// An Encrypter encrypts the packets of one direction of an MPPE session:
// on the server, the packets it sends, with the MPPE send key.
//
// Encrypt must not be called concurrently; ResetRequest may be called
// from another goroutine at any time.
type Encrypter struct {
	// resetRequested is set by ResetRequest, on the CCP side, and
	// consumed by Encrypt, on the data path.
	resetRequested atomic.Bool

	keys      keys
	stateless bool
	cc        uint16 // coherency count of the last packet sent
}

// NewEncrypter returns the Encrypter of one direction. startKey is the
// direction's MPPE master key (RFC 3079 section 3.4): on the server, the
// master send key, MS-MPPE-Send-Key of the policy engine's result; for 40-
// and 56-bit keys only its first 8 octets count. bits is the negotiated
// key strength (40, 56 or 128), stateless the negotiated H bit (RFC 3078
// section 2).
//
// The first session key is derived from startKey as RFC 3079 section 3
// describes ([mschapv2.InitialSessionKey]). NewEncrypter fails for other
// key strengths and in FIPS 140-only mode, where RC4 is not allowed.
func NewEncrypter(startKey [16]byte, bits int, stateless bool) (*Encrypter, error) {
	e := &Encrypter{stateless: stateless, cc: CoherencyCountSpace - 1}
	if err := e.keys.init(startKey, bits); err != nil {
		return nil, err
	}
	return e, nil
}

// Encrypt appends the MPPE packet of plaintext to dst and returns the
// extended slice: the 2-octet header, then plaintext encrypted. plaintext
// is the PPP protocol field (0x0021 to 0x00FA: RFC 3078 section 3 encrypts
// no others) followed by the information field; it must not be empty, and
// Encrypt panics if it is. The PPP layer sends the result as the
// information of a frame with protocol [Protocol].
//
// Encrypt allocates only when dst has less than HeaderLen+len(plaintext)
// octets of spare capacity. To encrypt in place, leave HeaderLen octets of
// room in front of the datagram:
//
//	buf := make([]byte, mppe.HeaderLen+len(datagram), mppe.HeaderLen+mtu)
//	copy(buf[mppe.HeaderLen:], datagram)
//	packet := enc.Encrypt(buf[:0], buf[mppe.HeaderLen:])
//
// Otherwise the output must not overlap plaintext, except by starting
// before it; Encrypt panics on any other overlap.
func (e *Encrypter) Encrypt(dst, plaintext []byte) []byte {
	if len(plaintext) == 0 {
		panic("mppe: Encrypt of an empty datagram; it starts with the PPP protocol field")
	}
	out, packet := grow(dst, HeaderLen+len(plaintext))
	if clobbers(packet, packet[HeaderLen:], plaintext) {
		panic("mppe: Encrypt: invalid buffer overlap")
	}

	// 1. Count.
	e.cc = (e.cc + 1) & coherencyMask
	h := FlagEncrypted | Header(e.cc)

	// 2. Key.
	switch {
	case e.stateless:
		e.keys.change()
		h |= FlagFlushed
	case isFlagPacket(e.cc):
		// The key change initialises the tables, which is all a
		// pending Reset-Request asks for.
		e.keys.change()
		h |= FlagFlushed
		e.resetRequested.Store(false)
	case e.resetRequested.Load() && e.resetRequested.Swap(false):
		e.keys.change()
		h |= FlagFlushed
	}

	// 3. Header.
	binary.BigEndian.PutUint16(packet, uint16(h))

	// 4. Encrypt.
	e.keys.rc4.xorKeyStream(packet[HeaderLen:], plaintext)
	return out
}

// ResetRequest tells the Encrypter that the peer sent a CCP Reset-Request
// (RFC 1962 section 3.1): in stateful mode, the next packet changes the
// session key, re-initialises the RC4 tables with it and carries the
// FLUSHED bit, so that the peer's decrypter, which has lost packets, can
// catch up. This is what Linux's ppp_mppe does and expects (see the
// package documentation). In stateless mode every packet is flushed and
// ResetRequest does nothing. The CCP layer still answers with a Reset-Ack.
//
// ResetRequest may be called concurrently with Encrypt.
func (e *Encrypter) ResetRequest() {
	if !e.stateless {
		e.resetRequested.Store(true)
	}
}

// String describes the Encrypter without its keys. Call it from the
// goroutine that encrypts, or while none does.
func (e *Encrypter) String() string {
	return fmt.Sprintf("mppe.Encrypter{%d-bit %s, count %d, keys REDACTED}", e.keys.bits, mode(e.stateless), e.cc)
}

// MarshalText is String, so that log handlers and encoders (log/slog's
// text and JSON handlers among them) print the redacted form; from the
// goroutine that encrypts, as String.
func (e *Encrypter) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// GoString is String, so that %#v redacts too.
func (e *Encrypter) GoString() string { return e.String() }

func mode(stateless bool) string {
	if stateless {
		return "stateless"
	}
	return "stateful"
}
