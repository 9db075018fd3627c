package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/pap"
)

// The control pipeline of one session, all on RoutineSession:
//
//  1. setup: build the LCP, IPCP and CCP automata; LCP Up and Open.
//  2. LCP This-Layer-Up: send the CHAP Challenge (16 random octets).
//  3. CHAP Response: parse it, call Authenticate on its own goroutine
//     under AuthTimeout; its answer comes back on authDone.
//  4. Accepted: CHAP Success "S=... M=..."; IPCP and CCP Up and Open.
//     Refused: CHAP Failure E=691 (647 when disabled); LCP closes after
//     FailureDelay.
//  5. IPCP and CCP This-Layer-Up: MPPE Encrypter (Send key) and
//     Decrypter (Recv key); the data path opens.
//  6. LCP This-Layer-Finished, or a Close: the session ends, the address
//     goes back to the pool, Done is closed.

// RoutineSession runs the session's control plane until it ends.
func (s *Session) RoutineSession() {
	s.log.Debug("routine session started")
	defer s.log.Debug("routine session stopped")
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	defer cancel()

	if err := s.setup(); err != nil {
		s.finish(err.Error())
		return
	}
	deadline := time.NewTimer(s.cfg.NegotiationTimeout)
	defer deadline.Stop()
	var failDelay *time.Timer
	var failC <-chan time.Time
	var echoC <-chan time.Time
	if s.cfg.EchoInterval > 0 {
		t := time.NewTicker(s.cfg.EchoInterval)
		defer t.Stop()
		echoC = t.C
	}
	s.lcpA.Up()
	s.lcpA.Open()

	for !s.finished {
		select {
		case fb := <-s.control:
			s.receiveControl(ctx, fb.b[:fb.n])
			framePool.Put(fb)
		case out := <-s.authDone:
			if !s.authenticated(out) && s.chapSt == chapFailed && failDelay == nil {
				failDelay = time.NewTimer(s.cfg.FailureDelay)
				failC = failDelay.C
			}
		case <-failC:
			failC = nil
			s.lcpA.Close(errors.New(s.ending))
		case <-s.resetReq:
			if s.ccpA.State() == ppp.Opened {
				s.ccpA.SendPacket(s.ccpNeg.ResetRequest())
			}
		case cause := <-s.closeReq:
			if s.ending == "" {
				s.ending = cause
			}
			// The cause travels in the Terminate-Request, so the
			// client's log says why (idle timeout, killed by the
			// operator): Close's causes are the gateway's, not a
			// refused login's.
			s.lcpA.CloseMessage(errors.New(cause), cause)
		case <-deadline.C:
			if !s.established() {
				s.ending = errNegotiationTimeout.Error()
				s.lcpA.Close(errNegotiationTimeout)
			}
		case <-echoC:
			s.keepalive()
		case <-s.timers[lcpTimer].C:
			s.lcpA.Timeout()
		case <-s.timers[ipcpTimer].C:
			s.ipcpA.Timeout()
		case <-s.timers[ccpTimer].C:
			s.ccpA.Timeout()
		case <-s.timers[chapTimer].C:
			s.resendChallenge()
		}
	}
	if failDelay != nil {
		failDelay.Stop()
	}
}

