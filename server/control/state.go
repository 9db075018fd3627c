package control

import "strconv"

// connState is the state of a control connection as its receiver, the
// PAC, sees it (RFC 2637 section 3.1.2). Only RoutineControl reads or
// changes it.
//
//	                TCP accepted
//	                     │
//	                     ▼
//	                   Idle ───────────────────────────────────────────┐
//	                     │                                             │ SCCRQ version < 1.0 / SCCRP Version-Not-Supported
//	 SCCRQ version ≥ 1.0 │ /SCCRP Success                              │ other message / its reply, Not-Connected
//	                     ▼                                             │ setup timeout, malformed message, TCP closed
//	                Established ───────────────────────────────────────┤
//	                     │                                             │ StopCCRQ / StopCCRP, end calls
//	local terminate      │ /StopCCRQ, end calls                        │ second SCCRQ / SCCRP Channel-Exists, end calls
//	(Server.Close,       │                                             │ echo timeout, malformed message, TCP closed
//	no call for a while) ▼                                             │
//	               Wait-Stop-Reply ──StopCCRP, StopCCRQ/StopCCRP,──────┤
//	                                 stop timeout, TCP closed          ▼
//	                                                                 Closed
//
// Closed is final: RoutineControl closes the socket, ends the calls that
// are left (without Call-Disconnect-Notify: the control connection that
// would carry it is gone) and returns.
type connState uint8

const (
	stateIdle          connState = iota // waiting for Start-Control-Connection-Request
	stateEstablished                    // Start-Control-Connection-Reply sent; calls may come
	stateWaitStopReply                  // our Stop-Control-Connection-Request sent
	stateClosed                         // the connection is over
)

var connStateNames = [...]string{"Idle", "Established", "Wait-Stop-Reply", "Closed"}

func (s connState) String() string {
	if int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return "connState(" + strconv.Itoa(int(s)) + ")"
}

// callState is the state of one call as the PAC sees an outgoing call
// (RFC 2637 section 3.2.4.1). There is no telephone line to dial, so the
// RFC's wait_cs_ans state is the time the CallHandler takes to decide.
// Only the RoutineControl of the call's connection reads or changes it.
//
//	OCRQ within the limit
//	        │
//	        ▼
//	   Wait-Reply ──────────NewCall ok / OCRP Connected──────────► Established
//	        │                                                          │
//	        │ NewCall error / OCRP General Error                       │ CCRQ / CDN Request
//	        │                                                          │ Disconnect / CDN Admin-Shutdown
//	        ▼                                                          │ StopCCRQ either way, TCP closed,
//	     Cleared ◄─────────────────────────────────────────────────────┘ echo timeout (no CDN)
type callState uint8

const (
	callWaitReply   callState = iota // the CallHandler is deciding
	callEstablished                  // Outgoing-Call-Reply "Connected" sent
	callCleared                      // gone; its Call ID is in quarantine
)

var callStateNames = [...]string{"Wait-Reply", "Established", "Cleared"}

func (s callState) String() string {
	if int(s) < len(callStateNames) {
		return callStateNames[s]
	}
	return "callState(" + strconv.Itoa(int(s)) + ")"
}
