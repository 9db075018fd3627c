package events

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultLimit is how many events a query returns when Filter.Limit is 0;
// MaxLimit is the most it returns.
const (
	DefaultLimit = 1000
	MaxLimit     = 100_000
)

// Filter selects events. Zero fields select everything; set fields must
// all match. It is the same for [Index.Query], [Index.Follow], the CLI's
// flags and the HTTP endpoint's parameters ([ParseFilter], [Filter.Values]).
type Filter struct {
	// User is matched exactly (user names are case-sensitive).
	User string
	// Client selects events whose client address lies in the prefix; an
	// address alone is a /32 or /128. IPv4-mapped IPv6 addresses count as
	// IPv4.
	Client netip.Prefix
	// SessionID is matched exactly.
	SessionID string
	// Kinds selects events of any of these kinds; empty means all kinds.
	Kinds     []Kind
	Result    Result
	Service   string
	FrontDoor string
	// Since and Until bound the time: Since <= Time < Until. Zero means
	// unbounded.
	Since, Until time.Time
	// Limit is how many events a query returns at most: the newest Limit
	// of those matching, in time order. 0 means DefaultLimit; more than
	// MaxLimit means MaxLimit.
	Limit int
}

// limit is the effective limit.
func (f *Filter) limit() int {
	switch {
	case f.Limit <= 0:
		return DefaultLimit
	case f.Limit > MaxLimit:
		return MaxLimit
	}
	return f.Limit
}

// Match reports whether e passes every field of f but Limit.
func (f *Filter) Match(e *Event) bool {
	switch {
	case f.User != "" && e.User != f.User,
		f.SessionID != "" && e.SessionID != f.SessionID,
		f.Result != "" && e.Result != f.Result,
		f.Service != "" && e.Service != f.Service,
		f.FrontDoor != "" && e.FrontDoor != f.FrontDoor,
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && !e.Time.Before(f.Until),
		len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind):
		return false
	}
	if f.Client.IsValid() {
		lo, hi := clientRange(f.Client)
		c := clientKey(e.Client)
		if c == nil || string(c) < string(lo[:]) || string(c) > string(hi[:]) {
			return false
		}
	}
	return true
}

// clientKey is how a client address is stored and compared: 16 bytes,
// IPv4 as IPv4-mapped IPv6, so that a prefix is a range of byte strings.
// nil for no address.
func clientKey(a netip.Addr) []byte {
	if !a.IsValid() {
		return nil
	}
	b := a.Unmap().WithZone("").As16() // IPv4 as ::ffff:a.b.c.d
	return b[:]
}

// clientRange is the first and last 16-byte key inside p.
func clientRange(p netip.Prefix) (lo, hi [16]byte) {
	p = p.Masked()
	bits := p.Bits()
	addr := p.Addr()
	if addr.Is4() {
		bits += 96
	}
	lo = addr.As16()
	hi = lo
	for i := bits; i < 128; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	return lo, hi
}

// Filter parameters, as URL query keys and CLI flags.
const (
	ParamUser      = "user"
	ParamClient    = "client"
	ParamSession   = "session"
	ParamKind      = "kind"
	ParamResult    = "result"
	ParamService   = "service"
	ParamFrontDoor = "front_door"
	ParamSince     = "since"
	ParamUntil     = "until"
	ParamLimit     = "limit"
)

var params = []string{ParamUser, ParamClient, ParamSession, ParamKind, ParamResult,
	ParamService, ParamFrontDoor, ParamSince, ParamUntil, ParamLimit}

// ParamError is a filter parameter that could not be read. Its message
// names the parameter and says what to write instead.
type ParamError struct {
	Param string
	Value string
	Hint  string
}

func (e *ParamError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Param, e.Hint)
	}
	return fmt.Sprintf("%s %q: %s", e.Param, e.Value, e.Hint)
}

