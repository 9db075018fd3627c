package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newSessionsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "sessions",
		Aliases: []string{"session"},
		Short:   "List, show and end the running PPTP sessions",
		Long: `The running gateway's PPTP sessions, through its admin listener
(admin.listen in the configuration, or --admin). A session's id is its
RADIUS Acct-Session-Id; every log line of the session carries it as
"session".`,
		Example: `  gatehouse sessions list --user bob
  gatehouse sessions show 6756A1F0-12
  gatehouse sessions kill 6756A1F0-12 --reason "left the company"`,
	}
	c.AddCommand(newSessionsListCmd(), newSessionsShowCmd(), newSessionsKillCmd())
	return c
}

func newSessionsListCmd() *cobra.Command {
	var (
		af                    adminFlags
		user, client, service string
		asJSON                bool
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List the running sessions (filter by --user, --client, --service)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"user": user, "client": client, "service": service} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var list []sessionJSON
			if err := af.do(c.Context(), http.MethodGet, "/v1/sessions?"+q.Encode(), &list); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tCLIENT\tADDRESS\tSERVICE\tBRANCH\tMPPE\tUP\tIN\tOUT")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, orDash(s.User), s.Client, orDash(s.Address),
					s.Service, orDash(s.Branch), mppe(s), since(s.Started), byteSize(s.BytesIn), byteSize(s.BytesOut))
			}
			return tw.Flush()
		},
	}
	af.register(c)
	c.Flags().StringVar(&user, "user", "", "only this user's sessions")
	c.Flags().StringVar(&client, "client", "", "only sessions from this client address")
	c.Flags().StringVar(&service, "service", "", "only sessions of this service")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func newSessionsShowCmd() *cobra.Command {
	var (
		af     adminFlags
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show one session",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			var s sessionJSON
			if err := af.do(c.Context(), http.MethodGet, "/v1/sessions/"+url.PathEscape(a[0]), &s); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.OutOrStdout(), s)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, row := range [][2]string{
				{"id", s.ID}, {"user", orDash(s.User)}, {"service", s.Service}, {"branch", orDash(s.Branch)},
				{"client", s.Client}, {"address", orDash(s.Address)},
				{"call ids", fmt.Sprintf("%d (ours), %d (the client's)", s.CallID, s.PeerCallID)},
				{"established", fmt.Sprint(s.Established)}, {"mppe", mppe(s)},
				{"started", s.Started.Local().Format(time.RFC3339) + " (" + since(s.Started) + " ago)"},
				{"in", fmt.Sprintf("%s, %d packets", byteSize(s.BytesIn), s.PacketsIn)},
				{"out", fmt.Sprintf("%s, %d packets", byteSize(s.BytesOut), s.PacketsOut)},
			} {
				fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
			}
			return tw.Flush()
		},
	}
	af.register(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func newSessionsKillCmd() *cobra.Command {
	var (
		af     adminFlags
		reason string
	)
	c := &cobra.Command{
		Use:   "kill ID",
		Short: "End a session (LCP Terminate, Call-Disconnect-Notify, accounting Stop with Admin-Reset)",
		Long: `Kill ends a running session the way a PPTP server does: an LCP
Terminate-Request to the client, a Call-Disconnect-Notify, and a
Stop-Control-Connection-Request when it was the connection's last call.
Accounting sends its Stop with Acct-Terminate-Cause Admin-Reset. The client
may dial again; to keep a user out, disable the user as well.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			path := "/v1/sessions/" + url.PathEscape(a[0])
			if reason != "" {
				path += "?" + url.Values{"reason": {reason}}.Encode()
			}
			if err := af.do(c.Context(), http.MethodDelete, path, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "session %s: ending it\n", a[0])
			return nil
		},
	}
	af.register(c)
	c.Flags().StringVar(&reason, "reason", "", "why, for the log and the session's cause")
	return c
}

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mppe(s sessionJSON) string {
	if s.MPPEBits == 0 {
		return "none"
	}
	return fmt.Sprintf("%d-bit %s", s.MPPEBits, s.MPPEMode)
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }

// byteSize is n in B, KiB, MiB or GiB.
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMG"[exp])
}
