package server

import "sync"

// feed tells subscribers the latest manifest revision. Only the latest
// revision matters to a subscriber, so each has a one-slot channel whose
// pending value is replaced rather than queued: a slow subscriber never
// blocks a writer and never grows a backlog.
//
// feed is safe for concurrent use.
type feed struct {
	// mu guards subs and closed.
	mu     sync.Mutex
	subs   map[chan int64]struct{}
	closed bool
}

func newFeed() *feed { return &feed{subs: map[chan int64]struct{}{}} }

// subscribe returns a channel of revisions and a function that ends the
// subscription. The channel is closed when the feed closes.
func (f *feed) subscribe() (<-chan int64, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan int64, 1)
	if f.closed {
		close(ch)
		return ch, func() {}
	}
	f.subs[ch] = struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// publish sends revision to every subscriber, replacing any revision still
// pending in its channel.
func (f *feed) publish(revision int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case <-ch: // drop the stale pending revision
		default:
		}
		ch <- revision // cannot block: the slot is free and only publish sends, under mu
	}
}

// close ends every subscription, so that open streams return.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}