// setup is step 1.
func (s *Session) setup() error {
	var err error
	if s.lcpNeg, err = lcp.NewNegotiator(s.cfg.LCP); err != nil {
		return fmt.Errorf("lcp policy: %w", err)
	}
	if s.ipcpNeg, err = ipcp.NewNegotiator(s.cfg.IPCP); err != nil {
		return fmt.Errorf("ipcp policy: %w", err)
	}
	s.ccpNeg = ccp.NewNegotiator(s.cfg.CCP)
	s.lcpA = ppp.NewAutomaton(ppp.ProtoLCP, s.lcpNeg, func(p []byte) { s.sendControl(ppp.ProtoLCP, p) })
	s.ipcpA = ppp.NewAutomaton(ppp.ProtoIPCP, s.ipcpNeg, func(p []byte) { s.sendControl(ppp.ProtoIPCP, p) })
	s.ccpA = ppp.NewAutomaton(ppp.ProtoCCP, s.ccpNeg, func(p []byte) { s.sendControl(ppp.ProtoCCP, p) })
	for i, a := range []*ppp.Automaton{s.lcpA, s.ipcpA, s.ccpA} {
		t := time.NewTimer(time.Hour)
		t.Stop()
		s.timers[i] = t
		a.SetTimer = func(d time.Duration) {
			if d == 0 {
				t.Stop()
			} else {
				t.Reset(d)
			}
		}
		if s.cfg.RestartInterval > 0 {
			a.RestartInterval = s.cfg.RestartInterval
		}
	}
	s.timers[chapTimer] = time.NewTimer(time.Hour)
	s.timers[chapTimer].Stop()
	s.lcpA.Notify = s.lcpEvent
	s.ipcpA.Notify = s.ipcpEvent
	s.ccpA.Notify = s.ccpEvent
	s.lcpNeg.ProtocolRejected = func(p ppp.Protocol) {
		switch p {
		case ppp.ProtoIPCP:
			s.ipcpA.ProtocolRejected()
		case ppp.ProtoCCP:
			s.ccpA.ProtocolRejected()
		}
	}
	s.ccpNeg.OnResetRequest = func() {
		s.data.Lock()
		if s.data.enc != nil {
			s.data.enc.ResetRequest()
		}
		s.data.Unlock()
	}
	return nil
}

// sendControl frames one control packet and sends it.
func (s *Session) sendControl(proto ppp.Protocol, pkt []byte) {
	s.ctrlTx = ppp.AppendFrame(s.ctrlTx[:0], proto, pkt, s.acfc, s.pfc)
	if err := s.link.SendPPP(s.ctrlTx); err != nil {
		s.log.Debug("send control frame", slog.String("protocol", proto.String()), slog.Any("error", err))
	}
}

func (s *Session) receiveControl(ctx context.Context, frame []byte) {
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil {
		return
	}
	switch proto {
	case ppp.ProtoLCP:
		err = s.lcpA.Receive(info)
	case ppp.ProtoCHAP:
		if s.auth != lcp.PAP {
			s.receiveCHAP(ctx, info)
		}
	case ppp.ProtoPAP:
		if s.auth == lcp.PAP {
			s.receivePAP(ctx, info)
		}
	case ppp.ProtoIPCP:
		if s.chapSt == chapSucceeded {
			err = s.ipcpA.Receive(info)
		}
	case ppp.ProtoCCP:
		if s.chapSt == chapSucceeded {
			err = s.ccpA.Receive(info)
		}
	case ppp.ProtoCompressedDatagram:
		s.receiveEncrypted(info, true) // came before the data phase opened
	case ppp.ProtoIP:
		s.receivePlain(info, true)
	default:
		s.stats.dropProtocol.Add(1)
		if s.lcpA.State() == ppp.Opened {
			s.rejectID++
			s.sendControl(ppp.ProtoLCP, ppp.AppendProtocolReject(s.ctrlPkt[:0], s.rejectID, proto, info, s.peerMRU()))
		}
	}
	if err != nil {
		s.log.Debug("control packet discarded", slog.String("protocol", proto.String()), slog.Any("error", err))
	}
}

func (s *Session) peerMRU() int {
	if s.lcpA.State() == ppp.Opened {
		return int(s.lcpNeg.Result().PeerMRU)
	}
	return ppp.DefaultMRU
}

