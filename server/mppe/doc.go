// Package mppe implements Microsoft Point-to-Point Encryption (RFC 3078),
// keyed as RFC 3079 describes, for the PPTP data path: both directions of
// a session, 40-, 56- and 128-bit keys, stateless and stateful mode. It is
// a pure codec: it holds the keys and the RC4 state of one direction,
// turns datagrams into packets and back, does no I/O, no logging and, in
// steady state, no allocation.
//
// # Where MPPE sits
//
// Once CCP has negotiated MPPE (RFC 3078 section 2, CCP option 18), every
// PPP datagram with a protocol from 0x0021 to 0x00FA travels encrypted in
// a PPP frame of protocol 0x00FD, "compressed datagram" ([Protocol]):
//
//	GRE | PPP protocol 0x00FD | MPPE header | RC4(protocol field + information)
//
// The MPPE header (RFC 3078 section 3.1, [Header]) is two octets: bit A,
// the FLUSHED bit (the sender initialised its RC4 tables before this
// packet); bits B and C, which mean nothing to MPPE; bit D, encrypted;
// and a 12-bit coherency count that goes up by one per packet and wraps
// from 4095 to 0. The encrypted part begins with the datagram's own
// protocol field. MPPE adds the two header octets and nothing else.
//
// [Encrypter.Encrypt] turns a datagram (protocol field and information)
// into an MPPE packet and [Decrypter.Decrypt] turns it back; the PPP layer
// adds and strips the 0x00FD. Each appends to a buffer the caller gives,
// and each works in place:
//
//	packet := enc.Encrypt(buf[:0], buf[mppe.HeaderLen:])   // datagram behind 2 octets of headroom
//	datagram, err := dec.Decrypt(packet[:0], packet)      // datagram moves to the front
//
// # Keys, and which way round
//
// The policy engine's result carries the two MPPE master keys of an
// MS-CHAPv2 login, as [mschapv2.MasterSessionKeys] derives them (RFC 3079
// section 3.4) or as a RADIUS server sends them in MS-MPPE-Send-Key and
// MS-MPPE-Recv-Key (RFC 2548 section 2.4). The server encrypts with its
// send key and decrypts with its receive key; the client does the
// opposite, so each direction has one key that both ends share:
//
//	                   server              client
//	send key (Magic3)  NewEncrypter        NewDecrypter
//	recv key (Magic2)  NewDecrypter        NewEncrypter
//
// Getting this wrong is not an error MPPE can notice: a packet decrypted
// with the wrong key is garbage, returned without complaint (see
// TestKeyOrientation).
//
// The master key of a direction is the StartKey of RFC 3078 section 7.3.
// It never encrypts data itself: NewEncrypter and NewDecrypter derive the
// initial session key from it ([mschapv2.InitialSessionKey]: RFC 3079
// sections 3.1 to 3.3, GetNewKeyFromSHA then the 40- or 56-bit reduction)
// and key RC4 with it (RFC 3078 section 5). For 40- and 56-bit keys only
// the first 8 octets of the start key count. The RFC 3079 section 3.5
// samples run through this package in TestRFC3079SampleMessages: the
// first stateful packet carries exactly the RFC's encrypted "test
// message".
//
// # Key changes
//
// Both modes change keys with the algorithm of RFC 3078 section 7.3: a new
// interim key from GetNewKeyFromSHA(StartKey, SessionKey), RC4-encrypted
// under itself, reduced to 40 or 56 bits ([mschapv2.ReduceKey]), and RC4
// keyed with the result. When they change keys is what tells the modes
// apart (negotiated by the H bit of the CCP option):
//
//   - Stateless: before every packet, the first one included (section
//     7.1), and every packet carries the FLUSHED bit. The receiver makes as
//     many key changes as the count went up (section 8.1), so it survives
//     any loss without help.
//   - Stateful: before every "flag" packet, whose count ends in 0xFF, so
//     every 256 packets (section 7.2). The RC4 keystream runs on from one
//     packet into the next, so a lost packet leaves the receiver out of
//     step: it drops everything and sends a CCP Reset-Request until a
//     packet with the FLUSHED bit arrives (section 8.2).
//
// # Loss, reordering and resets
//
// Decrypt accepts a packet whose count is 1 to [Window] (2048) ahead of
// the last one's. Anything else is behind: a packet that was overtaken, or
// a duplicate. It is refused with [ErrLate] and leaves the Decrypter as it
// was; it is never decrypted with the wrong key. A loss of 2048 packets or
// more in a row cannot be told from that, and a 12-bit count cannot do
// better; half the count space is where Linux's ppp_mppe draws the line
// too.
//
// In stateless mode that is all: up to 2047 packets lost in a row cost one
// key change each and nothing else.
//
// In stateful mode, a packet that does not follow the last one directly
// returns [ErrNeedReset], and so does every packet after it until one
// with the FLUSHED bit arrives. The session then sends a CCP Reset-Request
// (RFC 1962 section 3.1 repeats it for each packet discarded until the
// Reset-Ack); on the other side, CCP calls [Encrypter.ResetRequest], and
// the Encrypter's next packet re-initialises RC4 with the current session
// key and carries the FLUSHED bit. The Decrypter catches up with the key
// changes of any flag packets it missed, re-initialises its own tables,
// and is in step again. A flag packet carries the FLUSHED bit too, so it
// resynchronises without a reset, as does any flushed packet in the
// Window.
//
// # MPPE is weak
//
// MPPE is RC4 without integrity protection. Use it only for clients that
// can do nothing better, and assume an active attacker on the path can:
//
//   - flip any bit of a datagram by flipping the same bit of the packet
//     (TestNoIntegrity), or replace a datagram whose content they can
//     guess;
//   - desynchronise a session by rewriting coherency counts, or by clearing
//     bit D, which Decrypt refuses (RFC 3078 section 9);
//   - lower the key strength during CCP negotiation, which is not
//     protected either; 40- and 56-bit keys can be searched outright, and
//     RC4's keystream biases are well documented.
//
// The keys themselves come from MS-CHAPv2, which gives up the NT hash, and
// with it every MPPE key, to anyone who captures one login (see package
// mschapv2).
//
// Stateless mode costs a key change per packet: one SHA-1 and two RC4 key
// schedules, about 2 µs, against about 3.5 µs to encrypt 1400 octets, on
// the 2-core AMD EPYC the benchmarks first ran on (BenchmarkKeyChange,
// BenchmarkEncrypt1400). It survives loss and
// reordering on its own, which is what a tunnel over the Internet has.
// Stateful mode is about a third cheaper per full-size packet, but every
// loss costs a Reset-Request round trip of dropped packets (with one GRE
// packet in five dropped each way, the VM test TestGatehouseMPPELoss gets
// fewer pings through in stateful mode than in stateless). RFC 3078 says
// stateful mode SHOULD NOT be used on lossy links such as layer-two tunnels
// over the Internet, which is what PPTP is. Offer stateless mode.
//
// # Decisions
//
//   - RC4 is written out here (rc4.go) instead of taken from crypto/rc4.
//     MPPE re-keys RC4 on every stateless packet, twice per key change;
//     rc4.NewCipher allocates a new 1 KiB Cipher each time, and a Cipher
//     cannot be re-keyed in place (Reset only wipes it). The tables use
//     crypto/rc4's layout, measured faster here than octet entries, and
//     are tested against crypto/rc4.
//   - Resets change the key, as Linux's ppp_mppe does: after a
//     Reset-Request the sender changes the session key and sends the next
//     packet flushed, and a receiver changes its key on every flushed
//     packet in stateful mode (once; a flag packet's own change counts).
//     RFC 3078 section 8.2 can be read as re-initialising RC4 with the
//     current key instead, which this package once did: against the Linux
//     client in the VM (TestGatehouseMPPELoss, every fifth GRE packet
//     dropped) each side then decrypted the other's flushed packets to
//     garbage and 4 pings in 40 got through; with the key change, 28 of 60
//     (stateless mode: 40 of 60). A key change also avoids the keystream
//     reuse that re-initialising with the same key causes (RFC 3078
//     section 9).
//     The price, which Linux pays too: when a flushed packet itself is
//     lost, the two ends are a key apart, nothing in later packets tells
//     the receiver, and that direction decrypts to garbage until the
//     session ends (FuzzDecrypt stops predicting there). One more reason
//     to offer stateless mode.
//   - Flag packets carry the FLUSHED bit, since their key change
//     initialises the tables and section 3.1 defines the bit that way
//     (Linux's receiver insists on it). Decrypt changes keys on a flag
//     packet with or without it, because FreeBSD's ng_mppc leaves it off.
//   - While waiting for a flushed packet, the Decrypter follows the counts
//     of the packets it drops, changing keys at flag packets, so that a
//     slow reset cannot push the flushed packet out of the Window.
//   - Work per packet is bounded: at most 2048 key changes in stateless
//     mode (a few milliseconds, and only for a packet 2048 ahead), at most
//     9 in stateful mode (8 flag packets and a flush). FuzzDecrypt checks
//     the bound.
//   - Refusals are cheap and harmless: every error is a sentinel (no
//     allocation), and every refused packet leaves the state untouched,
//     except that ErrNeedReset moves the count along as above.
//   - Bits B and C are sent as 0 and ignored on receipt (section 3.1);
//     this package does not do MPPC, so CCP must not negotiate it.
//   - The decrypted protocol field is not checked. RFC 3078 section 3
//     encrypts only protocols 0x0021 to 0x00FA, and a datagram outside
//     that range is the only sign of a keystream out of step that MPPE
//     gives; the PPP layer should drop it (and, stateful, ask for a reset).
//   - NewEncrypter and NewDecrypter fail in FIPS 140-only mode
//     (GODEBUG=fips140=only), where crypto/rc4 and SHA-1 refuse to work.
//   - Encrypt must not be called concurrently, and neither must Decrypt;
//     ResetRequest may be, since CCP runs beside the data path. The
//     Encrypter and Decrypter print and log without their keys.
package mppe
