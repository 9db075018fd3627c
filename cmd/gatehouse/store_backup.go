package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

func newStoreCmd() *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "store",
		Short: "Back up, restore, re-key and migrate the local store",
		Long: `The local store is two files: the SQLite database (store.path) and the key
that seals its passwords and token secrets (store.key_file). Without the key
the sealed secrets are lost, so these commands keep the two together:

  backup   copies both into one file, online: the gateway may keep running
  restore  puts a backup back in place: stop the gateway first
  rekey    replaces the key and reseals every secret: stop the gateway first
  migrate  copies a SQLite store into PostgreSQL, for several gateways

A backup file holds the key: keep it as secret as the key itself. On
PostgreSQL, back up with pg_dump and keep the key file with the dump.`,
		Example: `  gatehouse store backup --out /var/backups/gatehouse.backup
  gatehouse store restore --from /var/backups/gatehouse.backup --dry-run
  systemctl stop gatehouse && gatehouse store rekey && systemctl start gatehouse`,
	}
	sf.register(c)
	c.AddCommand(newStoreBackupCmd(&sf), newStoreRestoreCmd(&sf), newStoreRekeyCmd(&sf), newStoreMigrateCmd(&sf))
	return c
}

// backupWarning is printed on standard error after every backup.
func backupWarning(where string) string {
	return fmt.Sprintf(`WARNING: %s holds the store's key and every secret it seals: every local
password and every token seed. Whoever reads it can log in as any local user.
Keep it as secret as the key file itself (it is written with mode 0600:
keep it that way, and encrypt it before it leaves this machine). Keep it
safe, too: losing secret.key loses every sealed password and token seed,
and this file is a copy of that key.
`, where)
}

func newStoreBackupCmd(sf *storeFlags) *cobra.Command {
	var (
		out   string
		force bool
	)
	c := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Copy the database and its key into one backup file (online, consistent)",
		Long: `Write one file holding a transactionally consistent copy of the database,
taken while the gateway keeps running, and the key file. It is a tar file
(MANIFEST.json, gatehouse.db, secret.key, SHA256SUMS) written with mode 0600
to a temporary name and renamed into place; an existing file is kept unless
--force is given. With --out - it goes to standard output (not a terminal),
for example into gpg or age.

The file holds the key: whoever reads it has every password and token seed.`,
		Example: `  gatehouse store backup --out /var/backups/gatehouse-$(date +%F).backup
  gatehouse store backup --out - | age -r age1... > gatehouse.backup.age`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlag("out", out); err != nil {
				return err
			}
			if out == "-" && isTerminal(c.OutOrStdout()) {
				return usagef("refusing to write the backup (binary, and holding the key) to a terminal: redirect or pipe standard output")
			}
			cfg, err := sf.load()
			if err != nil {
				return err
			}
			if err := sqliteOnly(cfg, "backup"); err != nil {
				return err
			}
			if err := notStoreFile(cfg, out); err != nil {
				return err
			}
			st, err := openStore(c.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			var m store.BackupManifest
			where, summary := out, c.OutOrStdout()
			if out == "-" {
				where, summary = "the backup written to standard output", c.ErrOrStderr()
				m, err = st.Backup(c.Context(), c.OutOrStdout(), cfg.Store.KeyFile)
			} else {
				m, err = st.BackupToFile(c.Context(), out, cfg.Store.KeyFile, force)
			}
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("%w (pass --force to replace it)", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(summary, "backup of %s written to %s: %s\n", cfg.Store.Path, displayOut(out), describeBackup(m))
			fmt.Fprint(c.ErrOrStderr(), backupWarning(where))
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "backup file to write, or - for standard output")
	c.Flags().BoolVar(&force, "force", false, "replace an existing backup file")
	return c
}

// notStoreFile refuses a backup path that is one of the store's own
// files (with --force it would be replaced by the backup).
func notStoreFile(cfg *config.Config, out string) error {
	if out == "-" {
		return nil
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, p := range []string{cfg.Store.Path, cfg.Store.Path + "-wal", cfg.Store.Path + "-shm",
		cfg.Store.KeyFile, cfg.Store.KeyFile + store.NewKeySuffix} {
		if abs == filepath.Clean(p) {
			return usagef("--out %s is one of the store's own files; write the backup elsewhere", out)
		}
	}
	return nil
}

func displayOut(out string) string {
	if out == "-" {
		return "standard output"
	}
	return out
}

func describeBackup(m store.BackupManifest) string {
	return fmt.Sprintf("made %s, schema version %d, %s, %s, %s",
		m.Created.Local().Format(time.DateTime), m.SchemaVersion,
		count(m.Users, "user"), count(m.Passwords, "password"), count(m.Tokens, "token"))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newStoreRestoreCmd(sf *storeFlags) *cobra.Command {
	var (
		from          string
		force, dryRun bool
	)
	c := &cobra.Command{
		Use:   "restore --from FILE",
		Short: "Replace the local store with a backup (stop the gateway first)",
		Long: `Put a backup made by "gatehouse store backup" in place of the store named by
the configuration: the database at store.path and the key at store.key_file.

Before touching anything, the whole file is checked: its format, the SHA-256
of every member, the database's integrity, a schema version this gatehouse
knows (an older one is migrated afterwards), and that the key in the backup
opens every sealed secret in it. An existing store is replaced only with
--force. A store that is open, by a running gateway or its plugins, is
refused: stop the gateway first. The switch survives a crash at any point:
the next gatehouse command finds either the old store or the restored one.

--dry-run only checks the file. --from - reads standard input.`,
		Example: `  gatehouse store restore --from /var/backups/gatehouse.backup --dry-run
  systemctl stop gatehouse
  gatehouse store restore --from /var/backups/gatehouse.backup --force
  systemctl start gatehouse`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlag("from", from); err != nil {
				return err
			}
			var r io.Reader = c.InOrStdin()
			if from != "-" {
				f, err := os.Open(from)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			ctx := c.Context()
			if dryRun {
				m, err := store.VerifyBackup(ctx, r, "")
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "%s is a good backup: %s\n", displayFrom(from), describeBackup(m))
				return nil
			}
			cfg, err := sf.load()
			if err != nil {
				return err
			}
			if err := storeIdle(cfg); err != nil {
				return err
			}
			m, err := store.Restore(ctx, r, cfg.Store.Path, cfg.Store.KeyFile, store.RestoreOptions{Force: force})
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("%w; to replace it, pass --force (take a backup of it first: gatehouse store backup --out FILE)", err)
			}
			if err != nil {
				return err
			}
			msg := fmt.Sprintf("store %s restored from %s (%s)", cfg.Store.Path, displayFrom(from), describeBackup(m))
			if err := settleStore(ctx, cfg); err != nil {
				return fmt.Errorf("%s, but it does not open: %w", msg, err)
			}
			if m.SchemaVersion < store.SchemaVersion() {
				msg += fmt.Sprintf("; migrated to schema version %d", store.SchemaVersion())
			}
			fmt.Fprintln(c.OutOrStdout(), msg)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "backup file to restore, or - for standard input")
	c.Flags().BoolVar(&force, "force", false, "replace an existing store (database and key file)")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "only check the backup file; change nothing")
	return c
}

func displayFrom(from string) string {
	if from == "-" {
		return "standard input"
	}
	return from
}

func newStoreRekeyCmd(sf *storeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rekey",
		Short: "Replace the store's key and reseal every secret under it (stop the gateway first)",
		Long: `Generate a new key for store.key_file and reseal every local password and
token secret under it, for example after the key file may have been copied.

The gateway must be stopped: it and its plugins hold the old key in memory,
and a store they have open is refused. The change survives a crash at any
point: the new key is written to store.key_file + ".new", every secret is
resealed in one database transaction, and the new key is then renamed over
the old one; the next gatehouse command finishes or undoes an interrupted
change.

The old key is deleted, not kept: keeping it would defeat a rotation after
a leak. Backups made before carry the old key with them and still restore
(the store then goes back to the old key); take a new backup after the
rotation and, if the old key leaked, destroy the old backups. A rotation
does not undo a leak: whoever had the key and a copy of the database has
the secrets as they were then, so also change the passwords and re-enrol
the tokens concerned.`,
		Example: `  systemctl stop gatehouse
  gatehouse store rekey
  systemctl start gatehouse
  gatehouse store backup --out /var/backups/gatehouse-rekeyed.backup`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := sf.load()
			if err != nil {
				return err
			}
			if err := sqliteOnly(cfg, "rekey"); err != nil {
				return err
			}
			if _, err := os.Stat(cfg.Store.Path); err != nil {
				return fmt.Errorf("no store to re-key: %w", err)
			}
			if err := storeIdle(cfg); err != nil {
				return err
			}
			// Bring the schema up to date (Rekey wants the current one)
			// and settle any interrupted key change.
			if err := settleStore(c.Context(), cfg); err != nil {
				return err
			}
			res, err := store.Rekey(c.Context(), cfg.Store.Path, cfg.Store.KeyFile, store.KeyOptions{})
			if err != nil {
				return err
			}
			if err := settleStore(c.Context(), cfg); err != nil {
				return fmt.Errorf("the key was replaced, but the store does not open: %w", err)
			}
			fmt.Fprintf(c.OutOrStdout(), "new key in %s: %s and %s resealed; the old key is deleted.\n"+
				"Backups made before now carry the old key; take a new one: gatehouse store backup --out FILE\n",
				cfg.Store.KeyFile, count(res.Passwords, "password"), count(res.Tokens, "token secret"))
			return nil
		},
	}
}

