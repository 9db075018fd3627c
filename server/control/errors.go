package control

import "errors"

// ErrServerClosed is what Serve returns after Close.
var ErrServerClosed = errors.New("control: server closed")

// Errors a CallHandler's NewCall may return, wrapped or not, to choose
// the Outgoing-Call-Reply the client gets (RFC 2637 section 2.8). Any
// other error refuses the call with General Error, PAC-Error.
var (
	// ErrNoResource refuses a call with General Error, No-Resource: the
	// gateway is full (address pool exhausted, licence count reached).
	ErrNoResource = errors.New("no resources for another call")

	// ErrDoNotAccept refuses a call with Do Not Accept: the call is
	// administratively prohibited (the client's address is blocked, the
	// gateway is draining).
	ErrDoNotAccept = errors.New("call administratively prohibited")
)
