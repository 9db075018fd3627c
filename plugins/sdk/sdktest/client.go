package sdktest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// Client calls a back-end served by [Start] the way the gateway does:
// through go-plugin, gRPC and the SDK's shim. It speaks the SDK's Go types
// and returns the RPC error unchanged, so a test can inspect its gRPC
// status code (status.Code(err)).
type Client struct {
	rpc   pluginv1.BackendClient
	close func()
}

// Start serves b in this process exactly as [sdk.Serve] would in its own
// (go-plugin's server in test mode, gRPC over a Unix socket, the SDK's
// shim) and returns a client for it. The server stops when the test ends.
func Start(tb testing.TB, b sdk.Backend) *Client {
	tb.Helper()
	c, err := start(b)
	if err != nil {
		tb.Fatalf("sdktest: serving the back-end: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// startTimeout bounds how long go-plugin may take to listen.
const startTimeout = 10 * time.Second

func start(b sdk.Backend) (*Client, error) {
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	go plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(b),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           hclog.NewNullLogger(),
		Test: &plugin.ServeTestConfig{
			Context:          ctx,
			ReattachConfigCh: reattach,
			CloseCh:          closed,
		},
	})
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-closed:
		cancel()
		return nil, errors.New("go-plugin's server ended before it listened")
	case <-time.After(startTimeout):
		cancel()
		<-closed
		return nil, fmt.Errorf("go-plugin's server did not listen within %v", startTimeout)
	}
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginMap(nil),
		Reattach:         rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	stop := func() {
		pc.Kill()
		cancel()
		<-closed
	}
	proto, err := pc.Client()
	if err != nil {
		stop()
		return nil, fmt.Errorf("connecting: %w", err)
	}
	raw, err := proto.Dispense(sdk.PluginName)
	if err != nil {
		_ = proto.Close()
		stop()
		return nil, fmt.Errorf("dispensing %q: %w", sdk.PluginName, err)
	}
	c := &Client{rpc: raw.(pluginv1.BackendClient)}
	c.close = func() {
		// In test mode Kill leaves the connection open. Close asks the
		// server to stop through go-plugin's controller and closes it;
		// Serve then returns on its own. Cancelling its context as well
		// would make go-plugin stop the server twice at once (a data
		// race in go-plugin), so that is only the fallback.
		_ = proto.Close()
		select {
		case <-closed:
		case <-time.After(startTimeout):
		}
		stop()
	}
	return c, nil
}

// Close stops the server. It may be called more than once.
func (c *Client) Close() {
	if c.close != nil {
		c.close()
		c.close = nil
	}
}

// Describe calls Describe.
func (c *Client) Describe(ctx context.Context) (sdk.Description, error) {
	r, err := c.rpc.Describe(ctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return sdk.Description{}, err
	}
	d := sdk.Description{Name: r.GetName(), Version: r.GetVersion(), OneTime: r.GetOneTime()}
	for _, x := range r.GetCapabilities() {
		d.Capabilities = append(d.Capabilities, sdk.Capability(x))
	}
	for _, n := range r.GetFragmentLengths() {
		d.FragmentLengths = append(d.FragmentLengths, int(n))
	}
	for _, k := range r.GetConfigKeys() {
		d.ConfigKeys = append(d.ConfigKeys, sdk.ConfigKey{Name: k.GetName(), Required: k.GetRequired(), Description: k.GetDescription()})
	}
	return d, nil
}

// Configure calls Configure and returns the problems the plugin found
// (none when it accepted the options).
func (c *Client) Configure(ctx context.Context, options map[string]string) (problems []string, err error) {
	r, err := c.rpc.Configure(ctx, &pluginv1.ConfigureRequest{Options: options})
	if err != nil {
		return nil, err
	}
	if !r.GetOk() && len(r.GetProblems()) == 0 {
		return []string{"rejected without naming a problem"}, nil
	}
	return r.GetProblems(), nil
}

