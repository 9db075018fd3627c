// Package session is one PPTP call's PPP session, from the first LCP
// Configure-Request to the last Terminate-Ack, independent of the
// transport: frames come in through [Session.ReceivePPP] and leave through
// a [Link]; IP packets leave towards the TUN through the deliver function
// and come back through [Session.SendIP].
//
// It is made of the committed building blocks and adds only the glue: the
// automata of server/ppp with the negotiators of lcp, ipcp and ccp, the
// codecs of chap and pap, the policy engine behind [Authenticator], and
// MPPE (server/mppe) on the data path.
//
// # The path of one login
//
//  1. Start: RoutineSession builds the LCP, IPCP and CCP automata and
//     gives LCP Up and Open (MS-CHAPv2 only unless Config.LCP allows more).
//  2. LCP This-Layer-Up: a CHAP Challenge of 16 random octets, named
//     Config.ServerName, resent every Restart interval until a Response
//     comes (at most Max-Configure times, then LCP closes).
//  3. CHAP Response: parsed into an authpolicy.Credential (Kind MSCHAPv2,
//     User the Response's Name) and given to Config.Auth on its own
//     goroutine under Config.AuthTimeout; the answer comes back to
//     RoutineSession on a channel.
//  4. Accepted: CHAP Success "S=<AuthenticatorResponse> M=Welcome"; IPCP
//     and CCP go Up and Open. Refused, or the engine could not decide:
//     CHAP Failure E=691 (E=647 when the policy's reason says disabled),
//     and LCP closes Config.FailureDelay later; the session's cause is
//     "authentication rejected: " and the policy's reason. A
//     Change-Password after the Failure is answered with E=709.
//  5. CCP This-Layer-Up: an MPPE Encrypter from Result.Keys.Send and a
//     Decrypter from Result.Keys.Recv, with the bits and mode CCP agreed.
//     When IPCP is up too (and CCP, when MPPE is required) the data path
//     opens.
//  6. LCP This-Layer-Finished (the peer's Terminate-Request, a Close, a
//     failed login, CCP failing while MPPE is required, the negotiation
//     timeout, unanswered echoes): the address goes back through
//     Config.IPCP.Release, Cause is set and Done is closed.
//
// The other methods, when Config.LCP allows them and the client insists
// (the operator's pptp.auth settings), change steps 2 to 5:
//
//   - MS-CHAPv1: the Challenge has 8 octets; the Response's NT-Response
//     goes to the engine as Kind MSCHAPv1 (a Response with only the LAN
//     Manager response is refused without asking it); Success carries
//     "Welcome", Failure "E=691 R=0"; Result.Keys has one key for both
//     directions, and CCP runs as after MS-CHAPv2.
//   - CHAP-MD5: the Challenge has 16 octets; Kind CHAPMD5; Success and
//     Failure carry plain text. There are no keys: IPCP only, no CCP, the
//     data path runs in the clear, and a login is refused when MPPE is
//     required (the configuration check forbids that pairing too).
//   - PAP: no Challenge; the peer's Authenticate-Request goes to the
//     engine as Kind Plaintext, answered with Authenticate-Ack or -Nak;
//     no keys, as for CHAP-MD5.
//
// # The data path
//
// Data frames do not go through RoutineSession. ReceivePPP and SendIP run on
// the GRE reader's and the TUN reader's goroutines under one mutex, with
// one receive and one send buffer owned by the session, and allocate
// nothing (TestDataPathAllocs):
//
//   - 0x00FD is decrypted; the inner protocol must be IP (0x0021), anything
//     else is dropped and counted, and in stateful mode a CCP
//     Reset-Request is asked of RoutineSession (as for mppe.ErrNeedReset).
//   - 0x0021 in the clear is refused whenever MPPE is required or up.
//   - Before the data phase everything is dropped and counted.
//   - deliver is called with the mutex held: it must not call back into
//     the session, and the slice is only valid during the call.
//
// Control frames are copied into pooled buffers and queued (Config.QueueLen);
// when the queue is full they are dropped and counted, so ReceivePPP never
// waits for the session goroutine.
//
// # State
//
// RoutineSession owns the automata, negotiators, CHAP state and timers
// (one time.Timer per automaton, the negotiation deadline, the failure
// delay and the echo ticker). The data fields (open, Encrypter, Decrypter,
// framing) are guarded by data's mutex; Info's fields by info's mutex;
// counters are atomic.
//
// # Left for the gateway
//
//   - The GRE socket: parse with server/gre, demultiplex on Call ID, track
//     sequence and acknowledgement numbers (gre.Window, gre.AckTracker),
//     pass the payload to ReceivePPP; implement Link with gre.AppendPacket.
//   - The TUN: demultiplex packets by destination address (Info.Address)
//     to SendIP; write what deliver hands over.
//   - The control connection (server/pptp): create the session at
//     Outgoing-Call-Reply, Close it at Call-Clear-Request or when the TCP
//     connection drops, and send Call-Disconnect-Notify once Done is
//     closed.
//   - The Authenticator adapter that fixes the service name for
//     authpolicy.Engine, and session events (login, data phase, end) for
//     accounting; today they are slog records only.
package session
