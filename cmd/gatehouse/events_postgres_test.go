package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
)

// TestPostgresSharedEvents: with store.driver postgres the event index is
// in the shared database: a login at gateway A and one at gateway B are
// both in "gatehouse logs" at either, and neither writes log.index's file.
func TestPostgresSharedEvents(t *testing.T) {
	pg := startPGShared(t, postgres.Options{NoFsync: true})
	fastHashes(t)
	pgAddUser(t, pg.open(t), "carol", "carol-pw-Zr4")
	dirA, cfgA := gatewayConfig(t, pg, pgStoreYAML, "Password")
	dirB, cfgB := gatewayConfig(t, pg, pgStoreYAML, "Password")
	a := startGateway(t, "A", dirA, cfgA)
	b := startGateway(t, "B", dirB, cfgB)

	if got := a.papLogin(t, "carol", "carol-pw-Zr4"); got != lr.CodeAccessAccept {
		t.Fatalf("A answered %v, want Access-Accept", got)
	}
	if got := b.papLogin(t, "carol", "not-her-password"); got != lr.CodeAccessReject {
		t.Fatalf("B answered %v, want Access-Reject", got)
	}
	for _, g := range []*gwProc{a, b} {
		var results map[string]int
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) { // the index writes behind
			results = map[string]int{}
			for _, ev := range g.loginEvents(t, "") {
				if ev["user"] == "carol" {
					r, _ := ev["result"].(string)
					results[r]++
				}
			}
			if results["accepted"] == 1 && results["refused"] == 1 || time.Now().After(deadline) {
				break
			}
		}
		if results["accepted"] != 1 || results["refused"] != 1 {
			t.Errorf("gatehouse logs at %s: carol's logins %v; want A's accept and B's refusal", g.name, results)
		}
	}
	for _, dir := range []string{dirA, dirB} {
		if _, err := os.Stat(filepath.Join(dir, "state", "events.db")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: log.index's file exists (%v); with postgres the index is in the database", dir, err)
		}
	}
}
