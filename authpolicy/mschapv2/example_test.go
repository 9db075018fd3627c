package mschapv2_test

import (
	"encoding/hex"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

func mustHex16(s string) (a [16]byte) {
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		panic(err)
	}
	return a
}

func mustHex24(s string) (a [24]byte) {
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		panic(err)
	}
	return a
}

// An authenticator checks a Response packet with the NT hash a directory
// handed out, answers with the authenticator response, and derives its
// MPPE keys. The values are those of RFC 2759 section 9.2 and RFC 3079
// section 3.5.3.
func Example() {
	// Sent in the Challenge packet.
	authChallenge := mustHex16("5B5D7C7D7B3F2F3E3C2C602132262628")
	// From the Response packet; the name is passed as the peer sent it.
	peerChallenge := mustHex16("21402324255E262A28295F2B3A337C7E")
	ntResponse := mustHex24("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
	userName := `EXAMPLE\User`
	// From the directory.
	ntHash := mustHex16("44EBBA8D5312B8D611474411F56989AE")

	if !mschapv2.Verify(authChallenge, peerChallenge, userName, ntResponse, ntHash) {
		fmt.Println("wrong password")
		return
	}
	fmt.Println(mschapv2.GenerateAuthenticatorResponse(ntHash, ntResponse, peerChallenge, authChallenge, userName))

	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(ntHash), ntResponse, true)
	fmt.Printf("MS-MPPE-Send-Key %X\n", send)
	fmt.Printf("MS-MPPE-Recv-Key %X\n", recv)

	sessionKey := mschapv2.InitialSessionKey(send, 128)
	fmt.Printf("first 128-bit send key %X\n", sessionKey[:mschapv2.KeyLen(128)])
	// Output:
	// S=407A5589115FD0D6209F510FE9C04566932CDA56
	// MS-MPPE-Send-Key 8B7CDC149B993A1BA118CB153F56DCCB
	// MS-MPPE-Recv-Key D5F0E9521E3EA9589645E86051C82226
	// first 128-bit send key 405CB2247A7956E6E211007AE27B22D4
}

// NTHash is where a cleartext password enters; everything after it works
// on the hash alone.
func ExampleNTHash() {
	fmt.Printf("%X\n", mschapv2.NTHash("clientPass"))
	fmt.Printf("%X\n", mschapv2.HashNTHash(mschapv2.NTHash("clientPass")))
	// Output:
	// 44EBBA8D5312B8D611474411F56989AE
	// 41C00C584BD2D91C4017A2A12FA59F3F
}

// The peer keeps the keys the other way round.
func ExampleMasterSessionKeys() {
	hashHash := mustHex16("41C00C584BD2D91C4017A2A12FA59F3F")
	ntResponse := mustHex24("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")

	serverSend, serverRecv := mschapv2.MasterSessionKeys(hashHash, ntResponse, true)
	clientSend, clientRecv := mschapv2.MasterSessionKeys(hashHash, ntResponse, false)
	fmt.Println(serverSend == clientRecv, serverRecv == clientSend)
	// Output:
	// true true
}