// lcpEvent drives steps 2 and 6.
func (s *Session) lcpEvent(ev ppp.LayerEvent) {
	switch ev {
	case ppp.ThisLayerUp:
		r := s.lcpNeg.Result()
		s.acfc, s.pfc = r.SendACFC, r.SendPFC
		s.data.Lock()
		s.data.acfc, s.data.pfc = r.SendACFC, r.SendPFC
		s.data.Unlock()
		s.auth = r.Auth
		switch r.Auth {
		case lcp.MSCHAPv2, lcp.MSCHAPv1, lcp.CHAPMD5:
			s.sendChallenge()
		case lcp.PAP:
			// The peer speaks first (RFC 1334 section 2.1); it gets
			// AuthTimeout to do so.
			s.chapSt = chapChallenged
			s.timers[chapTimer].Reset(s.cfg.AuthTimeout)
		default:
			s.lcpA.Close(fmt.Errorf("authentication method %s is not supported by the session", r.Auth))
		}
	case ppp.ThisLayerDown:
		s.closeData()
		s.ipcpA.Down()
		s.ccpA.Down()
	case ppp.ThisLayerFinished:
		cause := s.ending
		if cause == "" {
			if err := s.lcpA.Err(); err != nil {
				cause = err.Error()
			} else {
				cause = "link closed"
			}
		}
		s.finish(cause)
	}
}

// sendChallenge is step 2.
func (s *Session) sendChallenge() {
	s.chapID++
	s.chapVal = newChallenge()
	s.chapSt = chapChallenged
	s.chapSent = 0
	s.resendChallenge()
}

// resendChallenge sends the current Challenge again while no Response
// has come (RFC 1994 section 4.1), until MaxConfigure are unanswered.
func (s *Session) resendChallenge() {
	if s.chapSt != chapChallenged {
		return
	}
	if s.auth == lcp.PAP {
		s.ending = "peer sent no PAP Authenticate-Request"
		s.lcpA.Close(errors.New(s.ending))
		return
	}
	if s.chapSent >= s.lcpA.MaxConfigure {
		s.ending = "peer does not answer the CHAP Challenge"
		s.lcpA.Close(errors.New(s.ending))
		return
	}
	s.chapSent++
	s.sendControl(ppp.ProtoCHAP, chap.AppendChallengeValue(s.ctrlPkt[:0], s.chapID, s.challenge(), s.cfg.ServerName))
	s.timers[chapTimer].Reset(s.lcpA.RestartInterval)
}

// receiveCHAP is step 3.
func (s *Session) receiveCHAP(ctx context.Context, info []byte) {
	if len(info) == 0 {
		return
	}
	if chap.Code(info[0]) == chap.CodeChangePassword && len(info) >= 2 && s.chapSt == chapFailed && s.auth == lcp.MSCHAPv2 {
		// RFC 2759 section 7; not supported (package chap).
		f := chap.NewFailure(info[1], chap.ChangingPassword, newChallenge(), "Changing the password is not supported")
		s.sendControl(ppp.ProtoCHAP, f.Append(s.ctrlPkt[:0]))
		return
	}
	if chap.Code(info[0]) != chap.CodeResponse {
		return
	}
	id, name, cred, refused, err := s.parseResponse(info)
	if err != nil {
		s.stats.dropProtocol.Add(1)
		return
	}
	if id != s.chapID {
		return
	}
	switch s.chapSt {
	case chapChallenged:
	case chapSucceeded:
		s.sendControl(ppp.ProtoCHAP, s.success) // our Success was lost
		return
	default:
		return
	}
	s.chapSt = chapAuthenticating
	s.timers[chapTimer].Stop()
	s.info.Lock()
	s.info.user = name
	s.info.Unlock()
	if refused != "" {
		go func() {
			s.authDone <- authOutcome{id: id, err: &Denied{Code: chap.AuthenticationFailure, Reason: refused}}
		}()
		return
	}
	s.startAuth(ctx, id, cred)
}

// challenge is the Value of our Challenge: 16 octets, 8 for MS-CHAPv1
// (RFC 2433 section 2).
func (s *Session) challenge() []byte {
	if s.auth == lcp.MSCHAPv1 {
		return s.chapVal[:chap.V1ChallengeLen]
	}
	return s.chapVal[:]
}

