//go:build !linux

package host

import "os/exec"

// setUser does nothing outside Linux: Gatehouse's gateway runs on Linux,
// and elsewhere plugins run as the user running the tests.
func setUser(*exec.Cmd, string, []string) error { return nil }
