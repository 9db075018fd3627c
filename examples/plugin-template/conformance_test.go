package main

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
)

// TestConformance runs Gatehouse's conformance kit: the back-end is served
// over go-plugin and gRPC as sdk.Serve serves it, and called as the gateway
// calls it. Run it with -race.
func TestConformance(t *testing.T) {
	users, err := filepath.Abs("testdata/partners.txt")
	if err != nil {
		t.Fatal(err)
	}
	sdktest.Run(t, newAllowList(nil), sdktest.Options{
		Config: map[string]string{"users_file": users},
		User:   "partner1",
		Secret: "correct horse battery staple",
	})
}