// parseResponse decodes a Response of the agreed CHAP algorithm into the
// credential the policy engine checks. refused, when set, is why the
// login fails without asking the engine (an MS-CHAPv1 response carrying
// only the LAN Manager response).
func (s *Session) parseResponse(info []byte) (id uint8, name string, cred authpolicy.Credential, refused string, err error) {
	switch s.auth {
	case lcp.MSCHAPv1:
		r, err := chap.ParseV1Response(info)
		if err != nil {
			return 0, "", cred, "", err
		}
		if !r.UseNT() {
			refused = "the MS-CHAPv1 response carries only a LAN Manager response, which is refused"
		}
		resp := r.MSCHAPv1([chap.V1ChallengeLen]byte(s.chapVal[:chap.V1ChallengeLen]))
		return r.Identifier, r.Name, authpolicy.Credential{Kind: authpolicy.MSCHAPv1, User: r.Name, MSCHAPv1: &resp}, refused, nil
	case lcp.CHAPMD5:
		r, err := chap.ParseMD5Response(info)
		if err != nil {
			return 0, "", cred, "", err
		}
		resp := r.CHAPMD5(bytes.Clone(s.chapVal[:]))
		return r.Identifier, r.Name, authpolicy.Credential{Kind: authpolicy.CHAPMD5, User: r.Name, CHAPMD5: &resp}, "", nil
	}
	r, err := chap.ParseResponse(info)
	if err != nil {
		return 0, "", cred, "", err
	}
	resp := r.MSCHAPv2(s.chapVal)
	return r.Identifier, r.Name, authpolicy.Credential{Kind: authpolicy.MSCHAPv2, User: r.Name, MSCHAPv2: &resp}, "", nil
}

// receivePAP is step 3 under PAP (pptp.auth.pap): the Authenticate-Request
// goes to the policy engine as a plaintext credential.
func (s *Session) receivePAP(ctx context.Context, info []byte) {
	r, err := pap.ParseRequest(info)
	if err != nil {
		s.stats.dropProtocol.Add(1)
		return
	}
	switch s.chapSt {
	case chapChallenged:
	case chapSucceeded:
		if r.Identifier == s.chapID {
			s.sendControl(ppp.ProtoPAP, s.success) // our Ack was lost
		}
		return
	default:
		return
	}
	s.chapSt = chapAuthenticating
	s.chapID = r.Identifier
	s.timers[chapTimer].Stop()
	cred := authpolicy.Credential{Kind: authpolicy.Plaintext, User: r.PeerID, Secret: authpolicy.NewSecret(r.Password)}
	s.info.Lock()
	s.info.user = r.PeerID
	s.info.Unlock()
	s.startAuth(ctx, r.Identifier, cred)
}

// startAuth asks the Authenticator, off the session goroutine; the answer
// comes back on authDone.
func (s *Session) startAuth(ctx context.Context, id uint8, cred authpolicy.Credential) {
	auth := s.cfg.Auth
	timeout := s.cfg.AuthTimeout
	go func() {
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res, err := auth.Authenticate(actx, cred)
		s.authDone <- authOutcome{id: id, user: cred.User, res: res, err: err}
	}()
}

