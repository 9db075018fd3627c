package mschapv2_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf16"

	//lint:ignore SA1019 NtPasswordHash is MD4 by definition (RFC 2759 section 8.3).
	"golang.org/x/crypto/md4"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// The example of RFC 2759 section 9.2 ("Hash Example"), which RFC 3079
// section 3.5 continues. Values are copied from the RFC text, spaces and
// all.
const (
	rfcUserName      = "User"
	rfcUserNameOctet = "55 73 65 72"
	rfcPassword      = "clientPass"
	rfcPasswordUTF16 = "63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00"
	rfcAuthChallenge = "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28"
	rfcPeerChallenge = "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E"
	rfcChallenge     = "D0 2E 43 86 BC E9 12 26"
	rfcPasswordHash  = "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"
	rfcNTResponse    = "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"
	rfcHashHash      = "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"
	rfcAuthResponse  = "S=407A5589115FD0D6209F510FE9C04566932CDA56"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func hex8(tb testing.TB, s string) (a [8]byte) {
	tb.Helper()
	b := unhex(tb, s)
	if len(b) != len(a) {
		tb.Fatalf("%q is not %d octets", s, len(a))
	}
	copy(a[:], b)
	return a
}

func hex16(tb testing.TB, s string) (a [16]byte) {
	tb.Helper()
	b := unhex(tb, s)
	if len(b) != len(a) {
		tb.Fatalf("%q is not %d octets", s, len(a))
	}
	copy(a[:], b)
	return a
}

func hex24(tb testing.TB, s string) (a [24]byte) {
	tb.Helper()
	b := unhex(tb, s)
	if len(b) != len(a) {
		tb.Fatalf("%q is not %d octets", s, len(a))
	}
	copy(a[:], b)
	return a
}

func md4Sum(b []byte) (out [16]byte) {
	h := md4.New()
	h.Write(b)
	copy(out[:], h.Sum(nil))
	return out
}

// utf16LE is the definition of the password encoding, written with the
// standard library's encoder rather than the package's own loop.
func utf16LE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// TestRFC2759HashExample checks every intermediate value of RFC 2759
// section 9.2.
func TestRFC2759HashExample(t *testing.T) {
	auth := hex16(t, rfcAuthChallenge)
	peer := hex16(t, rfcPeerChallenge)
	ntHash := hex16(t, rfcPasswordHash)
	ntResp := hex24(t, rfcNTResponse)

	t.Run("UserName", func(t *testing.T) {
		if got, want := []byte(rfcUserName), unhex(t, rfcUserNameOctet); !bytes.Equal(got, want) {
			t.Errorf("UserName octets = % X, want % X", got, want)
		}
	})
	t.Run("Password", func(t *testing.T) {
		if got, want := utf16LE(rfcPassword), unhex(t, rfcPasswordUTF16); !bytes.Equal(got, want) {
			t.Errorf("Password octets = % X, want % X", got, want)
		}
	})
	t.Run("NtPasswordHash", func(t *testing.T) {
		if got := mschapv2.NTHash(rfcPassword); got != ntHash {
			t.Errorf("NTHash = % X, want % X", got, ntHash)
		}
		if got := md4Sum(unhex(t, rfcPasswordUTF16)); got != ntHash {
			t.Errorf("MD4(RFC password octets) = % X, want % X", got, ntHash)
		}
	})
	t.Run("ChallengeHash", func(t *testing.T) {
		if got, want := mschapv2.ChallengeHash(peer, auth, rfcUserName), hex8(t, rfcChallenge); got != want {
			t.Errorf("ChallengeHash = % X, want % X", got, want)
		}
	})
	t.Run("ChallengeResponse", func(t *testing.T) {
		if got := mschapv2.ChallengeResponse(hex8(t, rfcChallenge), ntHash); got != ntResp {
			t.Errorf("ChallengeResponse = % X, want % X", got, ntResp)
		}
	})
	t.Run("GenerateNTResponse", func(t *testing.T) {
		if got := mschapv2.GenerateNTResponse(auth, peer, rfcUserName, ntHash); got != ntResp {
			t.Errorf("from NT hash = % X, want % X", got, ntResp)
		}
		if got := mschapv2.GenerateNTResponse(auth, peer, rfcUserName, mschapv2.NTHash(rfcPassword)); got != ntResp {
			t.Errorf("from password = % X, want % X", got, ntResp)
		}
	})
	t.Run("HashNtPasswordHash", func(t *testing.T) {
		if got, want := mschapv2.HashNTHash(ntHash), hex16(t, rfcHashHash); got != want {
			t.Errorf("HashNTHash = % X, want % X", got, want)
		}
	})
	t.Run("GenerateAuthenticatorResponse", func(t *testing.T) {
		got := mschapv2.GenerateAuthenticatorResponse(ntHash, ntResp, peer, auth, rfcUserName)
		if got != rfcAuthResponse {
			t.Errorf("from NT hash = %q, want %q", got, rfcAuthResponse)
		}
		if len(got) != mschapv2.AuthenticatorResponseLen {
			t.Errorf("len = %d, want %d", len(got), mschapv2.AuthenticatorResponseLen)
		}
		got = mschapv2.GenerateAuthenticatorResponseFromHashHash(hex16(t, rfcHashHash), ntResp, peer, auth, rfcUserName)
		if got != rfcAuthResponse {
			t.Errorf("from PasswordHashHash = %q, want %q", got, rfcAuthResponse)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		if !mschapv2.Verify(auth, peer, rfcUserName, ntResp, ntHash) {
			t.Error("Verify rejects the RFC's NT-Response")
		}
	})
	t.Run("CheckAuthenticatorResponse", func(t *testing.T) {
		if !mschapv2.CheckAuthenticatorResponse(ntHash, ntResp, peer, auth, rfcUserName, rfcAuthResponse) {
			t.Error("CheckAuthenticatorResponse rejects the RFC's AuthenticatorResponse")
		}
	})
}

// TestRFC2759DESKeyExampleHash is the password hash of RFC 2759 section
// 9.3; the DES keys of that example are checked in deskey_test.go.
func TestRFC2759DESKeyExampleHash(t *testing.T) {
	if got, want := mschapv2.NTHash("MyPw"), hex16(t, "FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC"); got != want {
		t.Errorf("NTHash(%q) = % X, want % X", "MyPw", got, want)
	}
}

func TestNTHashUTF16(t *testing.T) {
	tests := []struct {
		name     string
		password string
		// utf16le is the encoding written out by hand; empty means "use
		// only the utf16.Encode definition".
		utf16le string
	}{
		{name: "empty", password: "", utf16le: ""},
		{name: "ASCII", password: "Ab1", utf16le: "41 00 62 00 31 00"},
		{name: "Latin-1", password: "pässwörd", utf16le: "70 00 E4 00 73 00 73 00 77 00 F6 00 72 00 64 00"},
		{name: "Cyrillic", password: "пароль", utf16le: "3F 04 30 04 40 04 3E 04 3B 04 4C 04"},
		{name: "CJK", password: "密码", utf16le: "C6 5B 01 78"},
		{name: "euro", password: "€", utf16le: "AC 20"},
		// U+1F600 is D83D DE00 in UTF-16.
		{name: "emoji", password: "a😀b", utf16le: "61 00 3D D8 00 DE 62 00"},
		// U+10FFFF, the last code point, is DBFF DFFF.
		{name: "max rune", password: "\U0010FFFF", utf16le: "FF DB FF DF"},
		// U+10000, the first supplementary code point, is D800 DC00.
		{name: "first supplementary", password: "\U00010000", utf16le: "00 D8 00 DC"},
		// U+FFFF stays one code unit.
		{name: "last BMP", password: "\uFFFF", utf16le: "FF FF"},
		// An invalid UTF-8 byte counts as U+FFFD.
		{name: "invalid UTF-8", password: "a\xffb", utf16le: "61 00 FD FF 62 00"},
		// A UTF-8-encoded surrogate is invalid UTF-8: three U+FFFD.
		{name: "encoded surrogate", password: "\xed\xa0\x80", utf16le: "FD FF FD FF FD FF"},
		{name: "long", password: strings.Repeat("ß😀", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mschapv2.NTHash(tt.password)
			if want := md4Sum(utf16LE(tt.password)); got != want {
				t.Errorf("NTHash = % X, want MD4(utf16.Encode) = % X", got, want)
			}
			if tt.utf16le != "" || tt.password == "" {
				enc := unhex(t, tt.utf16le)
				if !bytes.Equal(utf16LE(tt.password), enc) {
					t.Fatalf("test table: utf16.Encode gives % X, table says % X", utf16LE(tt.password), enc)
				}
				if want := md4Sum(enc); got != want {
					t.Errorf("NTHash = % X, want MD4(% X) = % X", got, enc, want)
				}
			}
		})
	}
}

func TestStripDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"User", "User"},
		{`DOMAIN\User`, "User"},
		{`\User`, "User"},
		{`DOMAIN\`, ""},
		{`a\b\c`, "c"},
		{"user@example.com", "user@example.com"},
		{`EXAMPLE\user@example.com`, "user@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := mschapv2.StripDomain(tt.in); got != tt.want {
			t.Errorf("StripDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestUserNameAsSent: every function that takes a user name strips the
// domain itself (RFC 2759 section 8.2), so callers pass the name as the
// peer sent it.
func TestUserNameAsSent(t *testing.T) {
	auth := hex16(t, rfcAuthChallenge)
	peer := hex16(t, rfcPeerChallenge)
	ntHash := hex16(t, rfcPasswordHash)
	ntResp := hex24(t, rfcNTResponse)
	for _, name := range []string{`DOMAIN\User`, `WORKGROUP\User`, `\User`} {
		if got, want := mschapv2.ChallengeHash(peer, auth, name), hex8(t, rfcChallenge); got != want {
			t.Errorf("ChallengeHash(%q) = % X, want % X", name, got, want)
		}
		if got := mschapv2.GenerateNTResponse(auth, peer, name, ntHash); got != ntResp {
			t.Errorf("GenerateNTResponse(%q) = % X, want % X", name, got, ntResp)
		}
		if !mschapv2.Verify(auth, peer, name, ntResp, ntHash) {
			t.Errorf("Verify(%q) = false", name)
		}
		if got := mschapv2.GenerateAuthenticatorResponse(ntHash, ntResp, peer, auth, name); got != rfcAuthResponse {
			t.Errorf("GenerateAuthenticatorResponse(%q) = %q, want %q", name, got, rfcAuthResponse)
		}
	}
	// The name is otherwise hashed exactly: case and realm count.
	for _, name := range []string{"user", "USER", "User@example.com", "User "} {
		if mschapv2.Verify(auth, peer, name, ntResp, ntHash) {
			t.Errorf("Verify(%q) = true, want false", name)
		}
	}
}

// TestChallengeHashLongName covers names past the RFC's 256 characters,
// which take the allocating path.
func TestChallengeHashLongName(t *testing.T) {
	peer := hex16(t, rfcPeerChallenge)
	auth := hex16(t, rfcAuthChallenge)
	for _, n := range []int{0, 1, 255, 256, 257, 1000} {
		name := strings.Repeat("u", n)
		d := sha1.Sum(append(append(peer[:], auth[:]...), name...))
		if got := mschapv2.ChallengeHash(peer, auth, `DOM\`+name); !bytes.Equal(got[:], d[:8]) {
			t.Errorf("len %d: ChallengeHash = % X, want % X", n, got, d[:8])
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	auth := hex16(t, rfcAuthChallenge)
	peer := hex16(t, rfcPeerChallenge)
	ntHash := hex16(t, rfcPasswordHash)
	ntResp := hex24(t, rfcNTResponse)

	for bit := range 8 * len(ntResp) {
		r := ntResp
		r[bit/8] ^= 1 << (bit % 8)
		if mschapv2.Verify(auth, peer, rfcUserName, r, ntHash) {
			t.Errorf("Verify accepts the NT-Response with bit %d flipped", bit)
		}
	}
	// Every bit of the NT hash is a key bit of one of the three DES keys.
	for bit := range 8 * len(ntHash) {
		h := ntHash
		h[bit/8] ^= 1 << (bit % 8)
		if mschapv2.Verify(auth, peer, rfcUserName, ntResp, h) {
			t.Errorf("Verify accepts an NT hash with bit %d flipped", bit)
		}
	}
	for bit := range 8 * len(auth) {
		a, p := auth, peer
		a[bit/8] ^= 1 << (bit % 8)
		p[bit/8] ^= 1 << (bit % 8)
		if mschapv2.Verify(a, peer, rfcUserName, ntResp, ntHash) {
			t.Errorf("Verify accepts an authenticator challenge with bit %d flipped", bit)
		}
		if mschapv2.Verify(auth, p, rfcUserName, ntResp, ntHash) {
			t.Errorf("Verify accepts a peer challenge with bit %d flipped", bit)
		}
	}
	// The two challenges are not interchangeable.
	if mschapv2.Verify(peer, auth, rfcUserName, ntResp, ntHash) {
		t.Error("Verify accepts the challenges swapped")
	}
	if mschapv2.Verify(auth, peer, rfcUserName, ntResp, mschapv2.NTHash("clientpass")) {
		t.Error("Verify accepts a wrong password")
	}
	if mschapv2.Verify(auth, peer, rfcUserName, [24]byte{}, ntHash) {
		t.Error("Verify accepts a zero NT-Response")
	}
}

func TestCheckAuthenticatorResponse(t *testing.T) {
	auth := hex16(t, rfcAuthChallenge)
	peer := hex16(t, rfcPeerChallenge)
	ntHash := hex16(t, rfcPasswordHash)
	ntResp := hex24(t, rfcNTResponse)
	check := func(s string) bool {
		return mschapv2.CheckAuthenticatorResponse(ntHash, ntResp, peer, auth, rfcUserName, s)
	}

	if !check("S=" + strings.ToLower(rfcAuthResponse[2:])) {
		t.Error("rejects lower-case hex digits")
	}
	for i := 2; i < len(rfcAuthResponse); i++ {
		b := []byte(rfcAuthResponse)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		if check(string(b)) {
			t.Errorf("accepts %q (digit %d changed)", b, i)
		}
	}
	for _, s := range []string{
		"",
		"S=",
		rfcAuthResponse[:41],
		rfcAuthResponse + "0",
		rfcAuthResponse + " M=Welcome",
		"s=" + rfcAuthResponse[2:],
		"T=" + rfcAuthResponse[2:],
		"S=" + strings.Repeat("G", 40),
		"S=407A5589115FD0D6209F510FE9C04566932CDA5 ",
	} {
		if check(s) {
			t.Errorf("accepts %q", s)
		}
	}
	// The response proves knowledge of the password: another hash fails.
	if mschapv2.CheckAuthenticatorResponse(mschapv2.NTHash("x"), ntResp, peer, auth, rfcUserName, rfcAuthResponse) {
		t.Error("accepts the response under a wrong NT hash")
	}
	// And it is bound to the NT-Response it answers.
	other := ntResp
	other[0] ^= 1
	if mschapv2.CheckAuthenticatorResponse(ntHash, other, peer, auth, rfcUserName, rfcAuthResponse) {
		t.Error("accepts the response for another NT-Response")
	}
}

// TestAllocs pins the allocations of the NT-hash path. The hashing and the
// MPPE keys allocate nothing. ChallengeResponse allocates only inside
// crypto/des: three key schedules, plus the two blocks that escape through
// the cipher.Block interface. It runs once per login, not per packet.
func TestAllocs(t *testing.T) {
	auth := hex16(t, rfcAuthChallenge)
	peer := hex16(t, rfcPeerChallenge)
	ntHash := hex16(t, rfcPasswordHash)
	ntResp := hex24(t, rfcNTResponse)
	hashHash := hex16(t, rfcHashHash)
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"ChallengeHash", 0, func() { mschapv2.ChallengeHash(peer, auth, `DOMAIN\User`) }},
		{"MasterSessionKeys", 0, func() { mschapv2.MasterSessionKeys(hashHash, ntResp, true) }},
		{"GenerateAuthenticatorResponseFromHashHash", 1, func() {
			mschapv2.GenerateAuthenticatorResponseFromHashHash(hashHash, ntResp, peer, auth, rfcUserName)
		}},
		{"GenerateNTResponse", 5, func() { mschapv2.GenerateNTResponse(auth, peer, rfcUserName, ntHash) }},
		{"Verify", 5, func() { mschapv2.Verify(auth, peer, rfcUserName, ntResp, ntHash) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, n, tt.max)
		}
	}
}

func BenchmarkGenerateNTResponse(b *testing.B) {
	auth := hex16(b, rfcAuthChallenge)
	peer := hex16(b, rfcPeerChallenge)
	ntHash := hex16(b, rfcPasswordHash)
	b.Run("FromNTHash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mschapv2.GenerateNTResponse(auth, peer, rfcUserName, ntHash)
		}
	})
	b.Run("FromPassword", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mschapv2.GenerateNTResponse(auth, peer, rfcUserName, mschapv2.NTHash(rfcPassword))
		}
	})
}

func BenchmarkGenerateAuthenticatorResponse(b *testing.B) {
	auth := hex16(b, rfcAuthChallenge)
	peer := hex16(b, rfcPeerChallenge)
	ntResp := hex24(b, rfcNTResponse)
	hashHash := hex16(b, rfcHashHash)
	b.ReportAllocs()
	for b.Loop() {
		mschapv2.GenerateAuthenticatorResponseFromHashHash(hashHash, ntResp, peer, auth, rfcUserName)
	}
}
