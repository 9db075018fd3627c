package pptp_test

import (
	"bytes"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// A server reads control messages off the TCP connection with a Reader
// and answers the keep-alive.
func Example() {
	// An Echo-Request as it arrives on port 1723 (RFC 2637 section 2.5).
	conn := bytes.NewReader([]byte{
		0x00, 0x10, 0x00, 0x01, // Length 16, PPTP Message Type 1
		0x1a, 0x2b, 0x3c, 0x4d, // Magic Cookie
		0x00, 0x05, 0x00, 0x00, // Echo-Request, Reserved0
		0x00, 0x00, 0x00, 0x2a, // Identifier 42
	})
	r := pptp.NewReader(conn)
	m, err := r.ReadMessage()
	if err != nil {
		fmt.Println(err)
		return
	}
	switch m := m.(type) {
	case *pptp.EchoRequest:
		reply := pptp.Append(nil, &pptp.EchoReply{Identifier: m.Identifier, ResultCode: pptp.EchoOK})
		fmt.Printf("%v %d\nreply % x\n", m.ControlMessageType(), m.Identifier, reply)
	}
	// Output:
	// Echo-Request 42
	// reply 00 14 00 01 1a 2b 3c 4d 00 06 00 00 00 00 00 2a 01 00 00 00
}

// A peer that does not speak PPTP is refused after ten octets.
func ExampleReader_Next() {
	r := pptp.NewReader(bytes.NewReader([]byte("GET / HTTP/1.1\r\nHost: vpn.example\r\n\r\n")))
	_, err := r.Next()
	fmt.Println(err)
	// Output: pptp: bad magic cookie 0x2f204854, want 0x1a2b3c4d
}

func ExampleParse() {
	m, err := pptp.Parse(pptp.Append(nil, &pptp.CallDisconnectNotify{
		CallID:     7,
		ResultCode: pptp.DisconnectAdminShutdown,
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	cdn := m.(*pptp.CallDisconnectNotify)
	fmt.Printf("%v: call %d, %v\n", cdn.ControlMessageType(), cdn.CallID, cdn.ResultCode)
	// Output: Call-Disconnect-Notify: call 7, Admin Shutdown
}
