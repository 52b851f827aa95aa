package fabric

import (
	"sync"
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
