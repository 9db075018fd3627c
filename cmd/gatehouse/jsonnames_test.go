package main

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

// TestAdminJSONSnakeCase: every key the admin API writes is snake_case,
// but for /v1/pptp's deprecated "stats" (the Go names, kept one release).
func TestAdminJSONSnakeCase(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if path == "pptp" && k == "stats" {
					continue
				}
				if !snake.MatchString(k) {
					t.Errorf("%s: key %q is not snake_case", path, k)
				}
				walk(path+"."+k, sub)
			}
		case []any:
			for _, sub := range v {
				walk(path+"[]", sub)
			}
		}
	}
	for name, v := range map[string]any{
		"pptp":    pptpStatus{},
		"session": sessionJSON{Address: "192.0.2.2", Branch: "b", MPPEBits: 128, MPPEMode: "stateless"},
		"plugin":  pluginStatus{LastError: "x"},
		"event":   events.Event{Kind: events.KindLogin, Result: events.Accepted, Branches: []events.BranchOutcome{{Branch: "b", Reason: "r"}}},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		walk(name, m)
	}
	// The check can fail: the deprecated stats object is CamelCase.
	b, _ := json.Marshal(pptpStatus{})
	var m map[string]map[string]any
	_ = json.Unmarshal(b, &m)
	if _, ok := m["stats"]["GREReceived"]; !ok {
		t.Errorf("deprecated stats object gone or renamed early: %s", b)
	}
}
