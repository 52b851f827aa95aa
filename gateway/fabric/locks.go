package fabric

import (
	"context"
	"sync"
)

// keyedLocks serializes work per key (an account, a symbol): one holder at a time, waiters
// give up when their context ends. Idle keys are forgotten.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

func newKeyedLocks() *keyedLocks { return &keyedLocks{m: map[string]*keyLock{}} }

// lock acquires key; the returned function releases it (exactly once).
func (l *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	k := l.m[key]
	if k == nil {
		k = &keyLock{ch: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	select {
	case k.ch <- struct{}{}:
		var once sync.Once
		return func() {
			once.Do(func() {
				<-k.ch
				l.drop(key, k)
			})
		}, nil
	case <-ctx.Done():
		l.drop(key, k)
		return nil, ctx.Err()
	}
}

func (l *keyedLocks) drop(key string, k *keyLock) {
	l.mu.Lock()
	k.refs--
	if k.refs == 0 {
		delete(l.m, key)
	}
	l.mu.Unlock()
}

// size reports the keys in use (for tests).
func (l *keyedLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
