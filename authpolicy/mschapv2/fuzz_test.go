package mschapv2_test

import (
	"bytes"
	"crypto/sha1"
	"testing"

	"layeh.com/radius/rfc2759"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// FuzzNTResponse checks, for any password, user name and challenges, that
// the password path and the NT-hash path agree, with each other and with
// layeh's password-only implementation; that Verify accepts the response
// and rejects it with one bit flipped; and that the authenticator
// response and the MPPE keys hold together. The seed corpus is in
// testdata/fuzz/FuzzNTResponse.
func FuzzNTResponse(f *testing.F) {
	f.Add(rfcPassword, rfcUserName, unhex(f, rfcAuthChallenge), unhex(f, rfcPeerChallenge), uint8(0))
	f.Fuzz(func(t *testing.T, password, userName string, authIn, peerIn []byte, flip uint8) {
		var auth, peer [16]byte
		copy(auth[:], authIn)
		copy(peer[:], peerIn)

		// The NT hash is MD4 of the UTF-16LE definition.
		ntHash := mschapv2.NTHash(password)
		if want := md4Sum(utf16LE(password)); ntHash != want {
			t.Fatalf("NTHash(%q) = % X, want % X", password, ntHash, want)
		}

		// The NT-hash path: ChallengeResponse over ChallengeHash.
		ntResp := mschapv2.GenerateNTResponse(auth, peer, userName, ntHash)
		if got := mschapv2.ChallengeResponse(mschapv2.ChallengeHash(peer, auth, userName), ntHash); got != ntResp {
			t.Fatalf("ChallengeResponse(ChallengeHash) = % X, GenerateNTResponse = % X", got, ntResp)
		}
		// ChallengeHash is SHA-1 over the stripped name.
		d := sha1.Sum(append(append(peer[:], auth[:]...), mschapv2.StripDomain(userName)...))
		if ch := mschapv2.ChallengeHash(peer, auth, userName); !bytes.Equal(ch[:], d[:8]) {
			t.Fatalf("ChallengeHash = % X, want % X", ch, d[:8])
		}

		// The password path, independently: layeh, fed the stripped name.
		name := []byte(mschapv2.StripDomain(userName))
		want, err := rfc2759.GenerateNTResponse(auth[:], peer[:], name, []byte(password))
		if err != nil {
			t.Fatalf("layeh: %v", err)
		}
		if !bytes.Equal(ntResp[:], want) {
			t.Fatalf("NT-Response % X, layeh's password path % X", ntResp, want)
		}

		// Verify accepts the response and rejects any one flipped bit.
		if !mschapv2.Verify(auth, peer, userName, ntResp, ntHash) {
			t.Fatal("Verify rejects the generated NT-Response")
		}
		bad := ntResp
		bit := int(flip) % (8 * len(bad))
		bad[bit/8] ^= 1 << (bit % 8)
		if mschapv2.Verify(auth, peer, userName, bad, ntHash) {
			t.Fatalf("Verify accepts the NT-Response with bit %d flipped", bit)
		}

		// The authenticator response: both entry points and layeh agree,
		// and the peer's check accepts it.
		hashHash := mschapv2.HashNTHash(ntHash)
		ar := mschapv2.GenerateAuthenticatorResponse(ntHash, ntResp, peer, auth, userName)
		if got := mschapv2.GenerateAuthenticatorResponseFromHashHash(hashHash, ntResp, peer, auth, userName); got != ar {
			t.Fatalf("from hash-hash %q, from NT hash %q", got, ar)
		}
		wantAR, err := rfc2759.GenerateAuthenticatorResponse(auth[:], peer[:], ntResp[:], name, []byte(password))
		if err != nil {
			t.Fatalf("layeh: %v", err)
		}
		if ar != wantAR {
			t.Fatalf("authenticator response %q, layeh %q", ar, wantAR)
		}
		if !mschapv2.CheckAuthenticatorResponse(ntHash, ntResp, peer, auth, userName, ar) {
			t.Fatal("CheckAuthenticatorResponse rejects the generated response")
		}
		if mschapv2.CheckAuthenticatorResponse(ntHash, bad, peer, auth, userName, ar) {
			t.Fatal("CheckAuthenticatorResponse accepts the response for another NT-Response")
		}

		// MPPE: each side's send key is the other's receive key.
		sSend, sRecv := mschapv2.MasterSessionKeys(hashHash, ntResp, true)
		cSend, cRecv := mschapv2.MasterSessionKeys(hashHash, ntResp, false)
		if sSend != cRecv || cSend != sRecv {
			t.Fatalf("keys do not swap: server % X/% X, client % X/% X", sSend, sRecv, cSend, cRecv)
		}
		if sSend == sRecv {
			t.Fatalf("send key equals receive key: % X", sSend)
		}
	})
}
