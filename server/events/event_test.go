package events

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// sampleEvents is one event of each shape the gateway writes.
func sampleEvents() []Event {
	return []Event{
		{Time: t0, Kind: KindGatewayStart, Message: "gatehouse 1.4.0"},
		{Time: t0.Add(1 * time.Second), Kind: KindLogin, Result: Accepted, FrontDoor: FrontDoorPPTP, Service: "vpn", User: "bob",
			Branch: "Password and OATH", Method: "mschapv2", Client: netip.MustParseAddr("203.0.113.7"), SessionID: "s1",
			Branches: []BranchOutcome{{Branch: "Password and OATH", Outcome: "accepted"}}, Duration: 42 * time.Millisecond},
		{Time: t0.Add(2 * time.Second), Kind: KindLogin, Result: Refused, FrontDoor: FrontDoorRADIUS, Service: "wifi", User: "alice",
			Method: "pap", Client: netip.MustParseAddr("2001:db8::7"), NAS: "10.1.0.2",
			Branches: []BranchOutcome{
				{Branch: "Password and OATH", Outcome: "rejected", Reason: "wrong one-time code"},
				{Branch: "DIGIPASS", Outcome: "failed", Reason: "plugin crashed"},
			}},
		{Time: t0.Add(3 * time.Second), Kind: KindSessionUp, FrontDoor: FrontDoorPPTP, Service: "vpn", User: "bob",
			Client: netip.MustParseAddr("203.0.113.7"), SessionID: "s1", Address: netip.MustParseAddr("10.0.0.5"), Encryption: "mppe-128 stateless"},
		{Time: t0.Add(time.Hour), Kind: KindSessionDown, FrontDoor: FrontDoorPPTP, Service: "vpn", User: "bob",
			Client: netip.MustParseAddr("203.0.113.7"), SessionID: "s1", Address: netip.MustParseAddr("10.0.0.5"),
			Reason: "idle timeout", Duration: time.Hour - 3*time.Second, BytesIn: 1_234_567, BytesOut: 9_876_543_210, PacketsIn: 1200, PacketsOut: 8000},
		{Time: t0.Add(time.Hour + time.Second), Kind: KindPluginExit, Backend: "corp-ad", Reason: "exit status 2"},
		{Time: t0.Add(time.Hour + 2*time.Second), Kind: KindConfigError, Reason: `services.vpn.policy: unknown back-end "OTP"`},
		{Time: t0.Add(time.Hour + 3*time.Second), Kind: KindLockout, User: "mallory\x1b[2J\nforged", Reason: "5 failed logins in 10m"},
		{Time: t0.Add(time.Hour + 4*time.Second), Kind: KindAdmin, Operator: "ops", User: "bob", Message: "disabled user bob"},
	}
}

// TestEventJSON pins the JSON encoding (snake_case names, zero fields
// left out) and proves it decodes back to the same events.
func TestEventJSON(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range sampleEvents() {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "events.jsonl", buf.Bytes())

	dec := json.NewDecoder(&buf)
	for i, want := range sampleEvents() {
		var got Event
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d round trip:\ngot  %+v\nwant %+v", i, got, want)
		}
	}
	b, _ := json.Marshal(Event{Time: t0, Kind: KindReload})
	if got, want := string(b), `{"time":"2024-05-01T10:00:00Z","kind":"reload"}`; got != want {
		t.Errorf("zero fields: got %s, want %s", got, want)
	}
	if _, err := json.Marshal(Event{}); err == nil {
		t.Error("an event without a kind encoded without error")
	}
}

// TestLogAttrs proves an event written to slog carries the same keys and
// values as its JSON, under its constant title and level.
func TestLogAttrs(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	evs := sampleEvents()
	for i := range evs {
		evs[i].Log(context.Background(), l)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(evs) {
		t.Fatalf("%d log lines for %d events", len(lines), len(evs))
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		b, _ := json.Marshal(evs[i])
		json.Unmarshal(b, &want)
		if got["msg"] != evs[i].Title() || got["level"] != evs[i].Level().String() {
			t.Errorf("line %d: msg %v level %v, want %q %v", i, got["msg"], got["level"], evs[i].Title(), evs[i].Level())
		}
		delete(got, "msg")
		delete(got, "level")
		got["time"] = want["time"]
		if s, ok := got["session"]; ok {
			got["session_id"] = s
			delete(got, "session")
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("line %d:\nlog  %v\njson %v", i, got, want)
		}
	}
	// The text form, for people.
	buf.Reset()
	l = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	evs[2].Log(context.Background(), l)
	want := `level=INFO msg="login refused" kind=login result=refused front_door=radius service=wifi user=alice method=pap ` +
		`branches="\"Password and OATH\" rejected: wrong one-time code; \"DIGIPASS\" failed: plugin crashed" ` +
		"client=2001:db8::7 nas=10.1.0.2\n"
	if buf.String() != want {
		t.Errorf("text log:\ngot  %s\nwant %s", buf.String(), want)
	}
}

// TestKinds proves every kind has a stable snake_case name that parses
// back, and that the zero kind is not one.
func TestKinds(t *testing.T) {
	name := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	seen := map[string]bool{}
	for _, k := range Kinds() {
		s := k.String()
		if !name.MatchString(s) || seen[s] {
			t.Errorf("kind %d: name %q is not a new snake_case word", k, s)
		}
		seen[s] = true
		if got, err := ParseKind(s); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", s, got, err)
		}
		if (&Event{Kind: k}).Title() == "event" {
			t.Errorf("kind %s has no title", s)
		}
	}
	if len(Kinds()) != 16 {
		t.Errorf("%d kinds; the package documentation lists 16", len(Kinds()))
	}
	if Kind(0).Valid() || Kind(numKinds).Valid() {
		t.Error("an out-of-range kind is valid")
	}
	if _, err := ParseKind("logon"); err == nil || !strings.Contains(err.Error(), "session_down") {
		t.Errorf("ParseKind(logon): %v; want an error listing the kinds", err)
	}
}

// TestRecorder proves the log line and the index get the same event, with
// the same time.
func TestRecorder(t *testing.T) {
	clk := newClock(t0)
	ix := newIndex(t, Options{Now: clk.Now})
	var buf bytes.Buffer
	r := &Recorder{Log: slog.New(slog.NewJSONHandler(&buf, nil)), Index: ix, Now: clk.Now}
	r.Record(context.Background(), Event{Kind: KindKill, User: "bob", SessionID: "s9", Message: "by admin"})
	flush(t, ix)
	got := query(t, ix, Filter{})
	if len(got) != 1 || !got[0].Time.Equal(t0) || got[0].SessionID != "s9" {
		t.Fatalf("index holds %+v", got)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["msg"] != "session killed" || line["session"] != "s9" || line["time"] != t0.Format(time.RFC3339) {
		t.Errorf("log line %v", line)
	}
	// Neither side may be there.
	(&Recorder{}).Record(context.Background(), Event{Kind: KindReload})
}

// TestWriteTable pins the human table, including escaped control
// characters in a user name.
func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := writeTable(&buf, sampleEvents(), time.FixedZone("CEST", 2*3600)); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.txt", buf.Bytes())
	if strings.Contains(buf.String(), "\x1b") || strings.Count(buf.String(), "\n") != len(sampleEvents())+1 {
		t.Errorf("a control character reached the table:\n%q", buf.String())
	}
}
