package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/plugins/builtin"
	"github.com/gatehouse-vpn/gatehouse/server/config"
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
	var path, admin string
	c := &cobra.Command{
		Use:   "list",
		Short: "List plugins: name, version, protocol, capabilities, pid, state, restarts, calls that waited, last error",
		Long: `List asks the running gateway (its admin listener, admin.listen in the
configuration, or --admin) for the state of every plugin.`,
		Example: `  gatehouse plugin list --config /etc/gatehouse/gatehouse.yaml
  gatehouse plugin list --admin 127.0.0.1:9723`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if admin == "" {
				cfg, ps, err := config.Load(path)
				if err != nil {
					return err
				}
				if errs := ps.Errors(); len(errs) > 0 {
					return fmt.Errorf("configuration has %s (run gatehouse config check)", count(len(errs), "error"))
				}
				if !cfg.Admin.Listen.IsValid() {
					return fmt.Errorf("%s: admin.listen is off; pass --admin ADDR", path)
				}
				admin = cfg.Admin.Listen.String()
			}
			client := &http.Client{Timeout: 5 * time.Second}
			resp, err := client.Get("http://" + admin + "/v1/plugins")
			if err != nil {
				return fmt.Errorf("is the gateway running? %w", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("admin listener %s answered %s", admin, resp.Status)
			}
			var list []pluginStatus
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
				return fmt.Errorf("admin listener %s: %w", admin, err)
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
	c.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file (for admin.listen)")
	c.Flags().StringVar(&admin, "admin", "", "admin listener address, instead of the configuration's")
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
