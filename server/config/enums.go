package config

import (
	"fmt"
	"strconv"
	"strings"
)

// The enumerations of the file. Each is a string (or bool) type whose
// UnmarshalText accepts exactly the spellings listed, so that the decoder can
// name the choices and suggest the nearest one.

// LogLevel is log.level.
type LogLevel string

const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

func (l *LogLevel) UnmarshalText(b []byte) error {
	return setEnum(l, b, LogDebug, LogInfo, LogWarn, LogError)
}
func (LogLevel) choices() []string { return names(LogDebug, LogInfo, LogWarn, LogError) }

// LogFormat is log.format.
type LogFormat string

const (
	LogJSON LogFormat = "json"
	LogText LogFormat = "text"
)

func (f *LogFormat) UnmarshalText(b []byte) error { return setEnum(f, b, LogJSON, LogText) }
func (LogFormat) choices() []string               { return names(LogJSON, LogText) }

// StoreDriver is store.driver.
type StoreDriver string

const (
	StoreSQLite   StoreDriver = "sqlite"
	StorePostgres StoreDriver = "postgres"
)

func (s *StoreDriver) UnmarshalText(b []byte) error { return setEnum(s, b, StoreSQLite, StorePostgres) }
func (StoreDriver) choices() []string               { return names(StoreSQLite, StorePostgres) }

// BackendType is backends.NAME.type.
type BackendType string

const (
	BackendLocal    BackendType = "local"
	BackendOATH     BackendType = "oath"
	BackendDigipass BackendType = "digipass"
	BackendLDAP     BackendType = "ldap"
	BackendRADIUS   BackendType = "radius"
	BackendPlugin   BackendType = "plugin"
	BackendMemory   BackendType = "memory"
)

var backendTypes = []BackendType{BackendLocal, BackendOATH, BackendDigipass, BackendLDAP, BackendRADIUS, BackendPlugin, BackendMemory}

func (t *BackendType) UnmarshalText(b []byte) error { return setEnum(t, b, backendTypes...) }
func (BackendType) choices() []string               { return names(backendTypes...) }

// OnOff is a VPN access grant: on or off.
type OnOff bool

const (
	Off OnOff = false
	On  OnOff = true
)

func (o *OnOff) UnmarshalText(b []byte) error {
	switch string(b) {
	case "on":
		*o = On
	case "off":
		*o = Off
	default:
		return fmt.Errorf("unknown value %q", b)
	}
	return nil
}

func (OnOff) choices() []string { return []string{"on", "off"} }

func (o OnOff) String() string {
	if o {
		return "on"
	}
	return "off"
}

// UserAccess is a user's VPN access: the group's grant, or on or off
// whatever the groups say.
type UserAccess string

const (
	AccessUseGroup UserAccess = "use_group"
	AccessOn       UserAccess = "on"
	AccessOff      UserAccess = "off"
)

func (a *UserAccess) UnmarshalText(b []byte) error {
	return setEnum(a, b, AccessUseGroup, AccessOn, AccessOff)
}
func (UserAccess) choices() []string { return names(AccessUseGroup, AccessOn, AccessOff) }

// FirewallMode says how a user's firewall policy relates to the policies of
// the user's groups.
type FirewallMode string

const (
	// FirewallUseGroup: the groups' policies apply; the user has none.
	FirewallUseGroup FirewallMode = "use_group"
	// FirewallAddToGroup: the user's rules come first, then the groups'.
	FirewallAddToGroup FirewallMode = "add_to_group"
	// FirewallOverruleGroup: only the user's policy applies.
	FirewallOverruleGroup FirewallMode = "overrule_group"
)

func (m *FirewallMode) UnmarshalText(b []byte) error {
	return setEnum(m, b, FirewallUseGroup, FirewallAddToGroup, FirewallOverruleGroup)
}
func (FirewallMode) choices() []string {
	return names(FirewallUseGroup, FirewallAddToGroup, FirewallOverruleGroup)
}

// Action is what a firewall rule does with a matching packet.
type Action string

