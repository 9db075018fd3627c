package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

// The same filter from a query string (or CLI flags), and back.
func ExampleParseFilter() {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	v, _ := url.ParseQuery("user=bob&kind=login,session_down&result=refused&since=2h&client=203.0.113.0/24")
	f, err := events.ParseFilter(v, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Values().Encode())

	_, err = events.ParseFilter(url.Values{"since": {"yesterday"}}, now)
	fmt.Println(err)
	// Output:
	// client=203.0.113.0%2F24&kind=login%2Csession_down&result=refused&since=2024-05-01T10%3A00%3A00Z&user=bob
	// since "yesterday": write how long ago, such as 30m, 1h or 2d, or a time such as 2024-05-01T10:00:00Z, 2024-05-01 10:00 or 2024-05-01
}

// One call writes an event to the log and to the index.
func ExampleRecorder() {
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable example output
			}
			return a
		},
	}))
	var ix *events.Index // Open failed: the gateway runs without an index
	r := &events.Recorder{Log: log, Index: ix}
	r.Record(context.Background(), events.Event{
		Kind: events.KindLogin, Result: events.Refused, FrontDoor: events.FrontDoorPPTP, Service: "vpn", User: "bob",
		Method: "mschapv2", Client: netip.MustParseAddr("203.0.113.7"),
		Branches: []events.BranchOutcome{{Branch: "Password and OATH", Outcome: "rejected", Reason: "wrong one-time code"}},
	})
	// Output:
	// level=INFO msg="login refused" kind=login result=refused front_door=pptp service=vpn user=bob method=mschapv2 branches="\"Password and OATH\" rejected: wrong one-time code" client=203.0.113.7
}