// authenticated is step 4; it reports whether the login was accepted.
func (s *Session) authenticated(out authOutcome) bool {
	if s.chapSt != chapAuthenticating || out.id != s.chapID {
		return false
	}
	// PAP and CHAP-MD5 give no MPPE keys: such a session runs in the
	// clear, which the configuration allows only with MPPE not required.
	keyless := s.auth == lcp.PAP || s.auth == lcp.CHAPMD5
	if out.err != nil || out.res == nil || !out.res.Accepted || (out.res.Keys == nil && !keyless) || (keyless && s.cfg.CCP.Required) {
		var cause string
		code := chap.AuthenticationFailure
		var denied *Denied
		switch {
		case errors.As(out.err, &denied):
			cause = "access denied: " + denied.Reason
			code = denied.Code
		case out.err != nil:
			cause = "authentication error: " + out.err.Error()
		case out.res == nil:
			cause = "authentication error: no result"
		case !out.res.Accepted:
			cause = "authentication rejected: " + out.res.Reason()
			code = errorCode(out.res)
		case keyless:
			cause = fmt.Sprintf("%s gives no MPPE keys and MPPE is required", s.auth)
		default:
			cause = "authentication accepted without MPPE keys"
		}
		s.chapSt = chapFailed
		s.ending = cause
		user := out.user
		if out.res != nil && out.res.User != "" {
			user = out.res.User // as the service normalised it
		}
		s.log.Info("login refused", slog.String("user", user), slog.String("cause", cause), slog.String("auth", s.auth.String()), slog.Int("code", int(code)))
		switch s.auth {
		case lcp.PAP:
			s.sendControl(ppp.ProtoPAP, pap.AppendNak(s.ctrlPkt[:0], s.chapID, "Access denied"))
		case lcp.MSCHAPv1:
			s.sendControl(ppp.ProtoCHAP, chap.AppendV1Failure(s.ctrlPkt[:0], s.chapID, code))
		case lcp.CHAPMD5:
			s.sendControl(ppp.ProtoCHAP, chap.AppendMessage(s.ctrlPkt[:0], chap.CodeFailure, s.chapID, "Access denied"))
		default:
			f := chap.NewFailure(s.chapID, code, newChallenge(), "Access denied")
			s.sendControl(ppp.ProtoCHAP, f.Append(s.ctrlPkt[:0]))
		}
		return false
	}
	res := out.res
	s.chapSt = chapSucceeded
	s.keys = res.Keys
	s.info.Lock()
	s.info.branch = res.Branch
	s.info.Unlock()
	proto := ppp.ProtoCHAP
	switch s.auth {
	case lcp.PAP:
		proto = ppp.ProtoPAP
		s.success = pap.AppendAck(nil, s.chapID, "Welcome")
	case lcp.MSCHAPv1, lcp.CHAPMD5:
		s.success = chap.AppendMessage(nil, chap.CodeSuccess, s.chapID, "Welcome")
	default:
		s.success = chap.AppendSuccess(nil, s.chapID, res.AuthenticatorResponse, "Welcome")
	}
	s.log.Info("login accepted", slog.String("user", res.User), slog.String("branch", res.Branch), slog.String("auth", s.auth.String()))
	s.sendControl(proto, s.success)
	s.ipcpA.Up()
	s.ipcpA.Open()
	if !keyless {
		s.ccpA.Up()
		s.ccpA.Open()
	}
	return true
}

func (s *Session) ipcpEvent(ev ppp.LayerEvent) {
	switch ev {
	case ppp.ThisLayerUp:
		s.info.Lock()
		s.info.addr = s.ipcpNeg.Result().PeerAddress
		s.info.Unlock()
		s.openData()
	case ppp.ThisLayerDown:
		s.closeData()
	case ppp.ThisLayerFinished:
		if s.lcpA.State() == ppp.Opened {
			s.ending = "IPCP finished: " + errString(s.ipcpA.Err())
			s.lcpA.Close(errors.New(s.ending))
		}
	}
}

func (s *Session) ccpEvent(ev ppp.LayerEvent) {
	switch ev {
	case ppp.ThisLayerUp:
		if err := s.ccpNeg.Err(); err != nil {
			s.ending = err.Error()
			s.lcpA.Close(err)
			return
		}
		if err := s.startMPPE(); err != nil {
			s.ending = err.Error()
			s.lcpA.Close(err)
			return
		}
		s.openData()
	case ppp.ThisLayerDown:
		s.closeData()
	case ppp.ThisLayerFinished:
		if err := s.ccpNeg.Err(); err != nil && s.lcpA.State() == ppp.Opened {
			s.ending = err.Error()
			s.lcpA.Close(err)
		}
	}
}

