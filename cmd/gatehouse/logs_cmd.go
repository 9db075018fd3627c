package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

func newLogsCmd() *cobra.Command {
	var (
		af                                           adminFlags
		user, client, session, result, service, door string
		since, until                                 string
		kinds                                        []string
		limit                                        int
		asJSON, follow                               bool
	)
	c := &cobra.Command{
		Use:   "logs",
		Short: "Search the gateway's events: logins, sessions, kills, lockouts, plugins",
		Long: `The running gateway's event index (log.index), through its admin
listener: one event per login (accepted or refused, with each policy
branch's reason), session up and down (cause, bytes, duration), kill,
revocation, lockout and unlock, plugin start, exit and restart, reload.
Events are kept for log.retention (default 30 days). Kinds: ` + strings.Join(kindNames(), ", ") + `.`,
		Example: `  gatehouse logs --user bob --since 1h
  gatehouse logs --kind login --result refused --since 2d
  gatehouse logs --session 6756A1F0-12
  gatehouse logs --client 203.0.113.0/24 --json
  gatehouse logs --follow --kind login,lockout`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"user": user, "client": client, "session": session, "result": result,
				"service": service, "front_door": door, "since": since, "until": until} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if len(kinds) > 0 {
				q.Set("kind", strings.Join(kinds, ","))
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			// Checked here too, for an error that names the flag.
			f, err := events.ParseFilter(q, time.Now())
			if err != nil {
				return usagef("%s", strings.Replace(err.Error(), "front_door", "front-door", 1))
			}
			q = f.Values() // times made absolute
			w := c.OutOrStdout()
			if follow {
				return followEvents(c, &af, q, asJSON, w)
			}
			var evs []events.Event
			if err := af.do(c.Context(), http.MethodGet, "/v1/events?"+q.Encode(), &evs); err != nil {
				return err
			}
			if asJSON {
				return printJSON(w, evs)
			}
			return events.WriteTable(w, evs)
		},
	}
	af.register(c)
	fl := c.Flags()
	fl.StringVar(&user, "user", "", "only this user's events")
	fl.StringVar(&client, "client", "", "only events of this client address or network (203.0.113.0/24)")
	fl.StringVar(&session, "session", "", "only this session's events (its id, as sessions list shows it)")
	fl.StringSliceVar(&kinds, "kind", nil, "only these kinds (comma-separated or repeated)")
	fl.StringVar(&result, "result", "", "only logins with this result: accepted or refused")
	fl.StringVar(&service, "service", "", "only events of this service")
	fl.StringVar(&door, "front-door", "", "only events of this front door: pptp or radius")
	fl.StringVar(&since, "since", "", "only events since: a duration back (1h, 2d) or a time (2026-12-06 10:00, RFC 3339)")
	fl.StringVar(&until, "until", "", "only events before: a duration back or a time")
	fl.IntVar(&limit, "limit", 0, "at most this many of the newest matching events (default 1000)")
	fl.BoolVar(&asJSON, "json", false, "print JSON (one array; with --follow, one object per line)")
	fl.BoolVarP(&follow, "follow", "f", false, "print new events as they happen, until interrupted")
	return c
}

func kindNames() []string {
	var out []string
	for _, k := range events.Kinds() {
		out = append(out, k.String())
	}
	return out
}

// followEvents prints the events the gateway streams (GET
// /v1/events?follow=1) until the command's context ends or the gateway
// closes the stream.
func followEvents(c *cobra.Command, af *adminFlags, q url.Values, asJSON bool, w io.Writer) error {
	q.Set("follow", "1")
	resp, err := af.request(c.Context(), http.MethodGet, "/v1/events?"+q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	header := true
	for sc.Scan() {
		if asJSON {
			fmt.Fprintf(w, "%s\n", sc.Bytes())
			continue
		}
		var ev events.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("the gateway sent %q: %w", sc.Text(), err)
		}
		var b bytes.Buffer
		if err := events.WriteTable(&b, []events.Event{ev}); err != nil {
			return err
		}
		table := b.String()
		if !header {
			_, table, _ = strings.Cut(table, "\n")
		}
		header = false
		fmt.Fprint(w, table)
	}
	if c.Context().Err() != nil {
		return nil
	}
	return sc.Err()
}
