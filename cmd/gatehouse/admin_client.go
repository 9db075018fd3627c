package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// adminFlags are the flags of the commands that ask the running gateway,
// through its admin listener: --config (for admin.listen) or --admin.
type adminFlags struct {
	config, admin string
}

func (f *adminFlags) register(c *cobra.Command) {
	c.Flags().StringVarP(&f.config, "config", "c", defaultConfig, "configuration file (for admin.listen)")
	c.Flags().StringVar(&f.admin, "admin", "", "admin listener address, instead of the configuration's")
}

// address is the admin listener to ask.
func (f *adminFlags) address() (string, error) {
	if f.admin != "" {
		return f.admin, nil
	}
	cfg, ps, err := config.Load(f.config)
	if err != nil {
		return "", err
	}
	if errs := ps.Errors(); len(errs) > 0 {
		return "", fmt.Errorf("configuration has %s (run gatehouse config check)", count(len(errs), "error"))
	}
	if !cfg.Admin.Listen.IsValid() {
		return "", fmt.Errorf("%s: admin.listen is off; pass --admin ADDR", f.config)
	}
	return cfg.Admin.Listen.String(), nil
}

// adminError is what the admin API answers with a status other than 2xx.
type adminError struct {
	Error string `json:"error"`
}

// do sends method path to the admin listener and decodes the JSON answer
// into out (nil: ignore it). An answer other than 2xx is an error carrying
// the listener's message.
func (f *adminFlags) do(ctx context.Context, method, path string, out any) error {
	addr, err := f.address()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is the gateway running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e adminError
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("admin listener %s answered %s", addr, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin listener %s: %w", addr, err)
	}
	return nil
}

// writeError answers an admin API request with status and the error as
// JSON ({"error": "..."}).
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(adminError{Error: strings.TrimSpace(fmt.Sprintf(format, args...))})
}
