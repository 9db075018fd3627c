// Package radclient is Gatehouse's RADIUS client, shared by the RADIUS
// back-end plugin (plugins/radius) and accounting (server/radius/acct).
// It wraps layeh.com/radius's Packet codec and adds what that package's
// client leaves out:
//
//   - Message-Authenticator (RFC 3579, package rfc3579) on every request,
//     and on every Access-Accept, Access-Reject, Access-Challenge and
//     Status-Server answer a valid one is required by default
//     (Blast-RADIUS, CVE-2024-3596). A reply without one, or with a wrong
//     one, or with a wrong Response Authenticator, is dropped as if it
//     never came (an attacker on the path must not be able to cut a login
//     short) and the exchange ends in a timeout whose error says why.
//   - Several servers, tried in the order configured. Each gets
//     Retries+1 transmissions of the same packet (same Identifier and
//     Authenticator, RFC 2865 section 2.5) Timeout apart before the next
//     server is tried.
//   - A server that timed out DeadAfter exchanges in a row is marked dead
//     and skipped. Before a dead server is used again it must answer a
//     Status-Server (RFC 5997); a probe goes out at most every
//     ProbeInterval, in the background while another server serves. When
//     every server is dead, each is probed in turn inline, so that an
//     outage of all of them ends as soon as one answers.
//
// Decisions: every exchange uses its own connected UDP socket, so that
// the 8-bit Identifier space is never shared between concurrent requests
// and replies can only come from the server's address; a fresh random
// Identifier and Authenticator per server. User-Password is hidden per
// server (it depends on the secret), which is why requests are described
// by [Request] rather than as an encoded packet. Secrets are [Secret]s,
// which never print.
package radclient
