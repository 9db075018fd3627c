package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// newStoreMigrateCmd is "gatehouse store migrate": a single gateway's
// SQLite store copied into the PostgreSQL store the configuration names,
// so that a second gateway can share it.
func newStoreMigrateCmd(sf *storeFlags) *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "migrate --from sqlite:PATH --to postgres",
		Short: "Copy a SQLite store into the PostgreSQL store of the configuration",
		Long: `Copies every user, group, token (with its counters and replay state),
lockout and console operator of a SQLite store into the PostgreSQL database
that the configuration's store.dsn_file names. The database must be empty of
users, groups, tokens and operators (its schema is created if needed).

Sealed passwords and token secrets are copied sealed: the configuration's
store.key_file must be the SQLite store's key (copy secret.key from the
gateway), and every gateway sharing the database needs that same file.

The SQLite store is read in one snapshot; stop the gateway first, or logins
made during the copy (one-time codes spent) are not carried over.`,
		Example: `  systemctl stop gatehouse
  gatehouse store migrate --from sqlite:/var/lib/gatehouse/store/gatehouse.db --to postgres -c /etc/gatehouse/gatehouse.yaml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			path, ok := strings.CutPrefix(from, "sqlite:")
			if !ok || path == "" {
				return fmt.Errorf("--from %q: write sqlite:PATH, the SQLite database file to copy", from)
			}
			if to != "postgres" {
				return fmt.Errorf("--to %q: the only destination is postgres, the store of the configuration", to)
			}
			cfg, err := sf.load()
			if err != nil {
				return err
			}
			if cfg.Store.Driver != config.StorePostgres {
				return fmt.Errorf("the configuration's store.driver is %s: set store.driver: postgres and store.dsn_file first", cfg.Store.Driver)
			}
			rep, err := migrateStore(c.Context(), cfg, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "copied %s into PostgreSQL: %s, %s, %s, %s, %s, %s\n", path,
				count(rep.Users, "user"), count(rep.Groups, "group"), count(rep.Members, "membership"),
				count(rep.Tokens, "token"), count(rep.Lockouts, "lockout"), count(rep.Operators, "operator"))
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the store to copy: sqlite:PATH")
	c.Flags().StringVar(&to, "to", "postgres", "where to: postgres (the configuration's store)")
	c.MarkFlagRequired("from")
	return c
}

// migrateStore opens the SQLite file under the configuration's key and
// copies it into the configuration's PostgreSQL store.
func migrateStore(ctx context.Context, cfg *config.Config, path string) (store.CopyReport, error) {
	if _, err := os.Stat(path); err != nil {
		return store.CopyReport{}, fmt.Errorf("--from: %w", err)
	}
	key, err := seal.LoadKey(cfg.Store.KeyFile)
	if err != nil {
		return store.CopyReport{}, fmt.Errorf("%w (copy the SQLite store's key file to store.key_file first)", err)
	}
	s, err := seal.New(key)
	clear(key)
	if err != nil {
		return store.CopyReport{}, err
	}
	src, err := store.Open(ctx, path, s)
	if errors.Is(err, store.ErrWrongKey) {
		return store.CopyReport{}, fmt.Errorf("%w\n%s is not the key of %s: copy that store's key file to store.key_file", err, cfg.Store.KeyFile, path)
	}
	if err != nil {
		return store.CopyReport{}, err
	}
	defer src.Close()
	dst, err := openStore(ctx, cfg)
	if err != nil {
		return store.CopyReport{}, err
	}
	defer dst.Close()
	return store.Copy(ctx, dst, src)
}
