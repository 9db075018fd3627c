package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the newest Gatehouse plugin protocol this SDK
// speaks: the proto package gatehouse.plugin.v2, whose calls travel on a
// channel the gateway hands the plugin at exec. It is go-plugin's
// application protocol version, negotiated at the handshake: the highest
// version both sides speak wins. The SDK also serves [ProtocolVersion1]
// for gateways that speak no other; a host and a plugin that share no
// version refuse each other with both versions in the error.
const ProtocolVersion = 2

// ProtocolVersion1 is the first plugin protocol, gRPC service
// gatehouse.plugin.v1.Backend, which Serve still offers.
const ProtocolVersion1 = 1

// PluginName is the name under which the back-end is dispensed in
// go-plugin's plugin set.
const PluginName = "backend"

// Handshake is go-plugin's handshake configuration for Gatehouse plugins.
// The magic cookie is not a security measure: it only tells a plugin that
// it was started by Gatehouse rather than from a terminal.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "GATEHOUSE_PLUGIN",
	MagicCookieValue: "iFsAuHuCWhUjUSXSMPRnF2lK7fgmdsZy",
}

// PluginMap is the go-plugin plugin set for protocol version
// [ProtocolVersion]. A plugin passes its back-end; the host passes nil and
// does not dispense it: the calls travel on the channel (see [ServeConn]).
func PluginMap(b Backend) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &channelPlugin{impl: b}}
}

// PluginMapV1 is the go-plugin plugin set for [ProtocolVersion1]. A
// plugin passes its back-end; the host passes nil and dispenses
// [PluginName], which yields the *grpc.ClientConn on which to call the
// gRPC service gatehouse.plugin.v1.Backend. Serving only this set plays a
// plugin built before version 2.
func PluginMapV1(b Backend) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &grpcV1Plugin{impl: b}}
}

// VersionedPlugins is go-plugin's VersionedPlugins for this SDK: every
// protocol version it speaks, each with its plugin set.
func VersionedPlugins(b Backend) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: PluginMap(b), ProtocolVersion1: PluginMapV1(b)}
}

// ProfileEnv names the environment variable that makes [Serve] write a
// CPU profile of the plugin process into the directory it names
// (<plugin name>-<pid>.pprof, written when Serve returns), for "go tool
// pprof". The gateway passes it on from its own environment.
const ProfileEnv = "GATEHOUSE_PLUGIN_CPUPROFILE"

// stderr is the process's standard error as it was at start: go-plugin's
// Serve later points os.Stderr at a pipe.
var stderr io.Writer = os.Stderr

// describeTimeout bounds the Describe that Serve runs before serving.
const describeTimeout = 10 * time.Second

