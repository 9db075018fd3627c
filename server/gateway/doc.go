// Package gateway is the PPTP front door as one object: it accepts control
// connections on TCP 1723 (server/control), carries each call's PPP session
// (server/session) in enhanced GRE (server/gre, RFC 2637 section 4) over one
// raw IPPROTO_GRE socket, and moves IP packets between the sessions and the
// TUN device (server/tun).
//
// # The packet pipeline
//
//  1. RoutineReadGRE reads one IPv4 datagram from the raw GRE socket, checks
//     the IPv4 header (version 4, IHL, protocol 47) and parses the enhanced
//     GRE header with gre.Parse.
//  2. The Key's Call ID names the call (Call IDs are unique across the
//     server, see server/control); the datagram's source address must be the
//     call's peer, else it is dropped and counted in Stats.WrongSource.
//  3. An acknowledgment is recorded; a data packet passes the call's
//     gre.Window (old and duplicate numbers are dropped), is reported to the
//     call's gre.AckTracker and handed to session.ReceivePPP.
//  4. The session decrypts IP packets and hands them to call.deliver, which
//     drops (and counts) a packet whose source is not the session's own
//     address or that the user's firewall policy refuses, and writes the
//     rest to the TUN.
//  5. RoutineReadTUN reads one IPv4 packet from the TUN, finds the call by
//     destination address and gives it to session.SendIP.
//  6. The session's Link (call.SendPPP) prefixes a GRE header with the peer's
//     Call ID, the next sequence number and a piggy-backed acknowledgment,
//     and sends it to the peer. When nothing goes the other way an
//     acknowledgment-only packet follows within ackDelay (100 ms).
//
// # A call's life
//
// control.CallHandler.NewCall creates the session, registers the call by our
// Call ID and starts it. Addresses the session's IPCP takes from the pool
// (or accepts from the client) are registered in the address map as they are
// handed out and removed as they are released, so RoutineReadTUN finds the
// call without polling the session. When the session ends (Done), the call
// is disconnected through control (Call-Disconnect-Notify) and removed; when
// the control side ends first (CallEnded), the session is closed and ends
// the same way.
//
// A call costs one goroutine, its session's: the session calls back when
// it reaches the data phase (established: the log line, Config.SessionUp,
// the idle watch) and when it has ended (finish, on a goroutine started
// then, so that no control-connection lock is taken on the session
// goroutine). The idle watch is a timer. The buffers a packet is built
// in come from pools for each packet, so an idle call holds none; the
// GRE socket asks for GRESocketBuffer of kernel buffer, since every
// client's packets, set-ups included, queue in it (docs/performance.md
// measures what an idle session costs and what the buffer changed).
//
// # Who may use the VPN
//
// The session authenticates through the call (call.Authenticate):
// Config.Auth (the policy engine) decides, and Config.Authorize runs inside
// it as the engine's Approval (authpolicy.WithApproval), once a branch's
// factors have matched and before anything is committed. It says whether
// the user may use the VPN (a refusal is CHAP Failure E=649,
// ERROR_NO_DIALIN_PERMISSION) and which firewall policy filters the packets
// the user sends. A refused login spends no one-time code, and a later
// policy branch may still grant access. An Authenticator that ignores the
// Approval is judged after it answers instead.
//
// Malformed input is dropped and counted, never logged per packet above
// Debug, and never crashes the gateway.
package gateway
