// Package pptpload is a PPTP client for load: many sessions, from many
// source addresses, made of the project's own packages (server/pptp,
// server/gre, server/ppp/..., server/mppe, authpolicy/mschapv2), with no
// testing.TB, so that a binary (cmd/gatehouse-load) can run it. It
// speaks the whole client side: the control connection (TCP 1723, many
// calls on one), enhanced GRE over a raw socket, LCP (answering echoes),
// MS-CHAPv2 (the server's authenticator response checked), IPCP, CCP
// and MPPE-128, stateless or stateful, each direction in the mode its
// receiver's Configure-Request asked for; then IPv4 data, built in
// place.
//
// # Where it lives, and why
//
// It needs server/... packages (the codecs and the PPP automaton), and
// internal/... may not import server/..., so it is not internal/; it is
// not server/gateway/gatewaytest either, which takes a testing.TB and
// serves one call. It lives under test/, beside test/radload, as
// support for tests and benchmarks. gatewaytest keeps its own client
// for now (it scripts corner cases, such as a mute or legacy client,
// that a load tool has no use for).
//
// # The pipeline
//
//  1. Run opens one GRESocket per source address: a raw IPPROTO_GRE
//     socket bound to it and connected to the server. Its reader
//     (RoutineRead) finds each packet's session by the client's Call ID,
//     which is therefore unique per source address.
//  2. Sessions are set up at Config.Rate: the first call of each control
//     connection dials it (DialControl, Start-Control-Connection), then
//     every call sends an Outgoing-Call-Request and, at the reply, starts
//     LCP. The session is up when IPCP and CCP are Opened; the set-up
//     latency runs from the moment the pacer started it.
//  3. Traffic (Config.Traffic): "udp" sends datagrams to a Sink, a UDP
//     socket this process binds on the gateway's host to the gateway's
//     tunnel address (direction up), and from the Sink to each session's
//     address (down: the kernel routes them into the gateway's TUN
//     device, the gateway encrypts them to the client). "icmp" sends
//     Echo Requests through each tunnel to a target and counts the
//     replies: it works against any server, such as pptpd in a VM.
//  4. Hold keeps the sessions idle, answering LCP echoes; then every
//     control connection is closed and the server clears the calls.
//
// # A set-up storm
//
// Config.Storm (gatehouse-load -storm N) replaces step 3 and 4's
// Duration: once the Sessions are up, they carry udp traffic at PPS
// each way (all of them together; 50 sessions at 10,000/s is 200/s
// each), and after a window of StormWindow (-storm-window, 5 s) N
// set-ups are fired at once, with no pacing and no bound on those in
// flight, from StormSources (-storm-sources, default the Sources), over
// control connections of StormCallsPerConn calls (-storm-calls-per-conn,
// 10). The storm's own run shares the GRE sockets, so that a source's
// client Call IDs stay unique. The traffic goes on during the storm
// (from the first set-up fired to the last one ended) and for
// StormWindow after it, the storm's sessions up and idle; then it
// stops and the packets in flight are waited for.
//
// Each datagram carries its window (before 0, during 1, after 2) in the
// first octet of its UDP payload, and the Sink (Sink.ReceivedBy) and the
// sessions (Session.RxUDPBy) count what they receive by it, so a
// window's loss is exact even when the storm holds packets in a queue
// past the window's end. The Report's Storm gives, for each window and
// direction, the packets sent and lost; the storm's successes, failures
// by reason and set-up latency (from the moment all were fired); how
// many established and storm sessions are still up at the end; and,
// with ServerPID and MetricsURL, the server's RSS, goroutines and
// sessions just before the storm and after it, and the most sessions
// its gatehouse_pptp_sessions showed during it (sampled every 100 ms),
// to hold against pptp.max_connections.
//
// A call the server refuses fails with the reason "call-refused: " and
// the Outgoing-Call-Reply's Result Code, with the Error Code after a
// General Error: Gatehouse answers a call over pptp.max_connections
// "call-refused: General Error, No-Resource" (package server/control)
// and one over pptp.call_rate "call-refused: Do Not Accept" (package
// server/gateway); calls whose control connection the server stopped
// (Stop-Control-Connection-Request) fail "stop-control".
//
// Mode "tun-echo" (TUNEcho) is the yardstick: the same Sink, packet
// size and pacing through a plain TUN device, with no PPTP and no MPPE.
//
// The data path allocates nothing per packet (TestSendIPAllocations):
// Session.SendIP builds the IPv4 packet behind room for the GRE, PPP and
// MPPE headers and encrypts in place; the reader decrypts in place in
// its one buffer.
package pptpload
