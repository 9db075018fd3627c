// Package channel carries Gatehouse plugin calls, protocol version 2, on
// one stream connection between the gateway (the host) and a plugin
// process: a [Client] on the host's end multiplexes the calls of many
// goroutines, and [Serve] on the plugin's end runs each call in its own
// goroutine. The frames are those of package frame; plugin.proto in
// proto/gatehouse/plugin/v2 is the specification.
//
// # The path of one call
//
//  1. Client.Call registers the call under a fresh id, with its response
//     message, its deadline and a reply slot, and queues its frame (id,
//     method, the milliseconds left until the deadline, the request).
//  2. The writer writes the queue unless a write is already in progress;
//     then the goroutine doing that write takes this frame too, in its
//     next write. With other calls in flight, the caller first lets the
//     goroutines ready to run queue theirs (runtime.Gosched): one write per
//     call when idle, batches under load, and no writer goroutine to wake.
//  3. Serve's loop (the plugin's RoutineReceive) reads everything the
//     socket holds, cuts it into frames and unmarshals each request. A
//     ping it answers itself. A lone call it serves itself, handing
//     reading to a new goroutine should the call take longer than
//     inlineBudget; calls that came together go to worker goroutines. Each
//     call's context ends at the caller's deadline or when a cancel frame
//     for its id arrives.
//  4. The handler's answer, a reply or an error frame, is queued on the
//     plugin's writer (step 2 again; the plugin always yields first, so
//     the answers of calls served together leave together).
//  5. On the host, a caller waiting for its answer takes the reader's role
//     if no other caller holds it: it reads the answers, takes each call
//     out of the table, unmarshals the reply into its response message
//     and wakes its caller, until its own answer comes; then another
//     waiting caller reads. A lone call reads its own answer; nothing is
//     woken in between.
//
// Messages with generated code (protoc-gen-go-vtproto, next to the
// protocol's Go package) are marshalled and unmarshalled by it rather than
// by protobuf's reflection: less CPU, fewer allocations, and a shallow
// stack, which matters because the goroutines that unmarshal are
// short-lived callers whose stacks would otherwise grow on every call.
//
// # Failure
//
// Deadlines cost no timer per call: the reading caller keeps the socket's
// read deadline at the earliest deadline in flight and answers every call
// whose deadline has passed with context.DeadlineExceeded. A caller whose
// context is cancelled leaves at once (the reading caller at its deadline
// or with its answer, unless it has no deadline). Either way its call
// leaves the table, a cancel frame follows, and a late answer is dropped
// and counted. A channel that breaks — end of stream,
// a read or write error, a frame that breaks the protocol (a length over
// the limit, a frame type the host never receives, an answer whose method
// is not the call's, a reply that does not unmarshal) — fails every call
// in flight with an error wrapping [ErrBroken], and every later call at
// once: none of them can be mistaken for an answer. A write that cannot
// finish before the writing caller's deadline breaks the channel too: the
// socket's buffer, far larger than the requests a host may have in
// flight, is full only when the plugin has stopped reading.
package channel
