package builtin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
	"github.com/gatehouse-vpn/gatehouse/plugins/radius"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// Version is the built-in back-ends' version, the gateway's own.
var Version = "dev"

// New returns the built-in back-end called name.
func New(name string) (sdk.Backend, error) {
	switch name {
	case "local":
		return &Local{}, nil
	case "oath":
		return NewOATH(store.SourceOATH), nil
	case "digipass":
		return NewOATH(store.SourceDIGIPASS), nil
	case "ldap":
		ldap.Version = Version
		return ldap.New(), nil
	case "radius":
		radius.Version = Version
		return radius.New(sdk.Logger()), nil
	}
	return nil, fmt.Errorf("no built-in back-end %q (built in: %v)", name, Names())
}

// Names lists the built-in back-ends.
func Names() []string {
	n := []string{"local", "oath", "digipass", "ldap", "radius"}
	sort.Strings(n)
	return n
}

// Serve runs the built-in back-end called name as a plugin; it returns only
// on a bad name.
func Serve(name string) error {
	b, err := New(name)
	if err != nil {
		return err
	}
	sdk.Serve(b)
	return nil
}

var storeKeys = []sdk.ConfigKey{
	{Name: "store_driver", Description: "sqlite (default) or postgres"},
	{Name: "store_path", Description: "the local store's SQLite file (sqlite)"},
	{Name: "store_dsn", Description: "the PostgreSQL connection string (postgres); the gateway reads it from store.dsn_file"},
	{Name: "store_max_conns", Description: "the PostgreSQL connections of this process at most (postgres)"},
	{Name: "key_file", Required: true, Description: "the key that seals secrets in the store"},
}

// storeHandle opens the store once, on Configure, and keeps it with a
// cache of its reads (store.Cache): a login reads from memory unless the
// database changed since the last one.
type storeHandle struct {
	mu    sync.Mutex
	st    *store.Store
	cache *store.Cache
}

func (h *storeHandle) configure(ctx context.Context, opts map[string]string) error {
	key, err := seal.LoadOrCreateKey(opts["key_file"])
	if err != nil {
		return err
	}
	s, err := seal.New(key)
	clear(key)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, opts, s)
	if err != nil {
		return err
	}
	cache, err := store.NewCache(ctx, st)
	if err != nil {
		st.Close()
		return err
	}
	h.mu.Lock()
	oldSt, oldCache := h.st, h.cache
	h.st, h.cache = st, cache
	h.mu.Unlock()
	if oldSt != nil {
		oldCache.Close()
		oldSt.Close()
	}
	return nil
}

// openStore opens the store the options name.
func openStore(ctx context.Context, opts map[string]string, s *seal.Sealer) (*store.Store, error) {
	switch opts["store_driver"] {
	case "", string(store.SQLite):
		if opts["store_path"] == "" {
			return nil, fmt.Errorf("option store_path is required with store_driver sqlite")
		}
		return store.Open(ctx, opts["store_path"], s)
	case string(store.Postgres):
		if opts["store_dsn"] == "" {
			return nil, fmt.Errorf("option store_dsn is required with store_driver postgres")
		}
		n := 0
		if v := opts["store_max_conns"]; v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 {
				return nil, fmt.Errorf("option store_max_conns: %q is not a positive number", v)
			}
		}
		return store.OpenPostgres(ctx, opts["store_dsn"], s, store.PostgresOptions{MaxConns: n})
	default:
		return nil, fmt.Errorf("option store_driver: %q is neither sqlite nor postgres", opts["store_driver"])
	}
}

// storeErr rewrites *err, when it means the store's database could not be
// reached (PostgreSQL down or restarting: store.IsUnavailable), into one
// that says so first: the back-end's error fails the login closed, and
// this is the reason the gateway's log and login event show.
func storeErr(err *error) {
	if *err != nil && store.IsUnavailable(*err) {
		*err = fmt.Errorf("the store's database is unreachable, login refused: %w", *err)
	}
}

// get returns the store, for writes, and its cache, for reads.
func (h *storeHandle) get() (*store.Store, *store.Cache, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.st == nil {
		return nil, nil, fmt.Errorf("not configured: the store is not open")
	}
	return h.st, h.cache, nil
}
