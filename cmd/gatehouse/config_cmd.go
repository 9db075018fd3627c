package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

const defaultConfig = "/etc/gatehouse/gatehouse.yaml"

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Validate the configuration file",
	}
	c.AddCommand(newConfigCheckCmd())
	return c
}

func newConfigCheckCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "check",
		Short: "Validate the whole configuration file, policies included",
		Long: `Check decodes the configuration strictly (unknown keys, wrong types and
missing required keys are errors), validates every section, compiles every
service's policy against the configured back-ends and checks that each
branch can work for the credentials its front door receives.

Every problem is listed, not only the first, as FILE:LINE:COL: MESSAGE.
Warnings do not fail the check; errors exit with status 1.`,
		Example: `  gatehouse config check --config /etc/gatehouse/gatehouse.yaml
  gatehouse config check --config examples/reference.yaml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, _, ps, err := loadChecked(path)
			if err != nil {
				return err
			}
			return report(c.OutOrStdout(), path, ps)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	return c
}

// loadChecked loads a configuration and checks its policies; problems of
// both kinds come back together, in file order.
func loadChecked(path string) (*config.Config, map[string]*authpolicy.Policy, config.Problems, error) {
	cfg, ps, err := config.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	policies, pps := cfg.CheckPolicies()
	all := append(append(append(append(ps, pps...), checkPluginBinaries(cfg)...), unbuiltProblems(cfg)...), checkStoreFiles(cfg)...)
	sortProblems(all)
	return cfg, policies, all, nil
}

// checkPluginBinaries hashes every external plugin binary and compares it
// with its pin, so that a rebuilt or missing plugin shows up in "config
// check" rather than at the next start.
func checkPluginBinaries(cfg *config.Config) config.Problems {
	var ps config.Problems
	for _, name := range slices.Sorted(maps.Keys(cfg.Plugins.External)) {
		ext := cfg.Plugins.External[name]
		path := "plugins.external." + name + ".binary"
		pos := cfg.Pos(path)
		problem := func(sev config.Severity, msg string) {
			ps = append(ps, config.Problem{File: cfg.File, Line: pos.Line, Col: pos.Col, Path: path, Msg: msg, Severity: sev})
		}
		f, err := os.Open(ext.Binary)
		if errors.Is(err, os.ErrNotExist) {
			// A configuration may be checked before the plugin is installed.
			problem(config.Warning, fmt.Sprintf("%s is not installed yet: the gateway will not start until it is", ext.Binary))
			continue
		}
		if err != nil {
			problem(config.Error, fmt.Sprintf("cannot read the plugin binary: %v", err))
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			problem(config.Error, fmt.Sprintf("cannot read the plugin binary: %v", err))
			continue
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != ext.SHA256 {
			problem(config.Error, fmt.Sprintf("%s has SHA-256 %s, the configuration pins %s: the gateway will refuse to start it (update the pin if you rebuilt it)", ext.Binary, sum, ext.SHA256))
		}
	}
	return ps
}

// checkStoreFiles checks the PostgreSQL store's dsn_file: that it
// exists, holds one connection string that parses, and that group and
// others cannot read the password it usually carries. The configuration
// package reads no files; this check runs in "config check" and at start.
func checkStoreFiles(cfg *config.Config) config.Problems {
	s := cfg.Store
	if s.Driver != config.StorePostgres || s.DSNFile == "" {
		return nil
	}
	pos := cfg.Pos("store.dsn_file")
	if !cfg.Has("store.dsn_file") {
		pos = cfg.Pos("store")
	}
	if _, err := readDSN(s.DSNFile); err != nil {
		return config.Problems{{File: cfg.File, Line: pos.Line, Col: pos.Col, Path: "store.dsn_file",
			Msg: strings.TrimPrefix(err.Error(), "store: "), Severity: config.Error}}
	}
	return nil
}

func sortProblems(ps config.Problems) {
	slices.SortStableFunc(ps, func(a, b config.Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// report prints every problem and a summary line; errors make it return an
// exit status of 1.
func report(w io.Writer, path string, ps config.Problems) error {
	for _, p := range ps {
		fmt.Fprintln(w, p.String())
		if p.Detail != "" {
			for _, line := range strings.Split(p.Detail, "\n") {
				fmt.Fprintln(w, "    "+line)
			}
		}
	}
	nerr, nwarn := len(ps.Errors()), len(ps.Warnings())
	switch {
	case nerr > 0:
		fmt.Fprintf(w, "%s: %s, %s\n", path, count(nerr, "error"), count(nwarn, "warning"))
		return &exitError{code: 1}
	case nwarn > 0:
		fmt.Fprintf(w, "%s: OK, %s\n", path, count(nwarn, "warning"))
	default:
		fmt.Fprintf(w, "%s: OK\n", path)
	}
	return nil
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unbuiltProblems refuses settings this release's PPTP server cannot
// honour, rather than ignoring them.
func unbuiltProblems(cfg *config.Config) config.Problems {
	p := cfg.PPTP
	if !p.Enabled {
		return nil
	}
	var ps config.Problems
	add := func(on bool, path, msg string) {
		if on {
			pos := cfg.Pos(path)
			ps = append(ps, config.Problem{File: cfg.File, Line: pos.Line, Col: pos.Col, Path: path, Msg: msg, Severity: config.Error})
		}
	}
	add(p.Auth.PAP && p.MPPE.Required, "pptp.auth.pap", "PAP gives no MPPE keys, so a PAP session cannot be encrypted: with pptp.auth.pap on, set pptp.mppe.required: false as well (MS-CHAPv2 clients still get MPPE when they ask)")
	add(p.Auth.CHAPMD5 && p.MPPE.Required, "pptp.auth.chap_md5", "CHAP-MD5 gives no MPPE keys, so a CHAP-MD5 session cannot be encrypted: with pptp.auth.chap_md5 on, set pptp.mppe.required: false as well (MS-CHAPv2 and MS-CHAPv1 clients still get MPPE when they ask)")
	return ps
}