// startMPPE is step 5: the server's Send key encrypts, its Recv key
// decrypts; bits and mode come from CCP.
func (s *Session) startMPPE() error {
	r := s.ccpNeg.Result()
	if !r.Encrypted() {
		return nil
	}
	enc, err := mppe.NewEncrypter(s.keys.Send, r.Send.KeyBits(), r.Send&ccp.Stateless != 0)
	if err != nil {
		return fmt.Errorf("mppe encrypter: %w", err)
	}
	dec, err := mppe.NewDecrypter(s.keys.Recv, r.Receive.KeyBits(), r.Receive&ccp.Stateless != 0)
	if err != nil {
		return fmt.Errorf("mppe decrypter: %w", err)
	}
	s.data.Lock()
	s.data.enc, s.data.dec = enc, dec
	s.data.stateless = r.Receive&ccp.Stateless != 0
	s.data.Unlock()
	s.info.Lock()
	s.info.bits = r.Send.KeyBits()
	s.info.stateless = r.Send&ccp.Stateless != 0
	s.info.Unlock()
	return nil
}

// openData opens the data path once IPCP is up and, when MPPE is
// required, CCP too.
func (s *Session) openData() {
	if s.ipcpA.State() != ppp.Opened {
		return
	}
	s.data.Lock()
	// MPPE up, or not required: in the clear while CCP negotiates or
	// when it came up without MPPE.
	ready := s.data.enc != nil || !s.data.required
	if s.data.required && s.ccpA.State() != ppp.Opened {
		ready = false
	}
	s.data.open = ready
	s.data.Unlock()
	if ready {
		s.info.Lock()
		first := !s.info.established
		s.info.established = true
		s.info.Unlock()
		if !first {
			return
		}
		s.log.Info("data phase", slog.Any("address", s.ipcpNeg.Result().PeerAddress))
		if s.cfg.Established != nil {
			s.cfg.Established()
		}
	}
}

func (s *Session) closeData() {
	s.data.Lock()
	s.data.open = false
	s.data.enc, s.data.dec = nil, nil
	s.data.Unlock()
}

func (s *Session) established() bool {
	s.info.Lock()
	defer s.info.Unlock()
	return s.info.established
}

// keepalive sends an LCP Echo-Request, or ends a session whose peer no
// longer answers.
func (s *Session) keepalive() {
	if s.lcpA.State() != ppp.Opened || s.lcpA.CodeRejected(ppp.EchoRequest) {
		return
	}
	if s.lcpNeg.LoopedBack() {
		s.ending = lcp.ErrLoopedBack.Error()
		s.lcpA.Close(lcp.ErrLoopedBack)
		return
	}
	if s.lcpNeg.EchoOutstanding() >= s.cfg.EchoFailures {
		s.ending = "peer does not answer LCP Echo-Requests"
		s.lcpA.Close(errors.New(s.ending))
		return
	}
	s.lcpA.SendPacket(s.lcpNeg.EchoRequest())
}

// finish is step 6.
func (s *Session) finish(cause string) {
	if s.finished {
		return
	}
	s.finished = true
	s.closeData()
	if s.cancel != nil {
		s.cancel()
	}
	for _, t := range s.timers {
		if t != nil {
			t.Stop()
		}
	}
	if s.ipcpNeg != nil && !s.cfg.IPCP.Address.IsValid() && s.cfg.IPCP.Release != nil {
		if a := s.ipcpNeg.Address(); a.IsValid() {
			s.cfg.IPCP.Release(a)
		}
	}
	if err := s.refusedByCCP(); err != nil && !s.established() && !strings.Contains(cause, err.Error()) {
		// The peer hung up before CCP's Max-Failure: say what it wanted.
		cause += ", while CCP refused what the client asked: " + err.Error()
	}
	s.info.Lock()
	s.info.cause = cause
	user := s.info.user
	s.info.Unlock()
	s.log.Info("session ended", slog.String("user", user), slog.String("cause", cause))
	close(s.done)
	if s.cfg.Ended != nil {
		s.cfg.Ended()
	}
}

func errString(err error) string {
	if err == nil {
		return "no reason"
	}
	return err.Error()
}

// refusedByCCP is what CCP last refused of the peer's requests, or nil.
func (s *Session) refusedByCCP() error {
	if s.ccpNeg == nil {
		return nil
	}
	return s.ccpNeg.Refused()
}
