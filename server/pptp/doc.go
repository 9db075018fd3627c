// Package pptp implements the control messages of the Point-to-Point
// Tunneling Protocol, RFC 2637 section 2, and the framing of the TCP
// control connection that carries them (section 1.3.1, port 1723).
//
// It is a codec only: no sockets, no timers, no logging. The server loop
// that answers a client (section 3's state machines) builds on it.
//
// # Messages
//
// Every control message is a fixed-length record: the common header of
// section 2 (Length, PPTP Message Type 1, Magic Cookie 0x1A2B3C4D,
// Control Message Type, Reserved0) followed by fields that depend on the
// type. Each of the fifteen types of section 1.4 is a struct named as in
// the RFC, with fields named as in the RFC's drawings, and its drawing
// with octet offsets in its doc comment:
//
//	connection (2.1-2.6): StartControlConnectionRequest, StartControlConnectionReply,
//	                      StopControlConnectionRequest, StopControlConnectionReply,
//	                      EchoRequest, EchoReply
//	calls (2.7-2.13):     OutgoingCallRequest, OutgoingCallReply,
//	                      IncomingCallRequest, IncomingCallReply, IncomingCallConnected,
//	                      CallClearRequest, CallDisconnectNotify
//	errors, link (2.14-2.15): WANErrorNotify, SetLinkInfo
//
// A Gatehouse server is the PAC of the RFC; Linux (pptp, pppd) and
// Windows clients are the PNS. The messages a server receives are SCCRQ,
// OCRQ, SLI, CCRQ, StopCCRQ and StopCCRP, and Echo-Request and -Reply;
// it sends SCCRP, OCRP, CDN, StopCCRQ and StopCCRP, Echo-Request and
// -Reply, and rarely WEN. The incoming-call messages are there for
// completeness and for tests.
//
// Parse decodes one whole message into a pointer to its struct; Append
// encodes one:
//
//	m, err := pptp.Parse(b)
//	switch m := m.(type) {
//	case *pptp.EchoRequest:
//		out = pptp.Append(out[:0], &pptp.EchoReply{Identifier: m.Identifier, ResultCode: pptp.EchoOK})
//	}
//
// Result, reason and error codes are named constants whose String methods
// give the RFC's wording ("Bad-Call ID", "Stop-Local-Shutdown"); framing
// and bearer capabilities are bit sets. A few fields whose RFC name would
// stutter in Go are shortened: "Peer's Call ID" is PeerCallID, "Packet
// Recv. Window Size" is PacketRecvWindowSize.
//
// # Decisions
//
// Lengths are exact. Every control message has one length, so Parse and
// Reader reject a Length field that differs from the type's
// (ParseBadLength), a buffer shorter than Length (ParseTruncated) and,
// for Parse, a buffer longer than Length (ParseTrailingData). Errors are
// *ParseError values whose Code says which check failed; Parse never
// panics, whatever the input.
//
// Reserved fields are written as zero and not checked on receipt. Section
// 2 says they MUST be sent as zero and section 2.16 lets a receiver
// answer Bad-Value; refusing a client over a reserved bit helps nobody.
//
// Host Name, Vendor String, the phone numbers, Subaddress and Call
// Statistics are fixed-size fields padded with NULs. Parse returns the
// octets before the first NUL (all of them when there is none) as a Go
// string, without checking that they are ASCII or UTF-8; Append cuts a
// longer string to the field's size and pads a shorter one with NULs. So
// Append(Parse(b)) reproduces b except in reserved fields and after a
// string's first NUL, where it writes zeros; FuzzParse checks exactly
// that. Phone Number Length, Dialed Number Length and Dialing Number
// Length are carried as sent, not derived from the strings.
//
// The PPTP Message Type must be 1 (control). The RFC defines no other
// type; the "management" type 2 that some implementations name never got
// messages.
//
// # The byte stream
//
// Reader splits the control connection's byte stream into messages with
// a bounded buffer (about 1 KiB, allocated once). It validates each
// message's header as soon as ten octets are in, so a peer that does not
// speak PPTP (an HTTP probe on port 1723, say) is refused at once instead
// of making the server wait for a Length of thousands of octets, and no
// message longer than MaxMessageLength (the 220-octet
// Incoming-Call-Request) is ever buffered. Its errors are sticky: once the
// stream is out of step it stays refused, and the connection should be
// closed.
//
// Receiving an Echo-Request, the keep-alive of section 2.5, costs one
// small allocation (the *EchoRequest), and Reader.Next none. Append into a
// buffer with room costs none when the caller keeps the message it
// encodes (a composite literal passed straight to Append escapes through
// the interface and costs one). The per-packet data path is package gre.
package pptp
