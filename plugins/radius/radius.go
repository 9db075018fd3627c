package radius

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// Version is the plugin's version, the gateway's own.
var Version = "dev"

// ConfigKeys are the options the back-end accepts.
var ConfigKeys = []sdk.ConfigKey{
	{Name: "servers", Required: true, Description: "RADIUS servers, host:port, comma-separated, tried in order"},
	{Name: "secret_file", Description: "file holding the shared secret"},
	{Name: "secret", Description: "the shared secret (the gateway fills it in from secret_file)"},
	{Name: "timeout", Description: "wait for an answer to one transmission (2s)"},
	{Name: "retries", Description: "retransmissions per server (1)"},
	{Name: "dead_after", Description: "timeouts in a row before a server is marked dead (3)"},
	{Name: "probe_interval", Description: "least time between Status-Server probes of a dead server (10s)"},
	{Name: "nas_identifier", Description: "NAS-Identifier sent in every request (gatehouse)"},
	{Name: "nas_ip_address", Description: "NAS-IP-Address sent in every request (none)"},
	{Name: "require_message_authenticator", Description: "refuse replies without a valid Message-Authenticator (true)"},
}

// Backend forwards logins to RADIUS servers.
type Backend struct {
	log *slog.Logger
	cfg *settings
}

type settings struct {
	client *radclient.Client
	nasID  string
	nasIP  netip.Addr
}

// New returns an unconfigured back-end; log may be nil.
func New(log *slog.Logger) *Backend {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backend{log: log}
}

// Describe implements sdk.Backend.
func (b *Backend) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name: "radius", Version: Version,
		Capabilities: []sdk.Capability{sdk.CapVerifyPlaintext, sdk.CapVerifyMSCHAPv2},
		ConfigKeys:   ConfigKeys,
	}, nil
}

// Configure implements sdk.Configurer.
func (b *Backend) Configure(_ context.Context, o map[string]string) error {
	cfg, s, err := ParseOptions(o)
	if err != nil {
		return err
	}
	s.client = radclient.New(cfg, b.log)
	b.cfg = s
	return nil
}

// ParseOptions checks the options and returns the client configuration.
func ParseOptions(o map[string]string) (radclient.Config, *settings, error) {
	var errs []error
	var cfg radclient.Config
	s := &settings{nasID: "gatehouse"}
	secret := []byte(o["secret"])
	switch {
	case o["secret"] != "" && o["secret_file"] != "":
		errs = append(errs, errors.New("secret and secret_file: set one, not both"))
	case o["secret_file"] != "":
		b, err := os.ReadFile(o["secret_file"])
		if err != nil {
			errs = append(errs, fmt.Errorf("secret_file: %w", err))
		}
		secret = bytes.TrimRight(b, "\r\n")
	}
	if len(secret) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no shared secret: set secret_file"))
	}
	for a := range strings.SplitSeq(o["servers"], ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("servers: %q: %w (write host:port, such as 192.0.2.10:1812)", a, err))
			continue
		}
		cfg.Servers = append(cfg.Servers, radclient.Server{Addr: a, Secret: radclient.Secret(secret)})
	}
	if len(cfg.Servers) == 0 {
		errs = append(errs, errors.New("servers: no server"))
	}
	dur := func(k string, dst *time.Duration) {
		if v, ok := o[k]; ok && v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as 2s", k, v))
			}
			*dst = d
		}
	}
	num := func(k string, dst *int, min int) {
		if v, ok := o[k]; ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < min {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number >= %d", k, v, min))
			}
			*dst = n
		}
	}
	dur("timeout", &cfg.Timeout)
	dur("probe_interval", &cfg.ProbeInterval)
	num("retries", &cfg.Retries, 0)
	if v := o["retries"]; v == "0" {
		cfg.Retries = -1 // radclient: negative means none
	}
	num("dead_after", &cfg.DeadAfter, 1)
	if v, ok := o["nas_identifier"]; ok {
		s.nasID = v
	}
	if v := o["nas_ip_address"]; v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("nas_ip_address: %q is not an IPv4 address", v))
		}
		s.nasIP = a
	}
	switch v := o["require_message_authenticator"]; v {
	case "", "true":
	case "false":
		cfg.AllowMissingMessageAuthenticator = true
	default:
		errs = append(errs, fmt.Errorf("require_message_authenticator: %q: want true or false", v))
	}
	return cfg, s, errors.Join(errs...)
}

func (b *Backend) settings() (*settings, error) {
	if b.cfg == nil {
		return nil, errors.New("not configured")
	}
	return b.cfg, nil
}