// ParseFilter reads a filter from URL query parameters (or CLI flags put in
// url.Values):
//
//	user=bob                     exact user name
//	client=203.0.113.7           an address, or a prefix: client=203.0.113.0/24
//	session=5f2c...              exact session id
//	kind=login,session_down      kinds, comma-separated (or the key repeated)
//	result=refused               accepted or refused
//	service=vpn                  exact service name
//	front_door=radius            pptp or radius
//	since=1h                     a duration before now (90m, 1h30m, 2d),
//	since=2024-05-01T10:00:00Z   or a time: RFC 3339, "2024-05-01 10:00",
//	since=2024-05-01             or a date (midnight), in now's location
//	until=...                    the same forms; events before it
//	limit=50                     1 to MaxLimit
//
// Parameters other than these are refused, naming the nearest one, so a
// typo does not silently widen the search; a caller that shares the query
// with its own parameters (follow, format) removes them first. Every
// parameter but kind may be given once. An empty value is the same as
// leaving the parameter out.
func ParseFilter(v url.Values, now time.Time) (Filter, error) {
	var f Filter
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" {
			return Filter{}, &ParamError{Param: `""`, Value: v.Get(k), Hint: "a value without a parameter name; write name=value"}
		}
		if !slices.Contains(params, k) {
			return Filter{}, &ParamError{Param: k, Hint: unknownHint(k)}
		}
		if k != ParamKind && len(v[k]) > 1 {
			return Filter{}, &ParamError{Param: k, Hint: "given more than once; give it once"}
		}
	}
	one := func(k string) string { return strings.TrimSpace(v.Get(k)) }

	f.User = one(ParamUser)
	f.SessionID = one(ParamSession)
	f.Service = one(ParamService)
	if s := one(ParamClient); s != "" {
		p, err := parseClient(s)
		if err != nil {
			return Filter{}, &ParamError{ParamClient, s, "write an address such as 203.0.113.7 or 2001:db8::1, or a prefix such as 203.0.113.0/24"}
		}
		f.Client = p
	}
	for _, list := range v[ParamKind] {
		for _, s := range strings.Split(list, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			k, err := ParseKind(s)
			if err != nil {
				return Filter{}, &ParamError{ParamKind, s, "not a kind; write one or more of " + kindList() + ", comma-separated"}
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	switch s := Result(one(ParamResult)); s {
	case "", Accepted, Refused:
		f.Result = s
	default:
		return Filter{}, &ParamError{ParamResult, string(s), "write accepted or refused"}
	}
	switch s := one(ParamFrontDoor); s {
	case "", FrontDoorPPTP, FrontDoorRADIUS:
		f.FrontDoor = s
	default:
		return Filter{}, &ParamError{ParamFrontDoor, s, "write pptp or radius"}
	}
	var err error
	if f.Since, err = parseTime(ParamSince, one(ParamSince), now); err != nil {
		return Filter{}, err
	}
	if f.Until, err = parseTime(ParamUntil, one(ParamUntil), now); err != nil {
		return Filter{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return Filter{}, &ParamError{Param: ParamUntil, Value: one(ParamUntil),
			Hint: fmt.Sprintf("is not after since (%s); give an until later than since", f.Since.Format(time.RFC3339))}
	}
	if s := one(ParamLimit); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Filter{}, &ParamError{ParamLimit, s, fmt.Sprintf("write a whole number from 1 to %d", MaxLimit)}
		}
		f.Limit = n
	}
	return f, nil
}

func unknownHint(k string) string {
	best, bestD := "", 3
	for _, p := range params {
		if d := editDistance(strings.ToLower(k), p); d < bestD {
			best, bestD = p, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown parameter; did you mean %s?", best)
	}
	return "unknown parameter; the parameters are " + strings.Join(params, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func parseClient(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zone not allowed")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseTime reads since or until: a duration before now, an RFC 3339
// time, a local date and time, or a local date.
func parseTime(param, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, &ParamError{param, s, "a duration must not be negative; write how long ago, such as 1h"}
		}
		return now.Add(-d).UTC().Round(0), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if err == nil {
			break
		}
		t, err = time.ParseInLocation(layout, s, now.Location())
	}
	if err == nil {
		if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
			return time.Time{}, &ParamError{param, s, "the time is out of range; write a year from 0001 to 9999"}
		}
		return t, nil
	}
	return time.Time{}, &ParamError{param, s, "write how long ago, such as 30m, 1h or 2d, or a time such as 2024-05-01T10:00:00Z, 2024-05-01 10:00 or 2024-05-01"}
}

// ParseDuration is time.ParseDuration with one more unit, d (24 hours),
// for the retention and since settings operators write: 30d, 1d12h, 90m.
func ParseDuration(s string) (time.Duration, error) {
	days, rest, found := strings.Cut(s, "d")
	if !found {
		return time.ParseDuration(s)
	}
	neg := strings.HasPrefix(days, "-")
	n, err := strconv.ParseUint(strings.TrimPrefix(days, "-"), 10, 16)
	if err != nil || days == "" || days == "-" || strings.HasPrefix(days, "+") {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		if r > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		d += r
	}
	if neg {
		d = -d
	}
	return d, nil
}

// Values writes f as URL query parameters that ParseFilter reads back to
// an equal filter. Times are written as absolute RFC 3339 UTC times, so
// the result does not depend on when it is read.
func (f *Filter) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set(ParamUser, f.User)
	if f.Client.IsValid() {
		if f.Client.Bits() == f.Client.Addr().BitLen() {
			set(ParamClient, f.Client.Addr().String())
		} else {
			set(ParamClient, f.Client.String())
		}
	}
	set(ParamSession, f.SessionID)
	if len(f.Kinds) > 0 {
		ks := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			ks[i] = k.String()
		}
		set(ParamKind, strings.Join(ks, ","))
	}
	set(ParamResult, string(f.Result))
	set(ParamService, f.Service)
	set(ParamFrontDoor, f.FrontDoor)
	if !f.Since.IsZero() {
		set(ParamSince, f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		set(ParamUntil, f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		set(ParamLimit, strconv.Itoa(f.limit()))
	}
	return v
}
