package store

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest user name, group name or token serial, in
// characters.
const MaxNameLen = 64

// checkName enforces the rules shared by user names, group names and token
// serials: valid UTF-8, 1 to MaxNameLen characters, no control characters,
// no white space at either end. Names are compared exactly (case-sensitive).
// what is "user name", "group name" or "token serial", for the message.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s: %w: empty", what, ErrInvalid)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%s %q: %w: not valid UTF-8", what, name, ErrInvalid)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return fmt.Errorf("%s %q: %w: %d characters, at most %d", what, name, ErrInvalid, n, MaxNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s %q: %w: contains control character %U", what, name, ErrInvalid, r)
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%s %q: %w: white space at the start or end", what, name, ErrInvalid)
	}
	return nil
}
