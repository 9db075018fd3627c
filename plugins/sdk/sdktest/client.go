package sdktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// Client calls a back-end served by [Start] the way the gateway does:
// through the SDK's frame loop on a plugin channel (protocol version 2).
// It speaks the SDK's Go types and returns errors as gRPC statuses with
// the protocol's codes, so a test can inspect them with status.Code(err):
// the plugin's own error codes, DeadlineExceeded and Canceled for the
// context, Unavailable for a broken channel.
type Client struct {
	ch    *channel.Client
	close func()
}

// Start serves b in this process exactly as [sdk.Serve] would in its own
// (the SDK's frame loop on one end of a plugin channel, a socket pair) and
// returns a client on the other end. The server stops when the test ends.
func Start(tb testing.TB, b sdk.Backend) *Client {
	tb.Helper()
	c, err := start(b)
	if err != nil {
		tb.Fatalf("sdktest: serving the back-end: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

func start(b sdk.Backend) (*Client, error) {
	host, pluginEnd, err := channel.Pair()
	if err != nil {
		return nil, err
	}
	defer pluginEnd.Close()
	conn, err := net.FileConn(pluginEnd)
	if err != nil {
		host.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = sdk.ServeConn(ctx, conn, b)
	}()
	ch := channel.NewClient(host)
	return &Client{ch: ch, close: func() {
		ch.Close()
		cancel()
		<-served
	}}, nil
}

// call makes one call and maps its error to a gRPC status.
func (c *Client) call(ctx context.Context, m pluginv2.Method, req, resp proto.Message) error {
	err := c.ch.Call(ctx, time.Time{}, m, req, resp)
	var re *channel.RemoteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return status.Error(codes.Code(re.Code), re.Message)
	case errors.Is(err, channel.ErrBroken):
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.FromContextError(err).Err()
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
	r := &pluginv2.DescribeResponse{}
	if err := c.call(ctx, pluginv2.Method_METHOD_DESCRIBE, &pluginv2.DescribeRequest{}, r); err != nil {
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
	r := &pluginv2.ConfigureResponse{}
	if err := c.call(ctx, pluginv2.Method_METHOD_CONFIGURE, &pluginv2.ConfigureRequest{Options: options}, r); err != nil {
		return nil, err
	}
	if !r.GetOk() && len(r.GetProblems()) == 0 {
		return []string{"rejected without naming a problem"}, nil
	}
	return r.GetProblems(), nil
}

// Fragments calls Fragments.
func (c *Client) Fragments(ctx context.Context, user string) ([]sdk.Fragment, error) {
	r := &pluginv2.FragmentsResponse{}
	if err := c.call(ctx, pluginv2.Method_METHOD_FRAGMENTS, &pluginv2.FragmentsRequest{User: user}, r); err != nil {
		return nil, err
	}
	var out []sdk.Fragment
	for _, f := range r.GetFragments() {
		out = append(out, sdk.Fragment{Secret: string(f.GetSecret()), Token: f.GetToken()})
	}
	return out, nil
}

func verdict(v *pluginv2.Verdict) sdk.Verdict {
	out := sdk.Verdict{OK: v.GetOk(), Reason: v.GetReason(), Token: v.GetToken()}
	if c := v.GetChallenge(); c != nil {
		out.Challenge = &sdk.Challenge{Message: c.GetMessage(), Continuation: c.GetContinuation()}
	}
	return out
}

// VerifyPlaintextChallenge calls VerifyPlaintext as the RADIUS front door
// does for a PAP login with challenges on: the back-end may answer with a
// Challenge (sdk.ChallengeAllowed), and cont, when not nil, is the
// continuation of the challenge whose answer secret is (sdk.Continuation).
func (c *Client) VerifyPlaintextChallenge(ctx context.Context, user, secret string, cont []byte) (sdk.Verdict, error) {
	r := &pluginv2.VerifyPlaintextResponse{}
	req := &pluginv2.VerifyPlaintextRequest{User: user, Secret: []byte(secret), ChallengeOk: true, Continuation: cont}
	if err := c.call(ctx, pluginv2.Method_METHOD_VERIFY_PLAINTEXT, req, r); err != nil {
		return sdk.Verdict{}, err
	}
	return verdict(r.GetVerdict()), nil
}

// VerifyPlaintext calls VerifyPlaintext.
func (c *Client) VerifyPlaintext(ctx context.Context, user, secret string) (sdk.Verdict, error) {
	r := &pluginv2.VerifyPlaintextResponse{}
	if err := c.call(ctx, pluginv2.Method_METHOD_VERIFY_PLAINTEXT, &pluginv2.VerifyPlaintextRequest{User: user, Secret: []byte(secret)}, r); err != nil {
		return sdk.Verdict{}, err
	}
	return verdict(r.GetVerdict()), nil
}

// VerifyMSCHAPv2 calls VerifyMSCHAPv2. A proof of the wrong size is an
// error, as it is for the gateway.
func (c *Client) VerifyMSCHAPv2(ctx context.Context, user string, req sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	r := &pluginv2.VerifyMSCHAPv2Response{}
	err := c.call(ctx, pluginv2.Method_METHOD_VERIFY_MSCHAPV2, &pluginv2.VerifyMSCHAPv2Request{
		User:                   user,
		AuthenticatorChallenge: req.AuthenticatorChallenge[:],
		PeerChallenge:          req.PeerChallenge[:],
		NtResponse:             req.NTResponse[:],
		UserName:               req.UserName,
	}, r)
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
	return c.call(ctx, pluginv2.Method_METHOD_COMMIT, &pluginv2.CommitRequest{User: user, Token: token}, &pluginv2.CommitResponse{})
}

// Lookup calls Lookup.
func (c *Client) Lookup(ctx context.Context, user string) (sdk.Identity, error) {
	r := &pluginv2.LookupResponse{}
	if err := c.call(ctx, pluginv2.Method_METHOD_LOOKUP, &pluginv2.LookupRequest{User: user}, r); err != nil {
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
	r := &pluginv2.HealthResponse{}
	if err := c.call(ctx, pluginv2.Method_METHOD_HEALTH, &pluginv2.HealthRequest{}, r); err != nil {
		return err
	}
	if !r.GetOk() {
		return fmt.Errorf("unhealthy: %s", r.GetMessage())
	}
	return nil
}
