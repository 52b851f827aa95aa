package fabric

import (
	"sync"
	"sync/atomic"
	"time"
)

// recentWindow is how long after a commit a NOT_FOUND from an endorsement of the same key is
// taken for peer lag rather than a real absence.
const recentWindow = 3 * time.Second

// recentCommits remembers when this gateway last saw a write of each serialization key commit
// (an account opened, a number allocated). A write that follows at once is endorsed by peers
// of other orgs too, and such a peer may not have committed that block yet: it answers
// NOT_FOUND for what this gateway's own peer already has. Knowing the key was just written
// lets the gateway wait for the other peer instead of answering 404.
type recentCommits struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newRecentCommits() *recentCommits { return &recentCommits{m: map[string]time.Time{}} }

// committed records that a write of key committed at now; entries older than recentWindow
// are forgotten on the way.
func (r *recentCommits) committed(key string, now time.Time) {
	if key == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= 1024 {
		for k, t := range r.m {
			if now.Sub(t) > recentWindow {
				delete(r.m, k)
			}
		}
	}
	r.m[key] = now
}

// lagging says whether a NOT_FOUND for a write of key at now may be peer lag.
func (r *recentCommits) lagging(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.m[key]
	return ok && now.Sub(t) <= recentWindow
}

// latencyEWMA is a moving average of commit latencies (submit to commit status), updated by
// every commit this gateway sees; the match scheduler scales its patience with it.
type latencyEWMA struct{ ns atomic.Int64 }

// observe folds d into the average (weight 1/5).
func (l *latencyEWMA) observe(d time.Duration) {
	for {
		old := l.ns.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/5
		}
		if l.ns.CompareAndSwap(old, next) {
			return
		}
	}
}

// value returns the average (0 before the first commit).
func (l *latencyEWMA) value() time.Duration { return time.Duration(l.ns.Load()) }
