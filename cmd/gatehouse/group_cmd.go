package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
)

func newGroupCmd() *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "group",
		Short: "Manage groups of the local store",
		Long: `Groups of the local store. VPN access and firewall policies can be granted
per group in the configuration (pptp.access.groups, firewall.groups).`,
		Example: `  gatehouse group add vpn-users
  gatehouse group member add vpn-users alice
  gatehouse group list`,
	}
	sf.register(c)
	member := &cobra.Command{Use: "member", Short: "Add users to groups and remove them"}
	member.AddCommand(
		storeOp(&sf, "add GROUP USER", "Add a user to a group", "  gatehouse group member add vpn-users alice", 2,
			func(c *cobra.Command, st *store.Store, a []string) (string, error) {
				return fmt.Sprintf("%s added to %s", a[1], a[0]), st.AddMember(c.Context(), a[0], a[1])
			}),
		storeOp(&sf, "remove GROUP USER", "Remove a user from a group", "  gatehouse group member remove vpn-users alice", 2,
			func(c *cobra.Command, st *store.Store, a []string) (string, error) {
				return fmt.Sprintf("%s removed from %s", a[1], a[0]), st.RemoveMember(c.Context(), a[0], a[1])
			}),
	)
	c.AddCommand(
		storeOp(&sf, "add NAME", "Add a group", "  gatehouse group add vpn-users", 1,
			func(c *cobra.Command, st *store.Store, a []string) (string, error) {
				return "group " + a[0] + " added", st.AddGroup(c.Context(), a[0])
			}),
		storeOp(&sf, "delete NAME", "Delete a group (its memberships go with it)", "  gatehouse group delete contractors", 1,
			func(c *cobra.Command, st *store.Store, a []string) (string, error) {
				return "group " + a[0] + " deleted", st.DeleteGroup(c.Context(), a[0])
			}),
		storeOp(&sf, "list", "List groups and their members", "  gatehouse group list", 0,
			func(c *cobra.Command, st *store.Store, _ []string) (string, error) {
				groups, err := st.Groups(c.Context())
				if err != nil {
					return "", err
				}
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				fmt.Fprint(tw, "GROUP\tMEMBERS")
				for _, g := range groups {
					fmt.Fprintf(tw, "\n%s\t%s", g.Name, strings.Join(g.Members, ","))
				}
				tw.Flush()
				return b.String(), nil
			}),
		member,
	)
	return c
}
