package config

import (
	"testing"
	"time"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"0": 0, "512": 512, "64KiB": 64 << 10, "100MiB": 100 << 20, "2GiB": 2 << 30, " 1 MiB ": 1 << 20, "7B": 7} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || b != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
	for _, bad := range []string{"", "-1MiB", "1.5GiB", "100MB", "lots", "99999999999GiB"} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted as %d", bad, b)
		}
	}
	for b, want := range map[ByteSize]string{0: "0", 100 << 20: "100MiB", 1536: "1536", 1 << 30: "1GiB", 3 << 10: "3KiB"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d) = %q, want %q", int64(b), got, want)
		}
	}
}

func TestDurationDays(t *testing.T) {
	cfg, ps := Parse("gatehouse.yaml", []byte("backends: {P: {type: local}}\nservices: {pptp: {policy: P}}\nlog: {retention: 7d}\n"))
	if errs := ps.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if cfg.Log.Retention != 7*24*time.Hour {
		t.Errorf("retention 7d = %s", cfg.Log.Retention)
	}
	_, ps = Parse("gatehouse.yaml", []byte("backends: {P: {type: local}}\nservices: {pptp: {policy: P}}\nlog: {retention: 30m}\n"))
	if len(ps.Errors()) == 0 {
		t.Error("retention 30m (below the 1h minimum) accepted")
	}
}
