package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/frame"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// echo writes every frame it reads on the channel back, unchanged, one
// write per frame: the floor of a round trip between two Go processes on
// this socket.
func echo() {
	fd, err := strconv.Atoi(os.Getenv(sdk.ChannelEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo: no channel:", err)
		os.Exit(2)
	}
	f := os.NewFile(uintptr(fd), "channel")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(2)
	}
	r := frame.NewReader(conn, 64<<10)
	out := make([]byte, 0, 64<<10)
	for {
		h, payload, err := r.Next()
		if err != nil {
			os.Exit(0)
		}
		out = append(h.Append(out[:0]), payload...)
		if _, err := conn.Write(out); err != nil {
			os.Exit(0)
		}
	}
}
