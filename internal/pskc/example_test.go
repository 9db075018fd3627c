package pskc_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/gatehouse-vpn/gatehouse/internal/pskc"
)

// Parse decrypts Figure 6 of RFC 6030 with its pre-shared key.
func ExampleParse() {
	data, err := os.ReadFile("testdata/rfc6030-figure6.pskcxml")
	if err != nil {
		panic(err)
	}
	key, _ := hex.DecodeString("12345678901234567890123456789012")

	pkgs, err := pskc.Parse(data, pskc.Options{PreSharedKey: key})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, kp := range pkgs {
		fmt.Println(kp.Serial, kp.Kind(), kp.Digits, "digits, counter", kp.Counter)
		fmt.Println("secret:", kp.Secret)
		fmt.Println("hex:", hex.EncodeToString(kp.Secret))
	}
	// Output:
	// 987654321 hotp 8 digits, counter 0
	// secret: REDACTED
	// hex: 3132333435363738393031323334353637383930
}

// A file that needs a key says which, so that the importer can ask for it.
func ExampleKeyRequiredError() {
	data, err := os.ReadFile("testdata/rfc6030-figure7.pskcxml")
	if err != nil {
		panic(err)
	}
	_, err = pskc.Parse(data, pskc.Options{})
	var kr *pskc.KeyRequiredError
	if errors.As(err, &kr) && kr.Protection == pskc.ProtectionPassword {
		fmt.Printf("Password for %q: ", kr.KeyName)
		pkgs, err := pskc.Parse(data, pskc.Options{Password: []byte("qwerty")})
		fmt.Println(len(pkgs), "key package(s)", err)
	}
	// Output:
	// Password for "My Password 1": 1 key package(s) <nil>
}
