package control_test

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/control"
	"github.com/gatehouse-vpn/gatehouse/server/control/controltest"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// sessions is a CallHandler such as the gateway's: it would start a GRE
// and PPP session for each call; here it only passes the calls on.
type sessions struct {
	started chan *control.Call
	ended   chan string
}

func (s sessions) NewCall(c *control.Call) error {
	s.started <- c
	return nil
}

func (s sessions) CallEnded(c *control.Call, cause string) { s.ended <- cause }

func (s sessions) LinkInfo(*control.Call, uint32, uint32) {}

// A server on loopback, a client that places a call, and the server
// hanging up.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	h := sessions{started: make(chan *control.Call, 1), ended: make(chan string, 1)}
	s := control.New(control.Config{Log: slog.New(slog.DiscardHandler)}, h)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()

	client, err := controltest.Dial(ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	sccrp, _ := client.Start()
	fmt.Println("start:", sccrp.ResultCode)
	ocrp, _ := client.Call(42)
	fmt.Println("call:", ocrp.ResultCode, "window", ocrp.PacketRecvWindowSize)

	call := <-h.started
	fmt.Println("session for the client's call", call.PeerID, "from", call.Peer)
	call.Disconnect("idle timeout")
	cdn, _ := controltest.Expect[*pptp.CallDisconnectNotify](client, time.Second)
	fmt.Println("client told:", cdn.ResultCode)
	fmt.Println("gateway told:", <-h.ended)

	client.Stop()
	client.Close()
	s.Close()
	fmt.Println(<-served)
	// Output:
	// start: Successful channel establishment
	// call: Connected window 64
	// session for the client's call 42 from 127.0.0.1
	// client told: Admin Shutdown
	// gateway told: idle timeout
	// control: server closed
}
