package main

import (
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/plugins/builtin"
)

func newPluginCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "plugin",
		Short: "Show the running gateway's back-end plugins",
		Long: `Every back-end but the in-memory one runs as a plugin process under the
gateway: the built-in local, oath and digipass back-ends (the gatehouse
binary re-executing itself) and third-party plugins pinned by SHA-256.`,
	}
	c.AddCommand(newPluginListCmd(), newPluginRunCmd())
	return c
}

func newPluginListCmd() *cobra.Command {
	var af adminFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "List plugins: name, version, protocol, capabilities, pid, state, restarts, calls that waited, last error",
		Long: `List asks the running gateway (its admin listener, admin.listen in the
configuration, or --admin) for the state of every plugin.`,
		Example: `  gatehouse plugin list --config /etc/gatehouse/gatehouse.yaml
  gatehouse plugin list --admin 127.0.0.1:9723`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var list []pluginStatus
			if err := af.do(c.Context(), http.MethodGet, "/v1/plugins", &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOL\tCAPABILITIES\tPID\tSTATE\tRESTARTS\tWAITED/REFUSED\tLAST ERROR")
			for _, p := range list {
				last := p.LastError
				if last == "" {
					last = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%d\t%d/%d\t%s\n", p.Name, p.Version, p.Protocol, p.Capabilities, p.PID, p.State,
					p.Restarts, p.CallsWaited, p.CallsRefused, last)
			}
			return tw.Flush()
		},
	}
	af.register(c)
	return c
}

// newPluginRunCmd is how the gateway starts a built-in plugin: the binary
// re-executes itself in plugin mode. Hidden: not for operators.
func newPluginRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "run NAME",
		Short:  "Serve a built-in back-end as a plugin (the gateway runs this)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			builtin.Version = Version
			return builtin.Serve(args[0])
		},
	}
}
