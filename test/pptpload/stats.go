package pptpload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ReadServerStats reads the server's resident memory and threads from
// /proc/PID/status (pid > 0) and its goroutines and sessions from its
// Prometheus metrics (go_goroutines, gatehouse_pptp_sessions, and
// process_resident_memory_bytes when no pid is given) at metricsURL,
// when not empty.
func ReadServerStats(ctx context.Context, pid int, metricsURL string) (*ServerStats, error) {
	var st ServerStats
	if pid > 0 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return nil, fmt.Errorf("pptpload: server stats: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "VmRSS:":
				kb, _ := strconv.ParseFloat(f[1], 64)
				st.RSSBytes = kb * 1024
			case "Threads:":
				st.Threads, _ = strconv.ParseFloat(f[1], 64)
			}
		}
	}
	if metricsURL != "" {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
		if err != nil {
			return nil, fmt.Errorf("pptpload: server metrics: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("pptpload: server metrics: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("pptpload: server metrics: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "go_goroutines":
				st.Goroutines = v
			case "gatehouse_pptp_sessions":
				st.Sessions = v
			case "process_resident_memory_bytes":
				if pid <= 0 {
					st.RSSBytes = v
				}
			}
		}
	}
	return &st, nil
}
