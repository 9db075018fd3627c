package events

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// WriteTable writes events as a table for people, one line each, with the
// time in the local time zone:
//
//	TIME                       KIND          RESULT    USER  CLIENT       SESSION  SERVICE  DETAIL
//	2024-05-01T12:00:03+02:00  login         refused   bob   203.0.113.7  -        vpn      "Password and OATH" rejected: wrong code
//
// DETAIL says what matters for the kind: the deciding branch of an
// accepted login, why a login was refused, the address and encryption of
// a session, why and after how long it went down and the traffic it
// carried, a plugin's back-end and why it exited. Control characters in
// any field are escaped, so a user name cannot forge a line.
func WriteTable(w io.Writer, events []Event) error {
	return writeTable(w, events, time.Local)
}

func writeTable(w io.Writer, events []Event, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tRESULT\tUSER\tCLIENT\tSESSION\tSERVICE\tDETAIL")
	for i := range events {
		e := &events[i]
		client := ""
		if e.Client.IsValid() {
			client = e.Client.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Time.In(loc).Format(time.RFC3339), e.Kind, cell(string(e.Result)), cell(e.User),
			cell(client), cell(e.SessionID), cell(e.Service), cell(Detail(e)))
	}
	return tw.Flush()
}

// cell is s with control characters escaped, or "-" when empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

func clean(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Detail is the one-line summary WriteTable shows in its DETAIL column.
func Detail(e *Event) string {
	var parts []string
	add := func(format string, a ...any) { parts = append(parts, fmt.Sprintf(format, a...)) }
	switch e.Kind {
	case KindLogin:
		if e.Result == Accepted && e.Branch != "" {
			add("by %q", e.Branch)
		}
		if e.Reason != "" {
			add("%s", e.Reason)
		} else if e.Result != Accepted && len(e.Branches) > 0 {
			add("%s", branchSummary(e.Branches))
		}
		if e.Method != "" {
			add("%s", e.Method)
		}
		if e.FrontDoor == FrontDoorRADIUS && e.NAS != "" {
			add("nas %s", e.NAS)
		}
	case KindSessionUp:
		if e.Address.IsValid() {
			add("address %s", e.Address)
		}
		if e.Encryption != "" {
			add("%s", e.Encryption)
		}
		if e.NAS != "" {
			add("nas %s", e.NAS)
		}
	case KindSessionDown:
		if e.Reason != "" {
			add("%s", e.Reason)
		}
		if e.Duration > 0 {
			add("after %s", e.Duration.Round(time.Second))
		}
		if e.BytesIn+e.BytesOut+e.PacketsIn+e.PacketsOut > 0 {
			add("in %s/%d pkts, out %s/%d pkts", sizeIEC(e.BytesIn), e.PacketsIn, sizeIEC(e.BytesOut), e.PacketsOut)
		}
	default:
		if e.Backend != "" {
			add("backend %s", e.Backend)
		}
		if e.Reason != "" {
			add("%s", e.Reason)
		}
	}
	if e.Message != "" {
		add("%s", e.Message)
	}
	if e.Operator != "" {
		add("by %s", e.Operator)
	}
	return strings.Join(parts, "; ")
}

// sizeIEC writes n in IEC units, to three significant digits.
func sizeIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 6 {
		v /= unit
		i++
	}
	p := 0
	switch {
	case v < 10:
		p = 2
	case v < 100:
		p = 1
	}
	return fmt.Sprintf("%.*f %ciB", p, v, "KMGTPE"[i-1])
}
