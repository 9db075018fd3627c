package ppp_test

import (
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

func ExampleParseFrame() {
	// An LCP Configure-Request as Windows sends it inside GRE.
	frame := []byte{0xff, 0x03, 0xc0, 0x21, 0x01, 0x00, 0x00, 0x0a, 0x01, 0x04, 0x05, 0x78, 0x07, 0x02}
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil {
		panic(err)
	}
	p, _ := ppp.ParsePacket(info)
	opts, _ := ppp.ParseOptions(p.Data)
	fmt.Println(proto, p.Code, p.Identifier)
	for o := range opts.All() {
		fmt.Println(o)
	}
	// Output:
	// LCP Configure-Request 0
	// type 1 [05 78]
	// type 7 []
}

func ExampleAppendFrame() {
	// An IPv4 packet to a peer that accepted ACFC and PFC.
	fmt.Printf("% x\n", ppp.AppendFrame(nil, ppp.ProtoIP, []byte{0x45, 0x00}, true, true))
	// LCP keeps its Address and Control whatever was negotiated.
	fmt.Printf("% x\n", ppp.AppendFrame(nil, ppp.ProtoLCP, []byte{0x09, 0x01, 0x00, 0x08}, true, true))
	// Output:
	// 21 45 00
	// ff 03 c0 21 09 01 00 08
}
