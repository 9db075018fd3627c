package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// A TOTP code is consumed once: the second commit of the same time step,
// from this process or another, is a replay.
func ExampleStore_CommitTOTP() {
	dir, err := os.MkdirTemp("", "gatehouse-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	key, err := seal.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		log.Fatal(err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "gatehouse.db"), sealer)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	if err := st.AddUser(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	err = st.AddToken(ctx, store.Token{
		Serial: "OATH0001", Kind: store.KindTOTP, Algorithm: store.AlgSHA1, Digits: 6,
		Period: 30 * time.Second, LastStep: -1, Secret: []byte("12345678901234567890"),
		User: "alice", Source: store.SourceOATH,
	})
	if err != nil {
		log.Fatal(err)
	}

	step := int64(59 / 30) // RFC 6238 test time 59 s
	fmt.Println(st.CommitTOTP(ctx, "OATH0001", step, 0))
	err = st.CommitTOTP(ctx, "OATH0001", step, 0)
	fmt.Println(errors.Is(err, store.ErrReplayed), err)

	tok, _ := st.Token(ctx, "OATH0001")
	fmt.Println(tok)
	// Output:
	// <nil>
	// true token "OATH0001": time step 1: one-time code already used
	// Token{Serial:"OATH0001" Kind:totp Algorithm:SHA1 Digits:6 Period:30s T0:0 Counter:0 LastStep:1 Drift:0 User:"alice" Source:oath Manufacturer:"" Model:"" Secret:REDACTED}
}
