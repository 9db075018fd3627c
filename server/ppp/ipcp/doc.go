// Package ipcp is the PPTP server's IP Control Protocol (RFC 1332) with
// the name-server options of RFC 1877: a ppp.Handler that assigns the
// client its address, offers DNS and WINS servers, and a codec for the
// IPCP options.
//
//	neg, err := ipcp.NewNegotiator(ipcp.Policy{
//		LocalAddress: gateway, Allocate: pool.Allocate, Release: pool.Release,
//		DNS: dns, WINS: wins,
//	})
//	a := ppp.NewAutomaton(ppp.ProtoIPCP, neg, send)
//
// # The client's address
//
// The address comes from Policy.Address when set (a fixed address, say
// from RADIUS), else from Policy.Allocate, drawn once, the first time it
// is needed, and held for the session ([Negotiator.Address]; the session
// gives it back at the end). Against the client's IP-Address option
// (RFC 1332 section 3.3):
//
//   - 0.0.0.0 asks for an address: it is Naked with the assigned one.
//   - The assigned address is acknowledged.
//   - Another address is the client proposing its own. It is
//     acknowledged when Policy.AcceptPeerAddress allows it
//     (pptp.accept_client_address) and it is a unicast IPv4 address other
//     than the gateway's; an address drawn from the pool before is then
//     given back through Policy.Release. Otherwise it is Naked with the
//     assigned address.
//   - No IP-Address option: one is suggested in a Nak, as section 3.3
//     advises when the address must be negotiated.
//
// Max-Failure would turn those Naks into Rejects and leave the client
// without the address the server routes to it, so instead IPCP closes:
// with an [AddressRefusedError] ("peer insists on address 10.8.0.77
// instead of 10.8.0.2, which is refused (enable
// pptp.accept_client_address to allow it)") or [ErrNoPeerAddress]. An
// empty pool closes it with [ErrNoAddress].
//
// # Name servers
//
// Primary and Secondary DNS (129, 131) and NBNS/WINS (130, 132) requests
// are Naked with the configured servers until the client asks for exactly
// those, then acknowledged (RFC 1877 section 1). A request for a server
// that is not configured is rejected, so the client stops asking.
//
// # Everything else
//
// IP-Compression-Protocol is rejected: no Van Jacobson compression, which
// MPPE would make pointless anyway. The deprecated IP-Addresses option
// (RFC 1172) and unknown options are rejected, as is any option sent
// twice or with a wrong length. Our own Configure-Request carries the
// gateway's IP-Address; a Nak of it is ignored (the gateway's address is
// not negotiable) until Max-Failure, and a Reject of it stops sending it.
package ipcp
