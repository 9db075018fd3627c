package mschapv2_test

import (
	"bytes"
	"testing"

	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc3079"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// These tests cross-check the package against layeh.com/radius's rfc2759
// and rfc3079 packages, an independent implementation that takes only a
// cleartext password. What layeh lacks is written down in doc.go; the
// tests below pin each point.

var layehPasswords = []string{
	rfcPassword,
	"",
	"p",
	"correct horse battery staple",
	"pässwörd",
	"пароль",
	"密码",
	"a😀b\U0010FFFF",
	"\uFEFFbom",
	"bad\xffutf8",
	string(bytes.Repeat([]byte("x"), 300)),
}

func layehChallenges(t *testing.T) [][2][16]byte {
	return [][2][16]byte{
		{hex16(t, rfcAuthChallenge), hex16(t, rfcPeerChallenge)},
		{{}, {}},
		{
			hex16(t, "77 ac 2d 4c 31 2a 6a fe b9 d1 76 b4 dd 1d 1a 1d"),
			hex16(t, "34 13 16 83 81 f7 4b 7b 28 e6 08 8b d7 a5 0d e9"),
		},
	}
}

// TestLayehRFC2759 checks that the NT-hash path here and layeh's
// password path agree on the NT hash, the NT-Response and the
// authenticator response.
func TestLayehRFC2759(t *testing.T) {
	for _, user := range []string{"User", "test", "", "user@example.com"} {
		for _, pw := range layehPasswords {
			for _, ch := range layehChallenges(t) {
				auth, peer := ch[0], ch[1]

				utf, err := rfc2759.ToUTF16([]byte(pw))
				if err != nil {
					t.Fatalf("layeh ToUTF16(%q): %v", pw, err)
				}
				ntHash := mschapv2.NTHash(pw)
				if got := rfc2759.NTPasswordHash(utf); !bytes.Equal(got, ntHash[:]) {
					t.Errorf("%q: layeh NT hash % X, ours % X", pw, got, ntHash)
				}

				want, err := rfc2759.GenerateNTResponse(auth[:], peer[:], []byte(user), []byte(pw))
				if err != nil {
					t.Fatalf("layeh GenerateNTResponse: %v", err)
				}
				ntResp := mschapv2.GenerateNTResponse(auth, peer, user, ntHash)
				if !bytes.Equal(ntResp[:], want) {
					t.Errorf("%q/%q: NT-Response % X, layeh % X", user, pw, ntResp, want)
				}

				wantAR, err := rfc2759.GenerateAuthenticatorResponse(auth[:], peer[:], ntResp[:], []byte(user), []byte(pw))
				if err != nil {
					t.Fatalf("layeh GenerateAuthenticatorResponse: %v", err)
				}
				if got := mschapv2.GenerateAuthenticatorResponse(ntHash, ntResp, peer, auth, user); got != wantAR {
					t.Errorf("%q/%q: authenticator response %q, layeh %q", user, pw, got, wantAR)
				}
				if got := mschapv2.GenerateAuthenticatorResponseFromHashHash(mschapv2.HashNTHash(ntHash), ntResp, peer, auth, user); got != wantAR {
					t.Errorf("%q/%q: authenticator response from hash-hash %q, layeh %q", user, pw, got, wantAR)
				}
			}
		}
	}
}

// TestLayehRFC2759Vectors: layeh's own test vectors (rfc2759/mschapv2_test.go),
// reproduced from the NT hash.
func TestLayehRFC2759Vectors(t *testing.T) {
	ntHash := mschapv2.NTHash("superSecretPassword")
	if got, want := mschapv2.GenerateNTResponse(
		hex16(t, "77 ac 2d 4c 31 2a 6a fe b9 d1 76 b4 dd 1d 1a 1d"),
		hex16(t, "34 13 16 83 81 f7 4b 7b 28 e6 08 8b d7 a5 0d e9"),
		"test", ntHash), hex24(t, "62 95 b2 14 39 95 f9 f6 58 69 19 77 ef 12 79 89 10 ff 29 73 b5 b5 13 ba"); got != want {
		t.Errorf("NT-Response 1 % X, want % X", got, want)
	}
	auth := hex16(t, "d5 71 7d 58 e9 fb 9c f4 2d bb 0c 1a 8a df 98 79")
	peer := hex16(t, "27 9c b4 11 49 4d 5a 84 cd f2 d2 ee 36 fb 5c dd")
	if got, want := mschapv2.GenerateNTResponse(auth, peer, "test", ntHash), hex24(t, "f5 e4 71 ec b5 59 a9 f7 c6 9a 70 8b 12 e7 a8 6d d2 fe f9 ab 3f 2a ed 0a"); got != want {
		t.Errorf("NT-Response 2 % X, want % X", got, want)
	}
	ntResp := hex24(t, "e6 ad 73 b3 73 88 39 cc cf c0 fb f3 45 9a 5b 26 ac 4b 15 9e fa b6 b0 3f")
	if got, want := mschapv2.GenerateAuthenticatorResponse(ntHash, ntResp, peer, auth, "test"), "S=E776FC79AC79DED99AEFF66893C920EB34F63396"; got != want {
		t.Errorf("authenticator response %q, want %q", got, want)
	}
}

// TestLayehDomain: layeh hashes the user name as given, so a caller must
// strip "DOMAIN\" first; this package strips it itself.
func TestLayehDomain(t *testing.T) {
	auth, peer := hex16(t, rfcAuthChallenge), hex16(t, rfcPeerChallenge)
	ours := mschapv2.GenerateNTResponse(auth, peer, `DOMAIN\User`, mschapv2.NTHash(rfcPassword))
	stripped, _ := rfc2759.GenerateNTResponse(auth[:], peer[:], []byte("User"), []byte(rfcPassword))
	asSent, _ := rfc2759.GenerateNTResponse(auth[:], peer[:], []byte(`DOMAIN\User`), []byte(rfcPassword))
	if !bytes.Equal(ours[:], stripped) {
		t.Errorf("ours(DOMAIN\\User) % X != layeh(User) % X", ours, stripped)
	}
	if bytes.Equal(ours[:], asSent) {
		t.Error("layeh strips the domain now; update doc.go")
	}
}

// TestLayehRFC3079 settles whether layeh's MPPE keys are right. They are,
// for the server side only: layeh's GetAsymmetricStartKey has no IsServer
// argument and always answers as the server (isSend selects Magic3, the
// server's send key), and MakeKey returns the 16-octet master key, which
// is what MS-MPPE-Send-Key and MS-MPPE-Recv-Key carry.
func TestLayehRFC3079(t *testing.T) {
	ntResp := hex24(t, rfcNTResponse)
	hashHash := hex16(t, rfcHashHash)

	mk := rfc3079.GetMasterKey(hashHash[:], ntResp[:])
	if want := hex16(t, rfcMasterKey); !bytes.Equal(mk, want[:]) {
		t.Errorf("layeh GetMasterKey % X, want % X", mk, want)
	}

	// The RFC's sample start keys (IsSend=TRUE, IsServer=TRUE).
	for _, s := range rfc3079Samples {
		if s.bits == 56 {
			continue // layeh has no 56-bit key length
		}
		got, err := rfc3079.GetAsymmetricStartKey(mk, rfc3079.KeyLength(mschapv2.KeyLen(s.bits)), true)
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, s.startKey); !bytes.Equal(got, want) {
			t.Errorf("%s: layeh send start key % X, RFC % X", s.section, got, want)
		}
	}

	for _, pw := range layehPasswords {
		for _, ch := range layehChallenges(t) {
			ntHash := mschapv2.NTHash(pw)
			resp := mschapv2.GenerateNTResponse(ch[0], ch[1], "User", ntHash)
			serverSend, serverRecv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(ntHash), resp, true)
			clientSend, clientRecv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(ntHash), resp, false)

			send, err := rfc3079.MakeKey(resp[:], []byte(pw), true)
			if err != nil {
				t.Fatal(err)
			}
			recv, err := rfc3079.MakeKey(resp[:], []byte(pw), false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(send, serverSend[:]) {
				t.Errorf("%q: layeh MakeKey(send) % X, server send % X", pw, send, serverSend)
			}
			if !bytes.Equal(recv, serverRecv[:]) {
				t.Errorf("%q: layeh MakeKey(recv) % X, server receive % X", pw, recv, serverRecv)
			}
			// layeh cannot give the client's keys: its "send" key is the
			// client's receive key.
			if bytes.Equal(send, clientSend[:]) || !bytes.Equal(send, clientRecv[:]) {
				t.Errorf("%q: layeh MakeKey(send) % X is not the client's receive key % X", pw, send, clientRecv)
			}
		}
	}
}
