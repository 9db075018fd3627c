// Package interop tests a PPTP server against the real Linux PPTP client:
// Debian's pptp-linux and pppd 2.4.9 with the Debian kernel's own
// ppp_generic, ppp_async and ppp_mppe, running in small throw-away QEMU
// VMs. The host kernel need not support PPP at all: the PPP code runs in
// the guest.
//
// A test builds a topology of two network namespaces, runs the server
// under test in the gateway namespace, and boots one VM per connection
// attempt:
//
//	func TestLogin(t *testing.T) {
//		tp := interop.Up(t, "login")              // skips unless root; not in -short
//		srv := tp.Exec(tp.GatewayNS, gatehouse, "serve", "--config", cfg)
//		// ... start srv, wait until it listens on tp.ServerIP:1723 ...
//		r := tp.RunClient(t, interop.ClientOptions{
//			User: "alice", Password: "secret", Ping: tp.LanHostIP,
//		})
//		if r.MPPEBits != 128 || !r.Stateless { ... }
//	}
//
// RunClient returns a Result: whether the link came up, what pppd
// concluded about authentication and MPPE, the addresses IPCP gave, the
// ping through the tunnel, who hung up and why, and the VM's whole console
// (pppd's debug log of every LCP, CHAP, CCP and IPCP packet). RunClients
// runs several clients at once; StartClient returns a running client to
// WaitUp for and Kill (the server then sees its peer fall silent).
//
// The image (kernel, initramfs) is built from Debian packages into
// CacheDir by image/build the first time a test process needs it and
// rebuilt when any input changes; image/init is the guest's PID 1 and
// documents the console lines this package parses. Under KVM a VM boots
// in about a second; without it (TCG, as on the CI machine) in 4-6 s, and
// one attempt with a ping takes 7-10 s.
//
// The pptpvm command (cmd/pptpvm) does the same by hand. README.md has
// requirements, the addresses, the pppd options and the limits.
package interop
