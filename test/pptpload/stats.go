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

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's
// times: 100 on Linux for every architecture Gatehouse runs on.
const clockTicks = 100

// ServerCPU returns the CPU time, user and system, that process pid has
// used so far, from /proc/PID/stat (10 ms resolution).
func ServerCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("pptpload: server cpu: %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("pptpload: server cpu: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("pptpload: server cpu: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("pptpload: server cpu: /proc/%d/stat: bad times", pid)
	}
	return (utime + stime) / clockTicks, nil
}
