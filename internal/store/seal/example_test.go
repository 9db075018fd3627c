package seal_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// The additional data names the row a value belongs to; the value does not
// open anywhere else.
func ExampleSealer() {
	s, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize)) // use LoadOrCreateKey
	if err != nil {
		panic(err)
	}
	sealed := s.Seal([]byte("hunter2"), []byte("password:alice"))
	fmt.Println(len(sealed) - len("hunter2"))

	pw, err := s.Open(sealed, []byte("password:alice"))
	fmt.Printf("%s %v\n", pw, err)

	_, err = s.Open(sealed, []byte("password:bob"))
	fmt.Println(errors.Is(err, seal.ErrAuthFailed))
	fmt.Println(s)
	// Output:
	// 29
	// hunter2 <nil>
	// true
	// seal.Sealer(REDACTED)
}