// storeIdle refuses when the gateway is visibly running: its admin socket
// answers. The store itself refuses while anything has the database open
// (store.ErrInUse); this catches a gateway on the same configuration a
// little earlier, with a clearer message.
func storeIdle(cfg *config.Config) error {
	if err := sqliteOnly(cfg, "restore"); err != nil {
		return err
	}
	if cfg.Admin.Socket == "" {
		return nil
	}
	conn, err := net.DialTimeout("unix", cfg.Admin.Socket, 500*time.Millisecond)
	if err != nil {
		return nil
	}
	conn.Close()
	return fmt.Errorf("%w: the gateway is running (its admin socket %s answers): stop it first", store.ErrInUse, cfg.Admin.Socket)
}

// sqliteOnly refuses the SQLite store's file operations on PostgreSQL,
// saying what to do instead.
func sqliteOnly(cfg *config.Config, op string) error {
	if cfg.Store.Driver == config.StoreSQLite {
		return nil
	}
	switch op {
	case "backup", "restore":
		return fmt.Errorf("store %s works on the SQLite store; this one is on PostgreSQL: back it up with pg_dump "+
			"(restore with pg_restore), and keep a copy of the key file %s with it: without the key the database's passwords and token secrets are lost",
			op, cfg.Store.KeyFile)
	default:
		return fmt.Errorf("store %s works on the SQLite store only in this release: on PostgreSQL every gateway holds the key, "+
			"so a rotation needs them all stopped and the new key copied to each; it is not built yet", op)
	}
}

// settleStore opens and closes the store once, as every gatehouse command
// does: the schema is migrated, and as root the new files are handed to
// plugins.user.
func settleStore(ctx context.Context, cfg *config.Config) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	return st.Close()
}