// nasAttributes are the attributes every Access-Request carries.
func (s *settings) nasAttributes(ctx context.Context, user string) (lr.Attributes, error) {
	p := &lr.Packet{}
	if cs := sdk.CallingStation(ctx); cs != "" {
		if err := rfc2865.CallingStationID_SetString(p, cs); err != nil {
			return nil, fmt.Errorf("Calling-Station-Id: %w", err)
		}
	}
	if err := rfc2865.UserName_SetString(p, user); err != nil {
		return nil, fmt.Errorf("User-Name: %w", err)
	}
	if s.nasID != "" {
		if err := rfc2865.NASIdentifier_SetString(p, s.nasID); err != nil {
			return nil, err
		}
	}
	if s.nasIP.IsValid() {
		ip := s.nasIP.As4()
		_ = rfc2865.NASIPAddress_Set(p, net.IP(ip[:]))
	}
	_ = rfc2865.NASPortType_Set(p, rfc2865.NASPortType_Value_Virtual)
	_ = rfc2865.ServiceType_Set(p, rfc2865.ServiceType_Value_FramedUser)
	_ = rfc2865.FramedProtocol_Set(p, rfc2865.FramedProtocol_Value_PPP)
	return p.Attributes, nil
}

// VerifyPlaintext implements sdk.PlaintextVerifier (PAP).
func (b *Backend) VerifyPlaintext(ctx context.Context, user, secret string) (sdk.Verdict, error) {
	s, err := b.settings()
	if err != nil {
		return sdk.Verdict{}, err
	}
	attrs, err := s.nasAttributes(ctx, user)
	if err != nil {
		return sdk.Verdict{}, err
	}
	if len(secret) > 128 {
		return sdk.Verdict{Reason: "password longer than RADIUS allows (128 bytes)"}, nil
	}
	pw := []byte(secret)
	if len(pw) == 0 {
		pw = []byte{} // an empty User-Password, not none
	}
	req := &radclient.Request{Code: lr.CodeAccessRequest, Attributes: attrs, UserPassword: pw}
	var resp *radclient.Response
	if c := sdk.Continuation(ctx); c != nil {
		// The answer to an upstream Access-Challenge: to the server that
		// sent it, with its State (RFC 2865 section 4.4).
		server, state, ok := decodeContinuation(c)
		if !ok {
			clear(pw)
			return sdk.Verdict{}, errors.New("the continuation of a challenge is malformed")
		}
		req.Attributes = append(req.Attributes, &lr.AVP{Type: rfc2865.State_Type, Attribute: state})
		resp, err = s.client.ExchangeWith(ctx, server, req)
	} else {
		resp, err = s.client.Exchange(ctx, req)
	}
	clear(pw)
	if err != nil {
		return sdk.Verdict{}, err
	}
	v := b.verdict(user, resp)
	if resp.Code == lr.CodeAccessChallenge && sdk.ChallengeAllowed(ctx) {
		state := rfc2865.State_Get(resp.Packet)
		if len(state) == 0 {
			v.Reason = fmt.Sprintf("RADIUS server %s sent an Access-Challenge without a State: refused", resp.Server)
			return v, nil
		}
		b.log.Info("RADIUS challenge passed on", "user", user, "server", resp.Server)
		v.Reason = fmt.Sprintf("RADIUS server %s sent an Access-Challenge (a second prompt), passed on to the user", resp.Server)
		v.Challenge = &sdk.Challenge{Message: sanitize(rfc2865.ReplyMessage_GetString(resp.Packet)), Continuation: encodeContinuation(resp.Server, state)}
	}
	return v, nil
}

// continuationVersion is the first byte of a continuation.
const continuationVersion = 1

// encodeContinuation is what the back-end needs to resume a challenge:
// version, the server's address (length, bytes), the server's State.
func encodeContinuation(server string, state []byte) []byte {
	out := make([]byte, 0, 2+len(server)+len(state))
	out = append(out, continuationVersion, byte(len(server)))
	out = append(out, server...)
	return append(out, state...)
}

func decodeContinuation(b []byte) (server string, state []byte, ok bool) {
	if len(b) < 2 || b[0] != continuationVersion || len(b) < 2+int(b[1])+1 || b[1] == 0 {
		return "", nil, false
	}
	n := int(b[1])
	return string(b[2 : 2+n]), b[2+n:], true
}

