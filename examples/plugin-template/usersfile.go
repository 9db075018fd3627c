package main

// The users file: one user a line,
//
//	name:$argon2id$v=19$m=19456,t=2,p=1$salt$key
//	name:$argon2id$v=19$m=19456,t=2,p=1$salt$key:group1,group2
//
// Blank lines and lines whose first non-blank character is # are ignored.
// A name is printable, without blanks or ':'. A PHC string never holds
// ':', so the fields split cleanly. The hash sub-command writes such lines.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// user is one line of the users file.
type user struct {
	line   int
	hash   argon2idHash
	groups []string
}

// lineError is a malformed line of the users file.
type lineError struct {
	Path string
	Line int
	Msg  string
}

func (e *lineError) Error() string {
	return fmt.Sprintf("users_file %s:%d: %s", e.Path, e.Line, e.Msg)
}

// maxLine bounds a line of the users file; a real one is about 120 bytes.
const maxLine = 64 << 10

// parseUsers reads a users file. path names it in errors. Every malformed
// line is reported, as an errors.Join of *lineError; no error quotes a
// hash.
func parseUsers(path string, r io.Reader) (map[string]*user, error) {
	users := map[string]*user{}
	var problems []error
	bad := func(line int, format string, args ...any) {
		problems = append(problems, &lineError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Split(text, ":")
		if len(fields) < 2 || len(fields) > 3 {
			bad(n, "want name:hash or name:hash:group,group, found %d fields separated by ':'", len(fields))
			continue
		}
		name := fields[0]
		if err := checkName("user name", name); err != nil {
			bad(n, "%v", err)
			continue
		}
		h, err := parseArgon2id(fields[1])
		if err != nil {
			bad(n, "user %q: hash: %v", name, err)
			continue
		}
		u := &user{line: n, hash: h}
		if len(fields) == 3 {
			if u.groups, err = parseGroups(fields[2]); err != nil {
				bad(n, "user %q: %v", name, err)
				continue
			}
		}
		if first, dup := users[name]; dup {
			bad(n, "user %q is already listed on line %d", name, first.line)
			continue
		}
		users[name] = u
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			bad(n+1, "line longer than %d bytes", maxLine)
		} else {
			problems = append(problems, fmt.Errorf("users_file %s: %w", path, err))
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return users, nil
}

// parseGroups parses "group1,group2"; blanks around names are dropped.
func parseGroups(s string) ([]string, error) {
	var groups []string
	for g := range strings.SplitSeq(s, ",") {
		g = strings.TrimSpace(g)
		if err := checkName("group name", g); err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// checkName accepts a non-empty printable name without blanks or ':'.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	for _, r := range s {
		if r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%s %q contains %q; names are printable, without blanks or ':'", what, s, r)
		}
	}
	return nil
}
