package events

import (
	"context"
	"log/slog"
)

// follower is one Follow call: RoutineWrite sends it the committed events
// that match its filter, on live, without waiting.
type follower struct {
	filter Filter
	live   chan Event
}

// Follow streams the events that match f as they are committed, for
// "gatehouse logs --follow" and the streaming HTTP endpoint.
//
// When f.Since is set, the channel first carries the stored events that
// match f (the newest f.Limit of them, oldest first, as Query returns
// them), then the new ones, with no gap and no repeat between the two.
// Without Since it carries new events only. f.Limit does not bound the new
// events; f.Until does (a follower with an Until in the past receives no
// new events). The new events are those appended through this Index; in
// a PostgreSQL index that gateways share, the stored ones are every
// gateway's (see the package documentation).
//
// The channel closes when ctx ends, when the index closes, when the
// stored events cannot be read (the error is logged), or when the
// consumer falls more than a thousand events behind: the writer never
// waits for a follower. A consumer that wants to carry on after that
// follows again with Since set to the time of the last event it received,
// and skips the events it already has.
func (ix *Index) Follow(ctx context.Context, f Filter) <-chan Event {
	out := make(chan Event)
	if ix == nil {
		close(out)
		return out
	}
	fl := &follower{filter: f, live: make(chan Event, followBuffer)}
	ix.followers.Lock()
	if ix.followers.closed {
		ix.followers.Unlock()
		close(out)
		return out
	}
	ix.followers.m[fl] = struct{}{}
	start := ix.followers.lastID
	ix.followers.Unlock()

	ix.wg.Add(1)
	go ix.routineFollow(ctx, fl, start, out)
	return out
}

// routineFollow sends one follower's backlog, then its live events, to
// out.
func (ix *Index) routineFollow(ctx context.Context, fl *follower, start int64, out chan<- Event) {
	defer ix.wg.Done()
	defer close(out)
	defer ix.unfollow(fl)
	send := func(e Event) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
		case <-ix.exited:
		}
		return false
	}
	if !fl.filter.Since.IsZero() {
		qctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(ix.ctx, cancel)
		backlog, err := ix.query(qctx, fl.filter, start)
		stop()
		cancel()
		if err != nil {
			if ctx.Err() == nil && ix.ctx.Err() == nil {
				ix.log.Warn("event index: follow: cannot read stored events", slog.Any("error", err))
			}
			return
		}
		for _, e := range backlog {
			if !send(e) {
				return
			}
		}
	}
	for {
		select {
		case e, ok := <-fl.live:
			if !ok {
				return
			}
			if !send(e) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// unfollow removes fl, unless RoutineWrite has already cut it off or
// closed it.
func (ix *Index) unfollow(fl *follower) {
	ix.followers.Lock()
	defer ix.followers.Unlock()
	delete(ix.followers.m, fl)
}

// publish hands committed events to the followers whose filter matches;
// a follower that cannot take one is cut off.
func (ix *Index) publish(batch []Event, ids []int64) {
	ix.followers.Lock()
	defer ix.followers.Unlock()
	ix.followers.lastID = ids[len(ids)-1]
	for fl := range ix.followers.m {
		for i := range batch {
			if !fl.filter.Match(&batch[i]) {
				continue
			}
			select {
			case fl.live <- batch[i]:
				continue
			default:
			}
			delete(ix.followers.m, fl)
			close(fl.live)
			ix.stats.cut.Add(1)
			ix.log.Warn("event index: a follower fell behind and was cut off; it may follow again from the last event it received")
			break
		}
	}
}

// closeFollowers closes every follower's live channel; Follow returns
// closed channels from now on.
func (ix *Index) closeFollowers() {
	ix.followers.Lock()
	defer ix.followers.Unlock()
	ix.followers.closed = true
	for fl := range ix.followers.m {
		delete(ix.followers.m, fl)
		close(fl.live)
	}
}
