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
// Mode "tun-echo" (TUNEcho) is the yardstick: the same Sink, packet
// size and pacing through a plain TUN device, with no PPTP and no MPPE.
//
// The data path allocates nothing per packet (TestSendIPAllocations):
// Session.SendIP builds the IPv4 packet behind room for the GRE, PPP and
// MPPE headers and encrypts in place; the reader decrypts in place in
// its one buffer.
package pptpload
