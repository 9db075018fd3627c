package mschapv2_test

import (
	"bytes"
	"crypto/rc4"
	"crypto/sha1"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// RFC 3079 section 3.5 derives its sample keys from the credentials of RFC
// 2759 section 9.2 (see mschapv2_test.go).
const rfcMasterKey = "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"

// rfc3079Samples are the sample key derivations of RFC 3079 sections
// 3.5.1 to 3.5.3, copied from the RFC text. The start and session keys are
// the server's send keys (GetAsymmetricStartKey with IsSend and IsServer
// both TRUE).
var rfc3079Samples = []struct {
	section    string
	bits       int
	startKey   string // SendStartKey40/56/128
	sessionKey string // SendSessionKey40/56/128
	encrypted  string // rc4(SendSessionKey, "test message")
}{
	{
		section:    "3.5.1",
		bits:       40,
		startKey:   "8B 7C DC 14 9B 99 3A 1B",
		sessionKey: "D1 26 9E C4 9F A6 2E 3E",
		encrypted:  "92 91 37 91 7E 58 03 D6 68 D7 58 98",
	},
	{
		section:    "3.5.2",
		bits:       56,
		startKey:   "8B 7C DC 14 9B 99 3A 1B",
		sessionKey: "D1 5C 00 C4 9F A6 2E 3E",
		// The RFC prints the last octet as 58 (and labels the line
		// "rc4(SendSessionKey40, ...)"). RC4 under the RFC's own
		// SendSessionKey56 gives B8, here and in an independent RC4
		// implementation; the other eleven octets agree with the RFC.
		encrypted: "3F 10 68 33 FA 44 8D A8 42 BC 57 B8",
	},
	{
		section:    "3.5.3",
		bits:       128,
		startKey:   "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB",
		sessionKey: "40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4",
		encrypted:  "81 84 83 17 DF 68 84 62 72 FB 5A BE",
	},
}

func TestRFC3079SampleKeyDerivations(t *testing.T) {
	for _, s := range rfc3079Samples {
		t.Run(s.section, func(t *testing.T) {
			n := mschapv2.KeyLen(s.bits)
			if n != len(unhex(t, s.startKey)) {
				t.Fatalf("KeyLen(%d) = %d, RFC key has %d octets", s.bits, n, len(unhex(t, s.startKey)))
			}

			// Step 1 and 2.
			ntHash := mschapv2.NTHash(rfcPassword)
			if want := hex16(t, rfcPasswordHash); ntHash != want {
				t.Fatalf("PasswordHash = % X, want % X", ntHash, want)
			}
			hashHash := mschapv2.HashNTHash(ntHash)
			if want := hex16(t, rfcHashHash); hashHash != want {
				t.Fatalf("PasswordHashHash = % X, want % X", hashHash, want)
			}

			// Step 3: GetMasterKey.
			ntResp := hex24(t, rfcNTResponse)
			mk := mschapv2.MasterKey(hashHash, ntResp)
			if want := hex16(t, rfcMasterKey); mk != want {
				t.Fatalf("MasterKey = % X, want % X", mk, want)
			}

			// Step 4: GetAsymmetricStartKey(MasterKey, ..., TRUE, TRUE).
			start := mschapv2.AsymmetricStartKey(mk, true, true)
			if got, want := start[:n], unhex(t, s.startKey); !bytes.Equal(got, want) {
				t.Fatalf("SendStartKey%d = % X, want % X", s.bits, got, want)
			}
			send, _ := mschapv2.MasterSessionKeys(hashHash, ntResp, true)
			if send != start {
				t.Errorf("MasterSessionKeys(server).send = % X, want % X", send, start)
			}

			// Step 5: GetNewKeyFromSHA, then the reduction of sections 3.1/3.2.
			var start16 [16]byte
			copy(start16[:], unhex(t, s.startKey))
			session := mschapv2.InitialSessionKey(start16, s.bits)
			if got, want := session[:n], unhex(t, s.sessionKey); !bytes.Equal(got, want) {
				t.Errorf("SendSessionKey%d = % X, want % X", s.bits, got, want)
			}
			if tail := session[n:]; !bytes.Equal(tail, make([]byte, len(tail))) {
				t.Errorf("octets past the key = % X, want zeros", tail)
			}
			// 40- and 56-bit keys derive from the first 8 octets only.
			if got := mschapv2.InitialSessionKey(start, s.bits); got != session {
				t.Errorf("InitialSessionKey of the 16-octet start key = % X, want % X", got, session)
			}

			// The RFC's sample message pins the whole chain.
			c, err := rc4.NewCipher(session[:n])
			if err != nil {
				t.Fatal(err)
			}
			got := []byte("test message")
			c.XORKeyStream(got, got)
			if want := unhex(t, s.encrypted); !bytes.Equal(got, want) {
				t.Errorf("rc4(SendSessionKey%d, \"test message\") = % X, want % X", s.bits, got, want)
			}
		})
	}
}

// TestGetNewKeyFromSHAUnreduced: the 40- and 56-bit session keys of RFC
// 3079 sections 3.5.1 and 3.5.2 are one digest reduced in two ways, so the
// octets neither reduction touches must agree with both.
func TestGetNewKeyFromSHAUnreduced(t *testing.T) {
	var start [16]byte
	copy(start[:], unhex(t, "8B 7C DC 14 9B 99 3A 1B"))
	k := mschapv2.GetNewKeyFromSHA(start, start, 8)
	if got, want := k[1:8], unhex(t, "5C 00 C4 9F A6 2E 3E"); !bytes.Equal(got, want) {
		t.Errorf("octets 1-7 = % X, want % X (from SendSessionKey56)", got, want)
	}
	if k[0] == 0xd1 {
		t.Errorf("octet 0 is already 0xD1: the test cannot tell reduced from unreduced")
	}
	if got := k[8:]; !bytes.Equal(got, make([]byte, 8)) {
		t.Errorf("octets 8-15 = % X, want zeros", got)
	}
	// Octets past keyLen in the inputs are ignored.
	junk := start
	copy(junk[8:], bytes.Repeat([]byte{0xAA}, 8))
	if got := mschapv2.GetNewKeyFromSHA(junk, junk, 8); got != k {
		t.Errorf("octets past keyLen changed the key: % X, want % X", got, k)
	}
	// Start key and session key play different roles.
	var other [16]byte
	if mschapv2.GetNewKeyFromSHA(start, other, 8) == mschapv2.GetNewKeyFromSHA(other, start, 8) {
		t.Error("GetNewKeyFromSHA is symmetric in its keys")
	}
}

// TestGetNewKeyFromSHAOrder covers key changes, where the start key and
// the current session key differ and no RFC sample exists: the result must
// be RFC 3078 section 7.3 written out with one SHAUpdate per line.
func TestGetNewKeyFromSHAOrder(t *testing.T) {
	var start, session [16]byte
	copy(start[:], unhex(t, rfc3079Samples[2].startKey))
	copy(session[:], unhex(t, rfc3079Samples[2].sessionKey))
	for _, n := range []int{8, 16} {
		h := sha1.New()
		h.Write(start[:n])                      // StartKey
		h.Write(make([]byte, 40))               // SHApad1
		h.Write(session[:n])                    // SessionKey
		h.Write(bytes.Repeat([]byte{0xf2}, 40)) // SHApad2
		want := h.Sum(nil)[:n]
		got := mschapv2.GetNewKeyFromSHA(start, session, n)
		if !bytes.Equal(got[:n], want) {
			t.Errorf("keyLen %d: GetNewKeyFromSHA = % X, want % X", n, got[:n], want)
		}
	}
}

// TestKeySwap: what one side sends with, the other receives with (RFC 3079
// section 3.4, Magic2 and Magic3).
func TestKeySwap(t *testing.T) {
	hashHashes := [][16]byte{
		hex16(t, rfcHashHash),
		mschapv2.HashNTHash(mschapv2.NTHash("")),
		mschapv2.HashNTHash(mschapv2.NTHash("pässwörd😀")),
	}
	ntResp := hex24(t, rfcNTResponse)
	for i, hh := range hashHashes {
		serverSend, serverRecv := mschapv2.MasterSessionKeys(hh, ntResp, true)
		clientSend, clientRecv := mschapv2.MasterSessionKeys(hh, ntResp, false)
		if serverSend != clientRecv {
			t.Errorf("%d: server send % X != client receive % X", i, serverSend, clientRecv)
		}
		if clientSend != serverRecv {
			t.Errorf("%d: client send % X != server receive % X", i, clientSend, serverRecv)
		}
		if serverSend == serverRecv {
			t.Errorf("%d: send and receive keys are equal: % X", i, serverSend)
		}

		mk := mschapv2.MasterKey(hh, ntResp)
		if got := mschapv2.AsymmetricStartKey(mk, true, true); got != serverSend {
			t.Errorf("%d: AsymmetricStartKey(send, server) = % X, want % X", i, got, serverSend)
		}
		if got := mschapv2.AsymmetricStartKey(mk, false, true); got != serverRecv {
			t.Errorf("%d: AsymmetricStartKey(recv, server) = % X, want % X", i, got, serverRecv)
		}
		if got := mschapv2.AsymmetricStartKey(mk, true, false); got != clientSend {
			t.Errorf("%d: AsymmetricStartKey(send, client) = % X, want % X", i, got, clientSend)
		}
		if got := mschapv2.AsymmetricStartKey(mk, false, false); got != clientRecv {
			t.Errorf("%d: AsymmetricStartKey(recv, client) = % X, want % X", i, got, clientRecv)
		}
	}

	// RFC 3079's SendStartKey128 is the server's send key, hence the
	// client's receive key, and not the client's send key.
	_, clientRecv := mschapv2.MasterSessionKeys(hex16(t, rfcHashHash), ntResp, false)
	clientSend, _ := mschapv2.MasterSessionKeys(hex16(t, rfcHashHash), ntResp, false)
	sendStartKey128 := hex16(t, rfc3079Samples[2].startKey)
	if clientRecv != sendStartKey128 {
		t.Errorf("client receive key = % X, want the RFC's SendStartKey128 % X", clientRecv, sendStartKey128)
	}
	if clientSend == sendStartKey128 {
		t.Error("client send key equals the RFC's SendStartKey128 (the server's send key)")
	}
}

func TestKeyLen(t *testing.T) {
	for bits, want := range map[int]int{40: 8, 56: 8, 128: 16, 0: 0, 64: 0, 256: 0, -40: 0} {
		if got := mschapv2.KeyLen(bits); got != want {
			t.Errorf("KeyLen(%d) = %d, want %d", bits, got, want)
		}
	}
}

func TestReduceKey(t *testing.T) {
	key := func() []byte { return unhex(t, "01 02 03 04 05 06 07 08") }
	tests := []struct {
		bits int
		want string
	}{
		{40, "D1 26 9E 04 05 06 07 08"},
		{56, "D1 02 03 04 05 06 07 08"},
		{128, "01 02 03 04 05 06 07 08"},
	}
	for _, tt := range tests {
		k := key()
		mschapv2.ReduceKey(k, tt.bits)
		if want := unhex(t, tt.want); !bytes.Equal(k, want) {
			t.Errorf("ReduceKey(%d) = % X, want % X", tt.bits, k, want)
		}
	}
}

func TestMisusePanics(t *testing.T) {
	var k [16]byte
	for name, f := range map[string]func(){
		"GetNewKeyFromSHA 0":   func() { mschapv2.GetNewKeyFromSHA(k, k, 0) },
		"GetNewKeyFromSHA 5":   func() { mschapv2.GetNewKeyFromSHA(k, k, 5) },
		"GetNewKeyFromSHA 20":  func() { mschapv2.GetNewKeyFromSHA(k, k, 20) },
		"ReduceKey 64":         func() { mschapv2.ReduceKey(k[:], 64) },
		"InitialSessionKey 64": func() { mschapv2.InitialSessionKey(k, 64) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			f()
		})
	}
}