// Fragments calls Fragments.
func (c *Client) Fragments(ctx context.Context, user string) ([]sdk.Fragment, error) {
	r, err := c.rpc.Fragments(ctx, &pluginv1.FragmentsRequest{User: user})
	if err != nil {
		return nil, err
	}
	var out []sdk.Fragment
	for _, f := range r.GetFragments() {
		out = append(out, sdk.Fragment{Secret: string(f.GetSecret()), Token: f.GetToken()})
	}
	return out, nil
}

func verdict(v *pluginv1.Verdict) sdk.Verdict {
	return sdk.Verdict{OK: v.GetOk(), Reason: v.GetReason(), Token: v.GetToken()}
}

// VerifyPlaintext calls VerifyPlaintext.
func (c *Client) VerifyPlaintext(ctx context.Context, user, secret string) (sdk.Verdict, error) {
	r, err := c.rpc.VerifyPlaintext(ctx, &pluginv1.VerifyPlaintextRequest{User: user, Secret: []byte(secret)})
	if err != nil {
		return sdk.Verdict{}, err
	}
	return verdict(r.GetVerdict()), nil
}

// VerifyMSCHAPv2 calls VerifyMSCHAPv2. A proof of the wrong size is an
// error, as it is for the gateway.
func (c *Client) VerifyMSCHAPv2(ctx context.Context, user string, req sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	r, err := c.rpc.VerifyMSCHAPv2(ctx, &pluginv1.VerifyMSCHAPv2Request{
		User:                   user,
		AuthenticatorChallenge: req.AuthenticatorChallenge[:],
		PeerChallenge:          req.PeerChallenge[:],
		NtResponse:             req.NTResponse[:],
		UserName:               req.UserName,
	})
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	v := sdk.MSCHAPv2Verdict{Verdict: verdict(r.GetVerdict())}
	if hh := r.GetPasswordHashHash(); hh != nil {
		if v.PasswordHashHash, err = key16("password_hash_hash", hh); err != nil {
			return sdk.MSCHAPv2Verdict{}, err
		}
	}
	if a := r.GetAuthenticator(); a != nil {
		v.AuthenticatorResponse = a.GetAuthenticatorResponse()
		if v.SendKey, err = key16("mppe_send_key", a.GetMppeSendKey()); err != nil {
			return sdk.MSCHAPv2Verdict{}, err
		}
		if v.RecvKey, err = key16("mppe_recv_key", a.GetMppeRecvKey()); err != nil {
			return sdk.MSCHAPv2Verdict{}, err
		}
	}
	return v, nil
}

func key16(field string, b []byte) (*[16]byte, error) {
	if len(b) != 16 {
		return nil, fmt.Errorf("%s is %d bytes, not 16", field, len(b))
	}
	return (*[16]byte)(b), nil
}

// Commit calls Commit.
func (c *Client) Commit(ctx context.Context, user, token string) error {
	_, err := c.rpc.Commit(ctx, &pluginv1.CommitRequest{User: user, Token: token})
	return err
}

// Lookup calls Lookup.
func (c *Client) Lookup(ctx context.Context, user string) (sdk.Identity, error) {
	r, err := c.rpc.Lookup(ctx, &pluginv1.LookupRequest{User: user})
	if err != nil {
		return sdk.Identity{}, err
	}
	id := sdk.Identity{Found: r.GetFound(), Disabled: r.GetDisabled(), Locked: r.GetLocked(), Groups: r.GetGroups()}
	if len(r.GetAttributes()) > 0 {
		id.Attributes = map[string][]string{}
		for k, v := range r.GetAttributes() {
			id.Attributes[k] = v.GetValues()
		}
	}
	return id, nil
}

// Health calls Health; an unhealthy answer is an error carrying the
// plugin's message.
func (c *Client) Health(ctx context.Context) error {
	r, err := c.rpc.Health(ctx, &pluginv1.HealthRequest{})
	if err != nil {
		return err
	}
	if !r.GetOk() {
		return fmt.Errorf("unhealthy: %s", r.GetMessage())
	}
	return nil
}
