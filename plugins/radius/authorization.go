package radius

import (
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// Authorization is what an Access-Accept says about the session
// (RFC 2865 section 5).
type Authorization struct {
	// FilterID names a firewall policy (Filter-Id).
	FilterID string
	// Class is echoed in accounting (RFC 2865 section 5.25).
	Class [][]byte
	// FramedIP is the session's address; invalid when absent.
	FramedIP netip.Addr
	// SessionTimeout and IdleTimeout are zero when absent.
	SessionTimeout, IdleTimeout time.Duration
}

// ParseAuthorization reads the authorization attributes of an answer.
func ParseAuthorization(p *lr.Packet) Authorization {
	var a Authorization
	a.FilterID = rfc2865.FilterID_GetString(p)
	a.Class, _ = rfc2865.Class_Gets(p)
	if ip, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		a.FramedIP, _ = netip.AddrFromSlice(ip.To4())
	}
	if v, err := rfc2865.SessionTimeout_Lookup(p); err == nil {
		a.SessionTimeout = time.Duration(v) * time.Second
	}
	if v, err := rfc2865.IdleTimeout_Lookup(p); err == nil {
		a.IdleTimeout = time.Duration(v) * time.Second
	}
	return a
}

// Attributes renders the authorization as identity attributes, keyed by
// the RADIUS attribute names, with values as RADIUS carries them
// (timeouts in seconds, the address in dotted quad, Class as its bytes).
func (a Authorization) Attributes() map[string][]string {
	m := map[string][]string{}
	if a.FilterID != "" {
		m["Filter-Id"] = []string{a.FilterID}
	}
	for _, c := range a.Class {
		m["Class"] = append(m["Class"], string(c))
	}
	if a.FramedIP.IsValid() {
		m["Framed-IP-Address"] = []string{a.FramedIP.String()}
	}
	if a.SessionTimeout > 0 {
		m["Session-Timeout"] = []string{strconv.FormatInt(int64(a.SessionTimeout/time.Second), 10)}
	}
	if a.IdleTimeout > 0 {
		m["Idle-Timeout"] = []string{strconv.FormatInt(int64(a.IdleTimeout/time.Second), 10)}
	}
	return m
}

// LogValue implements slog.LogValuer.
func (a Authorization) LogValue() slog.Value {
	var attrs []slog.Attr
	for k, v := range a.Attributes() {
		attrs = append(attrs, slog.Any(k, v))
	}
	return slog.GroupValue(attrs...)
}
