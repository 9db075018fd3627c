package channel

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// Pair makes a channel's two ends: a connected Unix stream socket pair,
// the host's end as a net.Conn and the plugin's as a file, for the
// plugin process to inherit at exec (exec.Cmd.ExtraFiles) or for
// net.FileConn. Both are close-on-exec; ExtraFiles clears that for the
// child's copy only.
func Pair() (host net.Conn, plugin *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socket pair: %w", err)
	}
	hf := os.NewFile(uintptr(fds[0]), "gatehouse-channel-host")
	defer hf.Close()
	host, err = net.FileConn(hf)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("socket pair: %w", err)
	}
	return host, os.NewFile(uintptr(fds[1]), "gatehouse-channel-plugin"), nil
}
