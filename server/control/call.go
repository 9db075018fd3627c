package control

// Calls (RFC 2637 sections 2.7 to 2.15 and the PAC's outgoing-call state
// machine of section 3.2.4.1): the client, as PNS, asks for a call with
// an Outgoing-Call-Request and clears it with a Call-Clear-Request; the
// server, as PAC, answers with an Outgoing-Call-Reply, reports a call's
// end with a Call-Disconnect-Notify and its errors with a
// WAN-Error-Notify; the client passes PPP's ACCMs in Set-Link-Info.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// defaultConnectSpeed is the Connect Speed answered when the client
// names no Maximum BPS. A tunnel has no line speed; clients show the
// figure to users and use it for nothing else.
const defaultConnectSpeed = 100_000_000

// Call is one call: a PPP session the client tunnels in GRE. Its fields
// are set before CallHandler.NewCall and never change, so any goroutine
// may read them.
type Call struct {
	// ID is the server's Call ID, unique across the server, never 0.
	// The client puts it in the Key field of every GRE packet it sends.
	ID uint16
	// PeerID is the client's Call ID; the server puts it in the GRE
	// packets it sends.
	PeerID uint16

	// Peer is the client's public address (the source of its TCP
	// connection); GRE packets come from and go to it. Local is the
	// server address the client connected to; GRE packets go out
	// from it.
	Peer, Local netip.Addr

	// Serial is the Call Serial Number the client chose, for logs.
	Serial uint16
	// MinimumBPS and MaximumBPS are the speeds the client asked for.
	MinimumBPS, MaximumBPS uint32
	// ConnectSpeed is the Connect Speed answered, in bit/s.
	ConnectSpeed uint32
	// PeerRecvWindow is the client's Packet Recv. Window Size: how many
	// GRE data packets the server may have unacknowledged towards it.
	PeerRecvWindow uint16
	// RecvWindow is the server's Packet Recv. Window Size, as answered.
	RecvWindow uint16
	// PeerProcessingDelay is the client's Packet Processing Delay, in
	// 1/10 s.
	PeerProcessingDelay uint16

	conn    *conn
	state   callState // owned by conn's RoutineControl
	started time.Time
}

// Disconnect ends the call from the server's side: the client gets a
// Call-Disconnect-Notify (Admin Shutdown) and the CallHandler a
// CallEnded with cause. It returns at once, before either has happened,
// and may be called from any goroutine, CallHandler methods included;
// calling it for a call that has already ended does nothing.
func (c *Call) Disconnect(cause string) {
	c.conn.post(request{kind: requestDisconnect, call: c, cause: cause})
}

// Hangup is Disconnect for a call the gateway's operator ends: when it
// was the control connection's last call, a Stop-Control-Connection-
// Request (reason General) clears the connection too, so the client is
// not left holding an empty one until it times out.
func (c *Call) Hangup(cause string) {
	c.conn.post(request{kind: requestHangup, call: c, cause: cause})
}

// WANErrors are the cumulative error counters of a call (RFC 2637
// section 2.14). Over GRE there is no serial line; a session may report
// what it counts (packets that failed to decrypt as CRC errors, lost
// packets as time-out errors) or nothing.
type WANErrors struct {
	CRCErrors        uint32
	FramingErrors    uint32
	HardwareOverruns uint32
	BufferOverruns   uint32
	TimeoutErrors    uint32
	AlignmentErrors  uint32
}

// WANErrorNotify sends the client a WAN-Error-Notify with the call's
// cumulative counters. Like Disconnect, it only queues the message; it
// does nothing once the call has ended.
func (c *Call) WANErrorNotify(e WANErrors) {
	c.conn.post(request{kind: requestWANError, call: c, errors: e})
}

// logAttrs identify the call in log lines; the connection's logger adds
// the client's address.
func (c *Call) logAttrs() []slog.Attr {
	return []slog.Attr{
		slog.Int("call_id", int(c.ID)),
		slog.Int("peer_call_id", int(c.PeerID)),
	}
}

// outgoingCall answers an Outgoing-Call-Request: check the client's Call
// ID, take a Call ID and a place under MaxCalls, ask the CallHandler,
// reply.
func (c *conn) outgoingCall(m *pptp.OutgoingCallRequest, now time.Time) {
	reply := &pptp.OutgoingCallReply{
		PeerCallID:           m.CallID,
		ResultCode:           pptp.OutgoingGeneralError,
		PacketRecvWindowSize: c.s.cfg.RecvWindow,
	}
	if c.callByPeerID(m.CallID) != nil {
		// Section 3.2.2: a Call ID is unique on its connection, or a
		// Call-Clear-Request could not say which call it clears.
		reply.ErrorCode = pptp.GeneralErrorBadCallID
		c.refuse(reply, m, "the client's Call ID is already in use on this control connection")
		return
	}
	call := &Call{
		PeerID:              m.CallID,
		Peer:                c.remote.Addr(),
		Local:               c.local,
		Serial:              m.CallSerialNumber,
		MinimumBPS:          m.MinimumBPS,
		MaximumBPS:          m.MaximumBPS,
		ConnectSpeed:        m.MaximumBPS,
		PeerRecvWindow:      m.PacketRecvWindowSize,
		RecvWindow:          c.s.cfg.RecvWindow,
		PeerProcessingDelay: m.PacketProcessingDelay,
		conn:                c,
		started:             now,
	}
	if call.ConnectSpeed == 0 {
		call.ConnectSpeed = defaultConnectSpeed
	}
	if err := c.s.calls.add(call, now); err != nil {
		reply.ErrorCode = pptp.GeneralErrorNoResource
		c.refuse(reply, m, err.Error())
		return
	}
	if err := c.s.handler.NewCall(call); err != nil {
		c.s.calls.remove(call, now)
		call.state = callCleared
		switch {
		case errors.Is(err, ErrNoResource):
			reply.ErrorCode = pptp.GeneralErrorNoResource
		case errors.Is(err, ErrDoNotAccept):
			reply.ResultCode = pptp.OutgoingDoNotAccept
		default:
			reply.ErrorCode = pptp.GeneralErrorPACError
		}
		c.refuse(reply, m, err.Error())
		return
	}

	call.state = callEstablished
	c.calls[call.ID] = call
	c.callsEver++
	c.s.stats.calls.Add(1)
	reply.CallID = call.ID
	reply.ResultCode = pptp.OutgoingConnected
	reply.ConnectSpeed = call.ConnectSpeed
	c.send(reply)
	c.log.LogAttrs(context.Background(), slog.LevelInfo, "call set up", append(call.logAttrs(),
		slog.Int("serial", int(call.Serial)),
		slog.Int("peer_recv_window", int(call.PeerRecvWindow)))...)
}

