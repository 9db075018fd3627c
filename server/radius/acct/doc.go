// Package acct accounts sessions to RADIUS accounting servers (RFC 2866,
// with the Gigawords and Event-Timestamp of RFC 2869):
//
//	a := acct.New(acct.Config{Servers: ..., InterimInterval: 5 * time.Minute}, log)
//	s := a.Start(acct.Record{SessionID: "...", User: "bob", FramedIP: ip}, counters)
//	...
//	s.Stop(acct.CauseUserRequest) // or CauseLostCarrier, CauseIdleTimeout, ...
//	a.Close(ctx)                  // at shutdown: waits for every Stop
//
// Each session has one goroutine (RoutineSession) that sends, in order,
// Accounting-Request Start, an Interim-Update every InterimInterval (when
// set; the counters func is read for each), and Stop with
// Acct-Terminate-Cause and the final counters. Sends never block the
// caller: Start and Stop return at once. A packet goes to the servers in
// order with internal/radius/radclient's failover; retransmissions to one
// server repeat the same Identifier and Authenticator, which is why
// Acct-Delay-Time is not sent (changing it would need a new Identifier,
// RFC 2866 section 5.2). Each result is logged: a Stop that no server
// acknowledged is logged at error level with the session's counters, so
// that no session ends without its Stop at least attempted and on record.
//
// Counters wider than 32 bits are split into Acct-{Input,Output}-Octets
// and -Gigawords (RFC 2869 section 5.1 and 5.2). Class attributes from the
// Access-Accept are echoed in every request (RFC 2865 section 5.25).
package acct