func (b *Backend) verdict(user string, resp *radclient.Response) sdk.Verdict {
	switch resp.Code {
	case lr.CodeAccessAccept:
		a := ParseAuthorization(resp.Packet)
		b.log.Info("RADIUS accept", "user", user, "server", resp.Server, "authorization", a)
		return sdk.Verdict{OK: true, Attributes: a.Attributes()}
	case lr.CodeAccessReject:
		if v, ok := rfc2548.Lookup(rfc2548.VendorSpecific(resp.Packet), rfc2548.TypeCHAPError); ok {
			if e, err := rfc2548.ParseCHAPError(v); err == nil {
				return sdk.Verdict{Reason: e.Reason(), MSCHAPError: e.Code}
			}
		}
		if m := rfc2865.ReplyMessage_GetString(resp.Packet); m != "" {
			return sdk.Verdict{Reason: fmt.Sprintf("RADIUS server %s rejected: %s", resp.Server, sanitize(m))}
		}
		return sdk.Verdict{Reason: fmt.Sprintf("RADIUS server %s rejected the login", resp.Server)}
	case lr.CodeAccessChallenge:
		// A reject, with a reason that says so; VerifyPlaintext passes it
		// on instead where the front door can show a second prompt.
		return sdk.Verdict{Reason: fmt.Sprintf("RADIUS server %s sent an Access-Challenge (a second prompt), which this login cannot answer (only a PAP login at the RADIUS front door with services.<name>.challenge on can): refused", resp.Server)}
	}
	return sdk.Verdict{Reason: fmt.Sprintf("RADIUS server %s answered with %v", resp.Server, resp.Code)}
}

// sanitize keeps a server's text printable and short for a log line.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.TrimSpace(s)
}

// VerifyMSCHAPv2 implements sdk.MSCHAPv2Verifier.
func (b *Backend) VerifyMSCHAPv2(ctx context.Context, user string, r sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	s, err := b.settings()
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	name := r.UserName
	if name == "" {
		name = user
	}
	attrs, err := s.nasAttributes(ctx, name)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	const ident = 1
	resp50 := make([]byte, 0, 50)
	resp50 = append(resp50, ident, 0)
	resp50 = append(resp50, r.PeerChallenge[:]...)
	resp50 = append(resp50, make([]byte, 8)...)
	resp50 = append(resp50, r.NTResponse[:]...)
	attrs = append(attrs,
		&lr.AVP{Type: rfc2865.VendorSpecific_Type, Attribute: rfc2548.VSA(rfc2548.TypeCHAPChallenge, r.AuthenticatorChallenge[:])},
		&lr.AVP{Type: rfc2865.VendorSpecific_Type, Attribute: rfc2548.VSA(rfc2548.TypeCHAP2Response, resp50)},
	)
	resp, err := s.client.Exchange(ctx, &radclient.Request{Code: lr.CodeAccessRequest, Attributes: attrs})
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	if resp.Code != lr.CodeAccessAccept {
		return sdk.MSCHAPv2Verdict{Verdict: b.verdict(user, resp)}, nil
	}
	v, err := MSCHAPv2Keys(resp)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, fmt.Errorf("RADIUS server %s accepted %s: %w", resp.Server, user, err)
	}
	v.Attributes = b.verdict(user, resp).Attributes
	return v, nil
}

// MSCHAPv2Keys reads MS-CHAP2-Success and the MPPE keys from an
// Access-Accept.
func MSCHAPv2Keys(resp *radclient.Response) (sdk.MSCHAPv2Verdict, error) {
	vs := rfc2548.VendorSpecific(resp.Packet)
	succ, ok := rfc2548.Lookup(vs, rfc2548.TypeCHAP2Success)
	if !ok {
		return sdk.MSCHAPv2Verdict{}, errors.New("no MS-CHAP2-Success in the Access-Accept")
	}
	_, ar, err := rfc2548.ParseCHAP2Success(succ)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	sendV, ok1 := rfc2548.Lookup(vs, rfc2548.TypeMPPESendKey)
	recvV, ok2 := rfc2548.Lookup(vs, rfc2548.TypeMPPERecvKey)
	if !ok1 || !ok2 {
		return sdk.MSCHAPv2Verdict{}, errors.New("no MS-MPPE-Send-Key/MS-MPPE-Recv-Key in the Access-Accept: MPPE cannot start (enable use_mppe on the server)")
	}
	send, err := rfc2548.DecryptKey(sendV, resp.Secret, resp.RequestAuthenticator)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	recv, err := rfc2548.DecryptKey(recvV, resp.Secret, resp.RequestAuthenticator)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{OK: true}, AuthenticatorResponse: ar, SendKey: &send, RecvKey: &recv}, nil
}

// Health implements sdk.HealthChecker: a Status-Server to the servers.
func (b *Backend) Health(ctx context.Context) error {
	s, err := b.settings()
	if err != nil {
		return err
	}
	_, err = s.client.Exchange(ctx, &radclient.Request{Code: lr.CodeStatusServer})
	return err
}
