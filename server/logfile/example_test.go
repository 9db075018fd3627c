package logfile_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gatehouse-vpn/gatehouse/server/logfile"
)

// A gateway logging JSON to a file that rotates at 100 MiB and keeps five
// old files; on SIGUSR1 it would call f.Reopen.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatehouse.log")

	f, err := logfile.Open(path, logfile.Options{MaxSize: logfile.DefaultMaxSize, MaxFiles: logfile.DefaultMaxFiles})
	if err != nil {
		fmt.Println(err) // the gateway would log to standard error instead
		return
	}
	defer f.Close()
	log := slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable example output
			}
			return a
		},
	}))
	log.Info("login refused", "user", "bob")

	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// {"level":"INFO","msg":"login refused","user":"bob"}
}
