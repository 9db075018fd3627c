package otp_test

import (
	"fmt"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

// A TOTP login: list the codes acceptable now, find the one the user
// typed, store the state after it. The same code then fails.
func Example() {
	secret := []byte("12345678901234567890")
	p := otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA1, Digits: 8, Period: 30 * time.Second}
	st := otp.State{LastStep: -1}
	now := time.Unix(1111111109, 0) // RFC 6238 Appendix B
	typed := "07081804"

	c, ok := otp.Match(otp.Candidates(secret, p, st, otp.DefaultWindow, now), typed)
	fmt.Println(ok, c.Counter, c.Offset)
	st = otp.Accept(p, st, c)

	_, ok = otp.Match(otp.Candidates(secret, p, st, otp.DefaultWindow, now), typed)
	fmt.Println(ok, st.LastStep)
	// Output:
	// true 37037036 0
	// false 37037036
}

// An HOTP token pressed many times away from the server is found again
// from two consecutive codes.
func ExampleResyncHOTP() {
	secret := []byte("12345678901234567890")
	p := otp.Params{Kind: otp.HOTP, Digits: 6}
	st := otp.State{Counter: 0}

	// RFC 4226 Appendix D: counters 8 and 9. With look-ahead 5 the window
	// holds counters 0 to 5.
	_, ok := otp.Match(otp.Candidates(secret, p, st, otp.Window{LookAhead: 5}, time.Time{}), "399871")
	fmt.Println(ok)
	st, ok = otp.ResyncHOTP(secret, p, st, "399871", "520489", 1000)
	fmt.Println(ok, st.Counter)
	// Output:
	// false
	// true 10
}

func ExampleKeyURI() {
	uri, err := otp.KeyURI(otp.Key{
		Issuer:  "Gatehouse",
		Account: "alice",
		Secret:  []byte("12345678901234567890"),
		Params:  otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(uri)
	// Output:
	// otpauth://totp/Gatehouse:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30
}
