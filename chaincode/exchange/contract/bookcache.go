package contract

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"sync"
)

// A symbol's live orders (its lv~ keys) change only in Match, and every Match that changes
// them records their content hash in bk~ (bookState.Version). So the bk~ a Match reads
// names the exact book it would scan: a Match that finds that hash in the process's cache
// restores the book from memory instead of scanning and decoding every resting order. Reading
// bk~ still puts the book in the transaction's read set, so a Match endorsed on a book that
// another Match changed before it commits fails validation, as it did with the scan.
//
// The cache holds content by its hash, so it is right whatever produced an entry: a scan, a
// Match that never commits, or one endorsed by peers at different heights. It only saves
// work; an empty or evicted cache means a scan.

// liveOrder is one live order as stored: its lv~ key, the stored JSON and the decoded order.
type liveOrder struct {
	key   string
	raw   []byte
	order Order
}

// liveBook is the content of a symbol's lv~ range, in key order.
type liveBook []liveOrder

// hash returns the content hash recorded in bk~: SHA-256 over every key and value, each
// length-prefixed, in key order.
func (b liveBook) hash() string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for i := range b {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(b[i].key)))])
		h.Write([]byte(b[i].key))
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(b[i].raw)))])
		h.Write(b[i].raw)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (b liveBook) size() int {
	n := 0
	for i := range b {
		n += len(b[i].key) + len(b[i].raw) + 400 // the decoded order and slice slot, roughly
	}
	return n
}

func (b liveBook) sortByKey() {
	sort.Slice(b, func(i, j int) bool { return b[i].key < b[j].key })
}

// bookCache keeps recent books by (channel, symbol, content hash), least recently used first
// out beyond maxBytes. Safe for concurrent transactions.
type bookCache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	lru      *list.List // of *cachedBook, most recent at the front
	byKey    map[string]*list.Element
	hits     int // books served from memory (tests)
}

type cachedBook struct {
	key  string
	book liveBook
	size int
}

// defaultBookCacheBytes bounds the memory the cache may hold (about 100,000 resting orders).
const defaultBookCacheBytes = 64 << 20

func newBookCache(maxBytes int) *bookCache {
	return &bookCache{maxBytes: maxBytes, lru: list.New(), byKey: map[string]*list.Element{}}
}

func bookCacheKey(channel, symbol, hash string) string {
	return channel + "\x00" + symbol + "\x00" + hash
}

// get returns the book with that hash, or nil. The caller must not modify the entries'
// raw bytes; the orders are copies.
func (c *bookCache) get(channel, symbol, hash string) liveBook {
	if c == nil || hash == "" {
		return nil
	}
	c.mu.Lock()
	el, ok := c.byKey[bookCacheKey(channel, symbol, hash)]
	if ok {
		c.lru.MoveToFront(el)
		c.hits++
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	b := el.Value.(*cachedBook).book
	out := make(liveBook, len(b))
	copy(out, b) // Order is a value: the matcher changes its copies, never the cache's
	return out
}

// put stores b (which the caller no longer changes) under its hash.
func (c *bookCache) put(channel, symbol, hash string, b liveBook) {
	if c == nil || hash == "" {
		return
	}
	size := b.size()
	if size > c.maxBytes/4 {
		return // one huge book would flush everything else
	}
	k := bookCacheKey(channel, symbol, hash)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.byKey[k] = c.lru.PushFront(&cachedBook{key: k, book: b, size: size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		last := c.lru.Back()
		cb := last.Value.(*cachedBook)
		c.lru.Remove(last)
		delete(c.byKey, cb.key)
		c.bytes -= cb.size
	}
}
