package interop_test

import (
	"net"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/interop"
)

// A server test: the server under test runs in the gateway namespace (as
// a process started with tp.Exec, or in-process through tp.Enter), and
// the real Linux client logs in through it. README.md shows this code;
// TestREADMESnippets keeps the two the same. It compiles with the tests
// but needs a server to run.
func ExampleTopology_RunClient() {
	var t *testing.T // the test's own

	tp := interop.Up(t, "login") // skips in -short and when not root; removed at test end

	// In-process: sockets and TUN devices opened inside Enter stay in the namespace.
	var ln net.Listener
	if err := tp.Enter(tp.GatewayNS, func() (err error) {
		ln, err = net.Listen("tcp", tp.ServerIP.String()+":1723")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// ... serve PPTP on ln; route the pool (in 192.0.2.0/24) to a TUN device opened in Enter ...

	r := tp.RunClient(t, interop.ClientOptions{
		User: "alice", Password: "correct horse", Ping: tp.LanHostIP,
	})
	// RunClient has reported an error unless the client connected with
	// MPPE-128 and every ping came back; check the rest:
	if !r.Stateless || r.DNS1.String() != "192.0.2.53" {
		t.Errorf("%s\n%s", r, r.Log)
	}

	bad := tp.RunClient(t, interop.ClientOptions{User: "alice", Password: "wrong", ExpectFail: true})
	if bad.Auth != "fail" {
		t.Errorf("wrong password: %s\n%s", bad, bad.Log)
	}
}
