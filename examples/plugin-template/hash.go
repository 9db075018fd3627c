package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const hashUsage = `usage: gatehouse-plugin-allowlist hash [-m KiB] [-t passes] [-p lanes] NAME [GROUP,GROUP...]

Reads a password from the first line of standard input and prints the
users-file line for NAME: NAME:$argon2id$v=19$m=...,t=...,p=...$salt$key,
followed by :GROUPS when given. Append it to the users file; the plugin
reads the file again on its next call.

  read -rs PW && printf '%s\n' "$PW" | gatehouse-plugin-allowlist hash partner1 partners >> partners.txt
`

// hashMain is the hash sub-command; it returns the exit status: 0, 1 when
// the password cannot be read or hashed, 2 for a usage error.
func hashMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("hash", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	p := defaultParams
	memory := fl.Uint("m", uint(p.Memory), "memory in KiB")
	passes := fl.Uint("t", uint(p.Passes), "passes")
	lanes := fl.Uint("p", uint(p.Lanes), "lanes")
	if err := fl.Parse(args); err != nil || fl.NArg() < 1 || fl.NArg() > 2 {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, hashUsage)
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "hash: %v\n", err)
		}
		io.WriteString(stderr, hashUsage)
		return 2
	}
	if *memory > maxMemoryKiB || *passes > maxPasses || *lanes > 255 {
		fmt.Fprintf(stderr, "hash: -m at most %d, -t at most %d, -p at most 255\n", maxMemoryKiB, maxPasses)
		return 2
	}
	p.Memory, p.Passes, p.Lanes = uint32(*memory), uint32(*passes), uint8(*lanes)

	name := fl.Arg(0)
	if err := checkName("user name", name); err != nil {
		fmt.Fprintf(stderr, "hash: %v\n", err)
		return 2
	}
	groups := ""
	if fl.NArg() == 2 {
		gs, err := parseGroups(fl.Arg(1))
		if err != nil {
			fmt.Fprintf(stderr, "hash: %v\n", err)
			return 2
		}
		groups = ":" + strings.Join(gs, ",")
	}

	password, err := readPassword(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "hash: %v\n", err)
		return 1
	}
	h, err := newArgon2id(password, p, rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "hash: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s:%s%s\n", name, h, groups)
	return 0
}

// readPassword returns the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