const (
	Allow Action = "allow"
	Drop  Action = "drop"
)

func (a *Action) UnmarshalText(b []byte) error { return setEnum(a, b, Allow, Drop) }
func (Action) choices() []string               { return names(Allow, Drop) }

// Proto is the IP protocol a firewall rule matches.
type Proto string

const (
	ProtoTCP  Proto = "tcp"
	ProtoUDP  Proto = "udp"
	ProtoICMP Proto = "icmp"
	ProtoAny  Proto = "any"
)

func (p *Proto) UnmarshalText(b []byte) error {
	return setEnum(p, b, ProtoTCP, ProtoUDP, ProtoICMP, ProtoAny)
}
func (Proto) choices() []string { return names(ProtoTCP, ProtoUDP, ProtoICMP, ProtoAny) }

func setEnum[T ~string](dst *T, b []byte, all ...T) error {
	for _, c := range all {
		if string(c) == string(b) {
			*dst = c
			return nil
		}
	}
	return fmt.Errorf("unknown value %q", b)
}

func names[T ~string](all ...T) []string {
	out := make([]string, len(all))
	for i, c := range all {
		out[i] = string(c)
	}
	return out
}

// PortRange is an inclusive range of TCP or UDP ports; a single port has
// First == Last.
type PortRange struct {
	First, Last uint16
}

// Ports is a firewall rule's port list, written "22,443,1000-2000". Empty
// means every port.
type Ports []PortRange

func (Ports) form() string { return `ports such as "22,443,1000-2000"` }

// UnmarshalText parses a comma-separated list of ports and ranges.
func (ps *Ports) UnmarshalText(b []byte) error {
	*ps = nil
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	var out Ports
	for item := range strings.SplitSeq(string(b), ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := parsePort(lo)
		if err != nil {
			return err
		}
		last := first
		if isRange {
			if last, err = parsePort(hi); err != nil {
				return err
			}
			if last < first {
				return fmt.Errorf("range %s runs backwards", item)
			}
		}
		out = append(out, PortRange{first, last})
	}
	*ps = out
	return nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is outside 1-65535", n)
	}
	return uint16(n), nil
}

// Contains reports whether port is in the list; an empty list contains every
// port.
func (ps Ports) Contains(port uint16) bool {
	if len(ps) == 0 {
		return true
	}
	for _, r := range ps {
		if r.First <= port && port <= r.Last {
			return true
		}
	}
	return false
}

// String formats the list as it is written in the file.
func (ps Ports) String() string {
	parts := make([]string, len(ps))
	for i, r := range ps {
		parts[i] = strconv.Itoa(int(r.First))
		if r.Last != r.First {
			parts[i] += "-" + strconv.Itoa(int(r.Last))
		}
	}
	return strings.Join(parts, ",")
}

// FileMode is a Unix file mode, written in octal ("0660").
type FileMode uint32

func (FileMode) form() string { return `an octal file mode such as "0660"` }

// UnmarshalText parses an octal mode of permission bits only.
func (m *FileMode) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || !strings.HasPrefix(s, "0") || v > 0o777 {
		return fmt.Errorf("%q is not an octal mode from 0000 to 0777 (write it with its leading 0, in quotes)", s)
	}
	*m = FileMode(v)
	return nil
}

// String writes the mode as the file does.
func (m FileMode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// ByteSize is a size in bytes, written with a binary unit ("100MiB",
// "512KiB", "1GiB") or as a plain number of bytes.
type ByteSize int64

func (ByteSize) form() string { return `a size such as 100MiB` }

var byteUnits = []struct {
	suffix string
	n      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(t []byte) error {
	s := strings.TrimSpace(string(t))
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || v < 0 || v > (1<<62)/u.n {
			break
		}
		*b = ByteSize(v * u.n)
		return nil
	}
	return fmt.Errorf("%q is not a size: write a whole number with KiB, MiB or GiB, such as 100MiB", s)
}

// String writes the size in the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range byteUnits[:3] {
		if b != 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
