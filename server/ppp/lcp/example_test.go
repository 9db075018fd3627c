package lcp_test

import (
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

// The server's LCP against a client that asks for MRU 1400, PFC and
// ACFC: the session loop wires an automaton to the negotiator and reads
// the Result when the layer comes up.
func ExampleNegotiator() {
	p := lcp.DefaultPolicy()
	p.Magic = func() uint32 { return 0x2a2a2a2a } // random in real life
	neg, err := lcp.NewNegotiator(p)
	if err != nil {
		panic(err)
	}
	a := ppp.NewAutomaton(ppp.ProtoLCP, neg, func(pkt []byte) {
		fmt.Println("send", ppptest.Describe(pkt))
	})
	a.Notify = func(ev ppp.LayerEvent) {
		if ev == ppp.ThisLayerUp {
			r := neg.Result()
			fmt.Printf("up: auth %v, peer MRU %d, PFC %v, ACFC %v\n", r.Auth, r.PeerMRU, r.SendPFC, r.SendACFC)
		}
	}
	a.Open()
	a.Up()

	opts := lcp.AppendOptions(nil, lcp.MRU(1400), lcp.MagicNumber(0x01020304), lcp.PFC{}, lcp.ACFC{})
	_ = a.Receive(ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 1, Data: opts}.Append(nil))
	ours := lcp.AppendOptions(nil, lcp.MSCHAPv2.Option(), lcp.MagicNumber(0x2a2a2a2a), lcp.PFC{}, lcp.ACFC{})
	_ = a.Receive(ppp.Packet{Code: ppp.ConfigureAck, Identifier: 1, Data: ours}.Append(nil))
	fmt.Println(a.State())
	// Output:
	// send Configure-Request id=1 [03 05 c2 23 81 05 06 2a 2a 2a 2a 07 02 08 02]
	// send Configure-Ack id=1 [01 04 05 78 05 06 01 02 03 04 07 02 08 02]
	// up: auth MS-CHAPv2, peer MRU 1400, PFC true, ACFC true
	// Opened
}
