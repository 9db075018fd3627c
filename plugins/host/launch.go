package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/v1relay"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// caller is how the host reaches one plugin process: the channel of
// protocol version 2, or package v1relay's gRPC client for a plugin that
// speaks only version 1. Its errors are those of channel.Client.Call.
type caller interface {
	Call(ctx context.Context, deadline time.Time, m pluginv2.Method, req, resp proto.Message) error
}

// conn is one running plugin process and the caller for it.
type conn struct {
	client   *goplugin.Client
	process  *os.Process
	calls    caller
	channel  *channel.Client // nil for a version 1 plugin
	protocol int             // the negotiated plugin protocol version
	pid      int
	started  time.Time
	desc     *pluginv2.DescribeResponse
	info     authpolicy.Info

	exitOnce   sync.Once
	exited     chan struct{} // closed when go-plugin reports the exit
	exitStatus string        // set before exited is closed

	lostOnce sync.Once
	lost     chan struct{} // closed when a call saw the connection break
	lostErr  error         // set before lost is closed
}

func newConn() *conn {
	return &conn{exited: make(chan struct{}), lost: make(chan struct{})}
}

func (c *conn) markExited(status string) {
	c.exitOnce.Do(func() {
		c.exitStatus = status
		close(c.exited)
	})
}

func (c *conn) markLost(err error) {
	c.lostOnce.Do(func() {
		c.lostErr = err
		close(c.lost)
	})
}

// kill ends the process: go-plugin asks it to exit, waits two seconds,
// then kills it. A process that does not take go-plugin's request (it is
// stopped, or wedged) is killed after killGrace. kill waits for
// go-plugin's goroutines, and closes the channel: calls in flight fail.
func (c *conn) kill() {
	if c.client != nil {
		if c.process != nil {
			t := time.AfterFunc(killGrace, func() { _ = c.process.Kill() })
			defer t.Stop()
		}
		c.client.Kill()
	}
	if c.channel != nil {
		c.channel.Close()
	}
}

// channelDone is closed when the channel ends; never for version 1.
func (c *conn) channelDone() <-chan struct{} {
	if c.channel == nil {
		return nil
	}
	return c.channel.Done()
}

// permanentError is a refusal that no retry can cure: only a change of
// the binary or the configuration can.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

func isPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe)
}