// TestMPPEAllocs pins the key functions the MPPE layer calls on every key
// change (on every packet, in stateless mode) to zero allocations.
func TestMPPEAllocs(t *testing.T) {
	var start, session [16]byte
	copy(start[:], unhex(t, rfc3079Samples[2].startKey))
	mk := hex16(t, rfcMasterKey)
	for name, f := range map[string]func(){
		"GetNewKeyFromSHA":   func() { session = mschapv2.GetNewKeyFromSHA(start, session, 16) },
		"ReduceKey":          func() { mschapv2.ReduceKey(session[:8], 40) },
		"InitialSessionKey":  func() { session = mschapv2.InitialSessionKey(start, 56) },
		"AsymmetricStartKey": func() { start = mschapv2.AsymmetricStartKey(mk, true, false) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}

func BenchmarkGetNewKeyFromSHA(b *testing.B) {
	var start [16]byte
	copy(start[:], unhex(b, rfc3079Samples[2].startKey))
	session := start
	for _, n := range []int{8, 16} {
		b.Run(map[int]string{8: "8", 16: "16"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				session = mschapv2.GetNewKeyFromSHA(start, session, n)
			}
		})
	}
}

func BenchmarkMasterSessionKeys(b *testing.B) {
	hashHash := hex16(b, rfcHashHash)
	ntResp := hex24(b, rfcNTResponse)
	b.ReportAllocs()
	for b.Loop() {
		mschapv2.MasterSessionKeys(hashHash, ntResp, true)
	}
}
