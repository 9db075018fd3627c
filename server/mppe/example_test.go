package mppe_test

import (
	"encoding/hex"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The server's two directions of a 128-bit stateless session, keyed from
// an MS-CHAPv2 login (the credentials of RFC 2759 section 9.2). The server
// encrypts with its send key and decrypts with its receive key; the client
// does the opposite, so what one sends the other can read.
func Example() {
	var ntResponse [24]byte
	copy(ntResponse[:], mustHex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"))
	hashHash := mschapv2.HashNTHash(mschapv2.NTHash("clientPass"))

	// On the server: MS-MPPE-Send-Key and MS-MPPE-Recv-Key.
	send, recv := mschapv2.MasterSessionKeys(hashHash, ntResponse, true)
	toClient, err := mppe.NewEncrypter(send, 128, true)
	if err != nil {
		panic(err)
	}
	fromClient, err := mppe.NewDecrypter(recv, 128, true)
	if err != nil {
		panic(err)
	}

	// On the client, the same keys the other way round.
	clientSend, clientRecv := mschapv2.MasterSessionKeys(hashHash, ntResponse, false)
	clientOut, _ := mppe.NewEncrypter(clientSend, 128, true)
	clientIn, _ := mppe.NewDecrypter(clientRecv, 128, true)

	// A datagram: PPP protocol 0x0021 (IPv4), then the IP packet.
	datagram := append([]byte{0x00, 0x21}, "an IPv4 packet"...)

	packet := toClient.Encrypt(nil, datagram)
	h, _ := mppe.ParseHeader(packet)
	fmt.Printf("server sends %v, %d octets\n", h, len(packet))
	got, err := clientIn.Decrypt(nil, packet)
	fmt.Printf("client reads %q %v\n", got[2:], err)

	packet = clientOut.Encrypt(nil, datagram)
	got, err = fromClient.Decrypt(nil, packet)
	fmt.Printf("server reads %q %v\n", got[2:], err)

	fmt.Println(toClient)
	// Output:
	// server sends A--D 0, 18 octets
	// client reads "an IPv4 packet" <nil>
	// server reads "an IPv4 packet" <nil>
	// mppe.Encrypter{128-bit stateless, count 0, keys REDACTED}
}