// launch runs the plugin once: hash check, exec with its end of a new
// channel, handshake, Describe, Configure, Describe again (the description
// may depend on the configuration). Every step is bounded by
// Spec.StartTimeout, and the whole by ctx and Close.
func (p *plugin) launch(ctx context.Context) (_ *conn, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.spec.StartTimeout)
	defer cancel()
	defer context.AfterFunc(p.stopCtx, cancel)()

	if p.spec.SHA256 != "" {
		if err := checkSHA256(p.spec.Path, p.spec.SHA256); err != nil {
			return nil, permanent(err)
		}
	}
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.environment()
	if err := setUser(cmd, p.spec.User, p.spec.Groups); err != nil {
		return nil, permanent(err)
	}
	// The plugin's end of the channel is its file descriptor 3; a plugin
	// that speaks only version 1 leaves it alone.
	hostEnd, pluginEnd, err := channel.Pair()
	if err != nil {
		return nil, err
	}
	defer pluginEnd.Close() // the child has its copy once started
	defer func() {
		if err != nil {
			hostEnd.Close()
		}
	}()
	cmd.ExtraFiles = []*os.File{pluginEnd}
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", sdk.ChannelEnv, 3))

	c := newConn()
	stderr := &tail{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		// For a version 1 plugin, whose calls travel on gRPC: fixed
		// flow-control windows turn off gRPC's bandwidth-delay estimator,
		// whose PING frames cost each call extra writes and wake-ups.
		GRPCDialOptions: []grpc.DialOption{grpc.WithInitialWindowSize(grpcWindow), grpc.WithInitialConnWindowSize(grpcWindow)},
		SkipHostEnv:     true,
		StartTimeout:    p.spec.StartTimeout,
		Stderr:          stderr,
		SyncStdout:      &lineLogger{log: p.log, level: slog.LevelInfo, msg: "plugin output", attrs: []slog.Attr{slog.String("stream", "stdout")}},
		SyncStderr:      &lineLogger{log: p.log, level: slog.LevelInfo, msg: "plugin output", attrs: []slog.Attr{slog.String("stream", "stderr")}},
		Logger: &hclogger{
			log:        p.log,
			executable: filepath.Base(p.spec.Path),
			onExit:     c.markExited,
		},
	})
	c.client = client
	defer func() {
		if err != nil {
			client.Kill()
		}
	}()

	rpcClient, err := client.Client()
	if err != nil {
		client.Kill() // waits for go-plugin's stderr reader: all last words are in
		return nil, handshakeError(err, stderr)
	}
	c.started = time.Now()
	if cmd.Process != nil {
		c.pid = cmd.Process.Pid
		c.process = cmd.Process
	}
	pluginEnd.Close()
	c.protocol = client.NegotiatedVersion()
	switch c.protocol {
	case sdk.ProtocolVersion:
		c.channel = channel.NewClient(hostEnd)
		c.calls = c.channel
	case sdk.ProtocolVersion1:
		hostEnd.Close()
		raw, err := rpcClient.Dispense(sdk.PluginName)
		if err != nil {
			return nil, fmt.Errorf("dispensing the back-end: %w", err)
		}
		gc, ok := raw.(*grpc.ClientConn)
		if !ok {
			return nil, fmt.Errorf("dispensing the back-end: got %T", raw)
		}
		c.calls = v1relay.NewClient(gc)
	default:
		return nil, permanent(fmt.Errorf("go-plugin negotiated protocol version %d, which this gateway does not speak", c.protocol))
	}

	if _, err := describe(ctx, c.calls); err != nil {
		return nil, p.startError(ctx, "Describe", err, stderr)
	}
	cr := &pluginv2.ConfigureResponse{}
	if err := c.calls.Call(ctx, time.Time{}, pluginv2.Method_METHOD_CONFIGURE, &pluginv2.ConfigureRequest{Options: p.spec.Config}, cr); err != nil {
		return nil, p.startError(ctx, "Configure", err, stderr)
	}
	if !cr.GetOk() {
		problems := cr.GetProblems()
		if len(problems) == 0 {
			problems = []string{"no reason given"}
		}
		return nil, permanent(fmt.Errorf("the plugin rejected its configuration: %s", strings.Join(problems, "; ")))
	}
	d, err := describe(ctx, c.calls)
	if err != nil {
		return nil, p.startError(ctx, "Describe", err, stderr)
	}
	c.desc = d
	c.info = infoOf(d)
	if old := p.info.Load(); old != nil && old.Capabilities != c.info.Capabilities {
		p.log.Warn("plugin capabilities changed on restart; policies were checked against the old ones",
			slog.String("was", old.Capabilities.String()), slog.String("now", c.info.Capabilities.String()))
	}
	return c, nil
}

func (p *plugin) startError(ctx context.Context, step string, err error, stderr *tail) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: no answer within the start timeout of %v: %w%s", step, p.spec.StartTimeout, ctx.Err(), stderr.lastWords())
	}
	return fmt.Errorf("%s: %w%s", step, callCause(err), stderr.lastWords())
}

// describe asks for the description and checks it.
func describe(ctx context.Context, calls caller) (*pluginv2.DescribeResponse, error) {
	d := &pluginv2.DescribeResponse{}
	if err := calls.Call(ctx, time.Time{}, pluginv2.Method_METHOD_DESCRIBE, &pluginv2.DescribeRequest{}, d); err != nil {
		return nil, err
	}
	if d.GetName() == "" {
		return nil, permanent(errors.New("malformed reply: the description has no name"))
	}
	if infoOf(d).Capabilities == 0 {
		return nil, permanent(fmt.Errorf("malformed reply: the description declares no capability this gateway knows (%v)", d.GetCapabilities()))
	}
	for _, n := range d.GetFragmentLengths() {
		if n == 0 || n > 255 {
			return nil, permanent(fmt.Errorf("malformed reply: fragment length %d", n))
		}
	}
	return d, nil
}