// Serve runs b as a Gatehouse plugin and returns when the gateway ends
// it. Call it from main and do nothing else there:
//
//	func main() { sdk.Serve(&myBackend{}) }
//
// Before serving, Serve checks that b's [Description] is consistent with
// the interfaces b implements (see [Check]); if not, it prints what is
// wrong and exits with status 1, so a plugin declaring [CapFragments]
// without implementing [FragmentSource] never starts. Run by hand from a
// terminal instead of by the gateway, it says what it is (name, version,
// capabilities, configuration keys and the SHA-256 to pin in the gateway's
// configuration) and exits with status 1.
//
// Behind Serve are hashicorp/go-plugin and the plugin channel: go-plugin's
// handshake with Gatehouse's magic cookie, negotiation of the protocol
// version, mutual TLS with one-time certificates on go-plugin's own gRPC
// connection, and, under [ProtocolVersion], the calls on the channel the
// gateway handed over at exec (under [ProtocolVersion1], on gRPC).
func Serve(b Backend) {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		describeToHuman(stderr, b)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	_, err := Check(ctx, b)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse plugin cannot start: %v\n", err)
		os.Exit(1)
	}
	if dir := os.Getenv(ProfileEnv); dir != "" {
		defer startProfile(dir, b)()
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: VersionedPlugins(b),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			// Fixed windows: no bandwidth-delay PINGs (see the host).
			return grpc.NewServer(append(opts, grpc.InitialWindowSize(grpcWindow), grpc.InitialConnWindowSize(grpcWindow))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.Warn,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
}

// startProfile starts a CPU profile into dir and returns what stops it.
// A profile that cannot be written is reported and skipped.
func startProfile(dir string, b Backend) (stop func()) {
	d, _ := b.Describe(context.Background())
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", d.Name, os.Getpid()))
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse plugin: no CPU profile: %v\n", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// Check asks b to describe itself and reports every inconsistency between
// the description and the interfaces b implements: a declared capability
// whose interface is missing, one-time codes without a [Committer],
// configuration keys without a [Configurer], a missing name, impossible
// fragment lengths. [Serve] runs it before serving, the SDK's gRPC shim on
// every Describe, and the sdktest conformance kit as its first check.
func Check(ctx context.Context, b Backend) (Description, error) {
	d, err := b.Describe(ctx)
	if err != nil {
		return d, fmt.Errorf("describe: %w", err)
	}
	return d, checkDescription(d, b)
}

// capabilityInterface names the interface each capability needs and says
// whether b implements it.
func capabilityInterface(c Capability, b Backend) (name string, ok bool) {
	switch c {
	case CapFragments:
		_, ok = b.(FragmentSource)
		return "sdk.FragmentSource (Fragments(ctx, user) ([]sdk.Fragment, error))", ok
	case CapVerifyMSCHAPv2:
		_, ok = b.(MSCHAPv2Verifier)
		return "sdk.MSCHAPv2Verifier (VerifyMSCHAPv2(ctx, user, sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error))", ok
	case CapVerifyPlaintext:
		_, ok = b.(PlaintextVerifier)
		return "sdk.PlaintextVerifier (VerifyPlaintext(ctx, user, secret) (sdk.Verdict, error))", ok
	case CapIdentity:
		_, ok = b.(IdentitySource)
		return "sdk.IdentitySource (Lookup(ctx, user) (sdk.Identity, error))", ok
	}
	return "", false
}

func checkDescription(d Description, b Backend) error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(d.Name) == "" {
		add("the description has no name")
	}
	if len(d.Capabilities) == 0 {
		add("the description declares no capabilities")
	}
	seen := map[Capability]bool{}
	for _, c := range d.Capabilities {
		if seen[c] {
			add("capability %s is declared twice", c)
			continue
		}
		seen[c] = true
		iface, ok := capabilityInterface(c, b)
		switch {
		case iface == "":
			add("unknown capability %d", int(c))
		case !ok:
			add("declares capability %s but does not implement %s", c, iface)
		}
	}
	for _, n := range d.FragmentLengths {
		if n < 1 || n > maxFragmentLength {
			add("fragment length %d is not between 1 and %d", n, maxFragmentLength)
		}
	}
	if _, ok := b.(Committer); d.OneTime && !ok {
		add("declares one-time codes but does not implement sdk.Committer (Commit(ctx, user, token) error), so codes would never be consumed")
	}
	if _, ok := b.(Configurer); len(d.ConfigKeys) > 0 && !ok {
		add("declares configuration keys but does not implement sdk.Configurer (Configure(ctx, options) error)")
	}
	keys := map[string]bool{}
	for _, k := range d.ConfigKeys {
		switch {
		case k.Name == "":
			add("a configuration key has no name")
		case keys[k.Name]:
			add("configuration key %q is declared twice", k.Name)
		}
		keys[k.Name] = true
	}
	if len(problems) == 0 {
		return nil
	}
	name := d.Name
	if name == "" {
		name = "plugin"
	}
	return fmt.Errorf("%s: %w", name, errors.Join(problems...))
}

// maxFragmentLength bounds FragmentLengths: a code longer than this is not
// something a user types.
const maxFragmentLength = 255

// describeToHuman tells someone who ran the plugin from a terminal what it
// is and how to use it.
func describeToHuman(w io.Writer, b Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	d, checkErr := Check(ctx, b)
	name := d.Name
	if name == "" {
		name = "This program"
	} else if d.Version != "" {
		name += " " + d.Version
	}
	caps := make([]string, len(d.Capabilities))
	for i, c := range d.Capabilities {
		caps[i] = c.String()
	}
	fmt.Fprintf(w, "%s is a Gatehouse authentication plugin (plugin protocol %d", name, ProtocolVersion)
	if len(caps) > 0 {
		fmt.Fprintf(w, "; capabilities: %s", strings.Join(caps, ", "))
	}
	fmt.Fprintf(w, ").\nIt is not meant to be run by hand: the Gatehouse gateway starts it itself.\n"+
		"Name this file as a back-end in the gateway's configuration and pin its SHA-256.\n")
	if sum, path, err := executableSHA256(); err == nil {
		fmt.Fprintf(w, "\n  %s\n  sha256: %s\n", path, sum)
	}
	if len(d.ConfigKeys) > 0 {
		fmt.Fprintf(w, "\nConfiguration keys:\n")
		for _, k := range d.ConfigKeys {
			req := ""
			if k.Required {
				req = " (required)"
			}
			fmt.Fprintf(w, "  %s%s: %s\n", k.Name, req, k.Description)
		}
	}
	if checkErr != nil {
		fmt.Fprintf(w, "\nIt would not start: %v\n", checkErr)
	}
}

func executableSHA256() (sum, path string, err error) {
	path, err = os.Executable()
	if err != nil {
		return "", "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h.Sum(nil)), path, nil
}

// grpcWindow is the fixed HTTP/2 flow-control window, stream and
// connection, that the host and the SDK both set (see launch).
const grpcWindow = 1 << 20
