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
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
	"google.golang.org/grpc"
)

// conn is one running plugin process and the gRPC client for it.
type conn struct {
	client  *goplugin.Client
	rpc     pluginv1.BackendClient
	pid     int
	started time.Time
	desc    *pluginv1.DescribeResponse
	info    authpolicy.Info

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
// then kills it. It waits for go-plugin's goroutines.
func (c *conn) kill() {
	if c.client != nil {
		c.client.Kill()
	}
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

// launch runs the plugin once: hash check, exec, handshake, Describe,
// Configure, Describe again (the description may depend on the
// configuration). Every step is bounded by Spec.StartTimeout, and the whole
// by ctx and Close.
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
	if err := setUser(cmd, p.spec.User); err != nil {
		return nil, permanent(err)
	}

	c := newConn()
	stderr := &tail{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		// Fixed flow-control windows turn off gRPC's bandwidth-delay
		// estimator, whose PING frames cost each call extra writes and
		// wake-ups; the plugin's messages are small.
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

	proto, err := client.Client()
	if err != nil {
		client.Kill() // waits for go-plugin's stderr reader: all last words are in
		return nil, handshakeError(err, stderr)
	}
	c.started = time.Now()
	if cmd.Process != nil {
		c.pid = cmd.Process.Pid
	}
	raw, err := proto.Dispense(sdk.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispensing the back-end: %w", err)
	}
	rpc, ok := raw.(pluginv1.BackendClient)
	if !ok {
		return nil, fmt.Errorf("dispensing the back-end: got %T", raw)
	}
	c.rpc = rpc

	if _, err := describe(ctx, rpc); err != nil {
		return nil, p.startError(ctx, "Describe", err, stderr)
	}
	cr, err := rpc.Configure(ctx, &pluginv1.ConfigureRequest{Options: p.spec.Config})
	if err != nil {
		return nil, p.startError(ctx, "Configure", err, stderr)
	}
	if !cr.GetOk() {
		problems := cr.GetProblems()
		if len(problems) == 0 {
			problems = []string{"no reason given"}
		}
		return nil, permanent(fmt.Errorf("the plugin rejected its configuration: %s", strings.Join(problems, "; ")))
	}
	d, err := describe(ctx, rpc)
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
	return fmt.Errorf("%s: %w%s", step, rpcCause(err), stderr.lastWords())
}

// describe asks for the description and checks it.
func describe(ctx context.Context, rpc pluginv1.BackendClient) (*pluginv1.DescribeResponse, error) {
	d, err := rpc.Describe(ctx, &pluginv1.DescribeRequest{})
	if err != nil {
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
func infoOf(d *pluginv1.DescribeResponse) authpolicy.Info {
	var info authpolicy.Info
	for _, c := range d.GetCapabilities() {
		switch c {
		case pluginv1.Capability_CAPABILITY_FRAGMENTS:
			info.Capabilities |= authpolicy.CapFragments
		case pluginv1.Capability_CAPABILITY_VERIFY_MSCHAPV2:
			info.Capabilities |= authpolicy.CapVerifyMSCHAPv2
		case pluginv1.Capability_CAPABILITY_VERIFY_PLAINTEXT:
			info.Capabilities |= authpolicy.CapVerifyPlaintext
		case pluginv1.Capability_CAPABILITY_IDENTITY:
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
	for _, k := range []string{"PATH", "TZ", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		env = append(env, sdk.LogLevelEnv+"=debug")
	}
	return append(env, p.spec.Env...)
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// handshakeError explains a failed start in the operator's terms.
func handshakeError(err error, stderr *tail) error {
	msg := err.Error()
	if m := pluginVersionRE.FindStringSubmatch(msg); m != nil && strings.Contains(msg, "incompatible API version") {
		return permanent(fmt.Errorf("the plugin speaks Gatehouse plugin protocol version %s, this gateway speaks version %d (gatehouse.plugin.v%d): "+
			"install a build of the plugin made for this protocol version: %w", m[1], sdk.ProtocolVersion, sdk.ProtocolVersion, err))
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

// grpcWindow is the fixed HTTP/2 flow-control window, stream and
// connection, that the host and the SDK both set (see launch).
const grpcWindow = 1 << 20