// infoOf maps a description to what the policy engine needs. Capabilities
// this gateway does not know (a newer v1 plugin) are left out.
func infoOf(d *pluginv2.DescribeResponse) authpolicy.Info {
	var info authpolicy.Info
	for _, c := range d.GetCapabilities() {
		switch c {
		case pluginv2.Capability_CAPABILITY_FRAGMENTS:
			info.Capabilities |= authpolicy.CapFragments
		case pluginv2.Capability_CAPABILITY_VERIFY_MSCHAPV2:
			info.Capabilities |= authpolicy.CapVerifyMSCHAPv2
		case pluginv2.Capability_CAPABILITY_VERIFY_PLAINTEXT:
			info.Capabilities |= authpolicy.CapVerifyPlaintext
		case pluginv2.Capability_CAPABILITY_IDENTITY:
			info.Capabilities |= authpolicy.CapIdentity
		}
	}
	for _, n := range d.GetFragmentLengths() {
		info.FragmentLengths = append(info.FragmentLengths, int(n))
	}
	info.OneTime = d.GetOneTime()
	// A plugin that says both would have its one-time codes replayed:
	// commit them anyway.
	info.NothingToCommit = d.GetNothingToCommit() && !info.OneTime
	info.IdentityInVerdicts = d.GetIdentityInVerdicts() && info.Capabilities.Has(authpolicy.CapIdentity)
	info.IdentityInFragments = d.GetIdentityInFragments() && info.Capabilities.Has(authpolicy.CapIdentity|authpolicy.CapFragments)
	return info
}

// checkSHA256 hashes the executable and compares it with the pin.
func checkSHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("binary %s has SHA-256 %s, the config pins %s: refusing to start it", path, got, want)
	}
	return nil
}

// environment is all the plugin gets: it does not inherit the gateway's
// environment, which may hold credentials.
func (p *plugin) environment() []string {
	var env []string
	for _, k := range []string{"PATH", "TZ", "LANG", sdk.ProfileEnv} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		env = append(env, sdk.LogLevelEnv+"=debug")
	}
	if p.spec.Procs > 0 && !slices.ContainsFunc(p.spec.Env, func(e string) bool { return strings.HasPrefix(e, "GOMAXPROCS=") }) {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", p.spec.Procs))
	}
	return append(env, p.spec.Env...)
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// handshakeError explains a failed start in the operator's terms.
func handshakeError(err error, stderr *tail) error {
	msg := err.Error()
	if m := pluginVersionRE.FindStringSubmatch(msg); m != nil && strings.Contains(msg, "incompatible API version") {
		return permanent(fmt.Errorf("the plugin speaks Gatehouse plugin protocol version %s, this gateway speaks versions %d and %d (gatehouse.plugin.v%d, gatehouse.plugin.v%d): "+
			"install a build of the plugin made for one of these protocol versions: %w", m[1], sdk.ProtocolVersion1, sdk.ProtocolVersion, sdk.ProtocolVersion1, sdk.ProtocolVersion, err))
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return permanent(fmt.Errorf("cannot run the binary: %w", err))
	}
	// go-plugin's message spans lines and guesses at causes; the plugin's
	// own last words say more.
	words := stderr.lastWords()
	const unrecognized = "Unrecognized remote plugin message: "
	if rest, ok := strings.CutPrefix(msg, unrecognized); ok {
		line, _, _ := strings.Cut(rest, "\n")
		if line == "" {
			return fmt.Errorf("no handshake: the plugin exited or closed its standard output first (is it a Gatehouse plugin?)%s", words)
		}
		return fmt.Errorf("no handshake: the plugin printed %q instead (is it a Gatehouse plugin?)%s", line, words)
	}
	return fmt.Errorf("no handshake: %s%s", strings.Join(strings.Fields(msg), " "), words)
}

// killGrace is how long kill lets go-plugin ask a process to exit before
// killing it: go-plugin's own request waits for as long as the process
// lives.
const killGrace = 3 * time.Second

// grpcWindow is the fixed HTTP/2 flow-control window, stream and
// connection, that the host and the SDK both set (see launch).
const grpcWindow = 1 << 20
