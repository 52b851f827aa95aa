package rules

import (
	"slices"
	"time"
)

// UserLimiter caps the notifications each user receives in any rolling hour. It keeps, per
// user who was notified in the last hour, the times of those notifications (at most the
// user's limit), so memory follows the active users, not all users. It is not safe for
// concurrent use.
type UserLimiter struct {
	logs map[uint32][]int64 // ascending Unix nanoseconds of allowed notifications
}

// NewUserLimiter returns an empty limiter.
func NewUserLimiter() *UserLimiter {
	return &UserLimiter{logs: make(map[uint32][]int64)}
}

// Allow reports whether user may receive one more notification at time at, given at most
// maxPerHour in any hour, and records it when allowed. The hour is the half-open interval
// (at-1h, at]: a notification exactly one hour old no longer counts. maxPerHour <= 0 allows
// nothing. Times should not go backwards per user; if they do, the later entries still count.
func (l *UserLimiter) Allow(user uint32, maxPerHour int, at time.Time) bool {
	if maxPerHour <= 0 {
		return false
	}
	now := at.UnixNano()
	log := l.logs[user]
	cut := now - int64(time.Hour)
	i := 0
	for i < len(log) && log[i] <= cut {
		i++
	}
	if i > 0 {
		log = append(log[:0], log[i:]...)
	}
	if len(log) >= maxPerHour {
		l.logs[user] = log
		return false
	}
	if n := len(log); n > 0 && log[n-1] > now {
		// Out of order: keep the log sorted.
		j, _ := slices.BinarySearch(log, now)
		log = slices.Insert(log, j, now)
	} else {
		log = append(log, now)
	}
	l.logs[user] = log
	return true
}

// Count returns how many notifications of user count against the hour ending at at.
func (l *UserLimiter) Count(user uint32, at time.Time) int {
	cut := at.UnixNano() - int64(time.Hour)
	n := 0
	for _, t := range l.logs[user] {
		if t > cut && t <= at.UnixNano() {
			n++
		}
	}
	return n
}

// Prune forgets users with nothing left in the hour ending at at and returns how many it
// forgot; call it now and then to bound memory.
func (l *UserLimiter) Prune(at time.Time) int {
	cut := at.UnixNano() - int64(time.Hour)
	n := 0
	for u, log := range l.logs {
		if len(log) == 0 || log[len(log)-1] <= cut {
			delete(l.logs, u)
			n++
		}
	}
	return n
}

// Users returns how many users the limiter currently tracks.
func (l *UserLimiter) Users() int { return len(l.logs) }
