package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// adminFlags are the flags of the commands that ask the running gateway,
// through its admin API: --config (for admin.socket, admin.listen and
// admin.token_file), --admin and --token-file to override them.
type adminFlags struct {
	config, admin, tokenFile string
}

func (f *adminFlags) register(c *cobra.Command) {
	c.Flags().StringVarP(&f.config, "config", "c", defaultConfig, "configuration file (for admin.socket, admin.listen, admin.token_file)")
	c.Flags().StringVar(&f.admin, "admin", "", "admin listener, HOST:PORT or unix:PATH, instead of the configuration's")
	c.Flags().StringVar(&f.tokenFile, "token-file", "", "admin token file, instead of the configuration's admin.token_file")
}

// target is where to ask: a TCP address, or a Unix socket's path (unix
// set), and the token to show (none over the socket).
type target struct {
	addr  string
	unix  bool
	token string
}

// target works out the admin API to ask. The configuration, when it
// loads, gives the socket (preferred: no token needed), the listener and
// the token file; the flags override each.
func (f *adminFlags) target() (target, error) {
	cfg, ps, cfgErr := config.Load(f.config)
	if cfgErr == nil {
		if errs := ps.Errors(); len(errs) > 0 {
			cfgErr = fmt.Errorf("configuration has %s (run gatehouse config check)", count(len(errs), "error"))
		}
	}
	var t target
	switch {
	case strings.HasPrefix(f.admin, "unix:"):
		return target{addr: strings.TrimPrefix(f.admin, "unix:"), unix: true}, nil
	case f.admin != "":
		t.addr = f.admin
	case cfgErr != nil:
		return t, cfgErr
	case cfg.Admin.Socket != "":
		return target{addr: cfg.Admin.Socket, unix: true}, nil
	case !cfg.Admin.Listen.IsValid():
		return t, fmt.Errorf("%s: admin.listen and admin.socket are off; pass --admin ADDR", f.config)
	default:
		t.addr = cfg.Admin.Listen.String()
	}
	path := f.tokenFile
	if path == "" && cfgErr == nil {
		path = cfg.Admin.TokenFile
	}
	if path != "" {
		tok, err := readToken(path)
		if err != nil {
			return t, fmt.Errorf("%w (the admin API needs it: run as the gateway's user, or pass --token-file)", err)
		}
		t.token = tok
	}
	return t, nil
}

// adminError is what the admin API answers with a status other than 2xx.
type adminError struct {
	Error string `json:"error"`
}

// do sends method path to the admin listener and decodes the JSON answer
// into out (nil: ignore it). An answer other than 2xx is an error carrying
// the listener's message.
func (f *adminFlags) do(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := f.request(ctx, method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	return nil
}

// request sends method path to the admin listener and returns the 2xx
// answer, whose body the caller reads and closes; an answer other than 2xx
// is an error carrying the listener's message. ctx bounds the whole
// exchange, body included.
func (f *adminFlags) request(ctx context.Context, method, path string) (*http.Response, error) {
	t, err := f.target()
	if err != nil {
		return nil, err
	}
	addr := t.addr
	client := http.DefaultClient
	host := addr
	if t.unix {
		host = "gatehouse"
		client = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", addr)
			},
		}}
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+host+path, nil)
	if err != nil {
		return nil, err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the gateway running? %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e adminError
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("admin listener %s answered %s", addr, resp.Status)
	}
	return resp, nil
}

// writeError answers an admin API request with status and the error as
// JSON ({"error": "..."}).
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(adminError{Error: strings.TrimSpace(fmt.Sprintf(format, args...))})
}