// refuse sends a refusing Outgoing-Call-Reply and logs why.
func (c *conn) refuse(reply *pptp.OutgoingCallReply, m *pptp.OutgoingCallRequest, reason string) {
	c.s.stats.refused.Add(1)
	c.send(reply)
	if ok, suppressed := c.s.limiter.allow(time.Now()); ok {
		c.log.LogAttrs(context.Background(), slog.LevelWarn, "outgoing call refused", withSuppressed(suppressed,
			slog.Int("peer_call_id", int(m.CallID)),
			slog.String("reason", reason),
			slog.String("result", reply.ResultCode.String()),
			slog.String("error_code", reply.ErrorCode.String()))...)
	}
}

// callClear answers a Call-Clear-Request, which names the call by the
// client's Call ID (section 2.12), with a Call-Disconnect-Notify, which
// names it by ours (section 2.13).
func (c *conn) callClear(m *pptp.CallClearRequest, now time.Time) {
	call := c.callByPeerID(m.CallID)
	if call == nil {
		// Nothing to clear; a client that cleared a call twice, or one
		// that was refused, gets nothing to confuse it.
		c.log.Info("Call-Clear-Request for no call",
			slog.Int("peer_call_id", int(m.CallID)),
			slog.String("hint", "the call had already ended, or the client never had it"))
		return
	}
	c.send(&pptp.CallDisconnectNotify{CallID: call.ID, ResultCode: pptp.DisconnectRequest})
	c.endCall(call, "the client cleared the call (Call-Clear-Request)", now)
}

// setLinkInfo passes a Set-Link-Info to the CallHandler. Its Peer's Call
// ID is the receiver's Call ID, ours (section 2.15); some clients are
// said to send their own, so that is tried next.
func (c *conn) setLinkInfo(m *pptp.SetLinkInfo) {
	call := c.calls[m.PeerCallID]
	if call == nil {
		call = c.callByPeerID(m.PeerCallID)
	}
	if call == nil {
		c.log.Debug("Set-Link-Info for no call", slog.Int("call_id", int(m.PeerCallID)))
		return
	}
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.LogAttrs(context.Background(), slog.LevelDebug, "Set-Link-Info", append(call.logAttrs(),
			slog.String("send_accm", fmt.Sprintf("%#08x", m.SendACCM)),
			slog.String("receive_accm", fmt.Sprintf("%#08x", m.ReceiveACCM)))...)
	}
	c.s.handler.LinkInfo(call, m.SendACCM, m.ReceiveACCM)
}

// disconnect serves Call.Disconnect.
func (c *conn) disconnect(call *Call, cause string, now time.Time) {
	if c.state != stateEstablished || c.calls[call.ID] != call {
		return
	}
	c.send(&pptp.CallDisconnectNotify{CallID: call.ID, ResultCode: pptp.DisconnectAdminShutdown})
	c.endCall(call, cause, now)
}

// wanErrorNotify serves Call.WANErrorNotify. The message names the call
// by the client's Call ID (section 2.14).
func (c *conn) wanErrorNotify(call *Call, e WANErrors) {
	if c.state != stateEstablished || c.calls[call.ID] != call {
		return
	}
	c.send(&pptp.WANErrorNotify{
		PeerCallID:       call.PeerID,
		CRCErrors:        e.CRCErrors,
		FramingErrors:    e.FramingErrors,
		HardwareOverruns: e.HardwareOverruns,
		BufferOverruns:   e.BufferOverruns,
		TimeoutErrors:    e.TimeoutErrors,
		AlignmentErrors:  e.AlignmentErrors,
	})
}

// endCall forgets call, frees its Call ID and tells the CallHandler.
func (c *conn) endCall(call *Call, cause string, now time.Time) {
	delete(c.calls, call.ID)
	call.state = callCleared
	c.s.calls.remove(call, now)
	if len(c.calls) == 0 {
		c.noCallSince = now
	}
	c.s.handler.CallEnded(call, cause)
	c.log.LogAttrs(context.Background(), slog.LevelInfo, "call ended", append(call.logAttrs(),
		slog.String("cause", cause),
		slog.Duration("duration", now.Sub(call.started).Round(time.Millisecond)))...)
}

// endCalls ends every call of the connection, in Call ID order so logs
// and tests are stable.
func (c *conn) endCalls(cause string) {
	now := time.Now()
	for len(c.calls) > 0 {
		var first *Call
		for _, call := range c.calls {
			if first == nil || call.ID < first.ID {
				first = call
			}
		}
		c.endCall(first, cause, now)
	}
}

func (c *conn) callByPeerID(id uint16) *Call {
	for _, call := range c.calls {
		if call.PeerID == id {
			return call
		}
	}
	return nil
}
