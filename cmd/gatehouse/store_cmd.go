package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// storeFlags are the flags every command that opens the local store takes.
type storeFlags struct{ config string }

func (f *storeFlags) register(c *cobra.Command) {
	c.PersistentFlags().StringVarP(&f.config, "config", "c", defaultConfig, "configuration file (its store section says where the store is)")
}

// open loads the configuration and opens the local store it names. The
// configuration must have no errors (warnings are fine).
func (f *storeFlags) open(ctx context.Context) (*store.Store, *config.Config, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	return st, cfg, err
}

// load loads the configuration, which must have no errors, without
// opening the store.
func (f *storeFlags) load() (*config.Config, error) {
	cfg, ps, err := config.Load(f.config)
	if err != nil {
		return nil, err
	}
	if errs := ps.Errors(); len(errs) > 0 {
		return nil, fmt.Errorf("configuration has %s (run gatehouse config check):\n%w", count(len(errs), "error"), errs)
	}
	return cfg, nil
}

// openStore opens the local store of cfg, creating its directory and key on
// first use. When running as root, the store's directory and files are
// handed to plugins.user: the built-in back-ends run as that user and keep
// their state (token counters, replay state) there. On PostgreSQL only
// the key is handed over (the plugins get the connection string from the
// gateway, not from the file), and every gateway sharing the database
// must hold the same key file: a missing one is created here, and then
// the database's key check refuses it, saying so.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	pg := cfg.Store.Driver == config.StorePostgres
	dirs := []string{filepath.Dir(cfg.Store.KeyFile)}
	if !pg {
		dirs = append(dirs, filepath.Dir(cfg.Store.Path))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("store directory: %w", err)
		}
	}
	var dsn string
	var err error
	if pg {
		if dsn, err = readDSN(cfg.Store.DSNFile); err != nil {
			return nil, err
		}
	} else if _, err := store.RecoverKey(ctx, cfg.Store.Path, cfg.Store.KeyFile, store.KeyOptions{}); err != nil {
		// A key change (store rekey, store restore) that was interrupted
		// left secret.key.new: it is finished or undone before the key is
		// read.
		return nil, err
	}
	key, err := seal.LoadOrCreateKey(cfg.Store.KeyFile)
	if err != nil {
		return nil, err
	}
	s, err := seal.New(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	var st *store.Store
	if pg {
		st, err = store.OpenPostgres(ctx, dsn, s, store.PostgresOptions{MaxConns: cfg.Store.MaxConns})
		if errors.Is(err, store.ErrWrongKey) {
			err = fmt.Errorf("%w\nevery gateway sharing this database needs the same key file: copy %s from the gateway that first opened it", err, cfg.Store.KeyFile)
		}
	} else {
		st, err = store.Open(ctx, cfg.Store.Path, s)
	}
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// plugins.user must pass through state_dir (not list it) to reach
		// its store directory.
		if err := addMode(cfg.StateDir, 0o011); err != nil {
			st.Close()
			return nil, fmt.Errorf("state directory: %w", err)
		}
		uid, gid, err := lookupUser(cfg.Plugins.User)
		if err != nil {
			st.Close()
			return nil, err
		}
		paths := append(dirs, cfg.Store.KeyFile)
		if !pg {
			paths = append(paths, cfg.Store.Path, cfg.Store.Path+"-wal", cfg.Store.Path+"-shm")
		}
		for _, p := range paths {
			if err := os.Lchown(p, uid, gid); err != nil && !errors.Is(err, os.ErrNotExist) {
				st.Close()
				return nil, fmt.Errorf("hand the store to plugins.user %s: %w", cfg.Plugins.User, err)
			}
		}
	}
	return st, nil
}

// readDSN reads and checks store.dsn_file.
func readDSN(path string) (string, error) { return store.ReadDSNFile(path) }

// lookupUser resolves a user name (or numeric id) to its uid and gid.
func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("plugins.user %q: %w", name, err)
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// addMode adds permission bits to path's mode.
func addMode(path string, bits os.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&bits == bits {
		return nil
	}
	return os.Chmod(path, fi.Mode().Perm()|bits)
}

// storeOp is a store command with a fixed number of arguments whose work is
// fn; what fn returns is printed on success.
func storeOp(sf *storeFlags, use, short, example string, nargs int, fn func(*cobra.Command, *store.Store, []string) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(nargs),
		RunE: func(c *cobra.Command, args []string) error {
			st, _, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			msg, err := fn(c, st, args)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), msg)
			return nil
		},
	}
}
