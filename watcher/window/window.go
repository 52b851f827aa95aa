// Package window keeps, per symbol, one week of prices in fixed-size time buckets and answers
// "what was the price one day (one week) before t", with a filter that holds back a single
// tick far off its neighbours until the next tick confirms or refutes it.
//
// # Buckets
//
// Time is cut into buckets of Config.BucketWidth (default 5 minutes, the seed's tick period)
// aligned on the Unix epoch. A Series keeps a ring of Retention/BucketWidth + 1 buckets (2,017
// for one week of 5-minute buckets, 16 KiB per symbol, about 85 MB for 5,250 symbols; one-minute
// buckets would cost five times that for a reference that is at most five minutes sharper).
// Each bucket holds the close: the last accepted price whose time falls in it, or 0 when none
// did. One extra value, the carry, keeps the close of the newest bucket that fell out of the
// ring, so a symbol that stopped trading still has a last known price.
//
// # Reference price
//
// Reference(t, d) is the last accepted price at or before the end of the bucket that contains
// t - d: the close of that bucket, or, when it is empty, the close of the newest earlier
// non-empty bucket (gaps carry the last known price forward, so on Monday morning the price
// "one day ago" is Friday's close). When no accepted tick is that old — the series is younger
// than d — there is no reference and the rules fire nothing. The reference is therefore at most
// one bucket width later than exactly t - d.
//
// # Outliers
//
// With the filter on (the default), a tick whose price deviates by more than Config.OutlierBp
// (default 2000 bp = 20%) from the last accepted price is held, not accepted. The next tick
// decides: if it lies within OutlierBp of the held price, the move is real and both ticks are
// accepted in order (a sustained move costs one tick of latency, never an alert); otherwise the
// held tick deviated from both neighbours and is dropped, reported in Result.Dropped for the
// caller to log, and the new tick is judged against the last accepted price as usual. A held
// tick is never seen by Reference or by the rules.
//
// # Order
//
// Ticks must come in non-decreasing time order per symbol (the ledger feed is ordered; batch
// feeds sort first). A tick older than the newest accepted or held tick is rejected with
// ErrOutOfOrder and changes nothing. Two ticks with the same time are both taken, the later one
// being the newer close.
//
// A Series is not safe for concurrent use; the service owns one per symbol behind its lock.
package window

import (
	"errors"
	"fmt"
	"time"

	"github.com/fabmarket/fabmarket/watcher/price"
)

// Defaults for Config fields left at their zero value.
const (
	DefaultBucketWidth = 5 * time.Minute
	DefaultRetention   = 7 * 24 * time.Hour
	DefaultOutlierBp   = 2000
)

// maxBuckets bounds the ring so that a misconfiguration cannot allocate without limit.
const maxBuckets = 1 << 20

// ErrOutOfOrder is returned by Add for a tick older than the newest tick already taken.
var ErrOutOfOrder = errors.New("tick older than the newest tick of the series")

// Config sets up a Series. The zero value is the default configuration.
type Config struct {
	// BucketWidth is the width of one bucket; default 5 minutes. It must be at least one
	// second and divide Retention.
	BucketWidth time.Duration
	// Retention is how far back the ring reaches; default one week. A reference further back
	// than Retention is answered only from the carry.
	Retention time.Duration
	// OutlierBp is the largest deviation from a neighbour, in basis points, that a tick may
	// have without being held as a suspected outlier; default 2000 (20%).
	OutlierBp uint32
	// DisableOutlierFilter accepts every tick as it comes.
	DisableOutlierFilter bool
}

// WithDefaults returns c with zero fields replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.BucketWidth == 0 {
		c.BucketWidth = DefaultBucketWidth
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.OutlierBp == 0 {
		c.OutlierBp = DefaultOutlierBp
	}
	return c
}

// Validate checks a configuration after defaults are applied; the error names the field.
func (c Config) Validate() error {
	switch {
	case c.BucketWidth < time.Second:
		return fmt.Errorf("window: config BucketWidth %v: must be at least 1s", c.BucketWidth)
	case c.Retention < c.BucketWidth:
		return fmt.Errorf("window: config Retention %v: must be at least BucketWidth %v", c.Retention, c.BucketWidth)
	case c.Retention%c.BucketWidth != 0:
		return fmt.Errorf("window: config Retention %v: must be a multiple of BucketWidth %v", c.Retention, c.BucketWidth)
	case c.Retention/c.BucketWidth >= maxBuckets:
		return fmt.Errorf("window: config Retention %v: more than %d buckets of %v", c.Retention, maxBuckets-1, c.BucketWidth)
	}
	return nil
}

// Tick is one observed price of a symbol at a time.
type Tick struct {
	Price int64
	Time  time.Time
}

// Result tells what Add did with a tick.
type Result struct {
	accepted [2]Tick
	n        uint8
	// Held is true when the tick was held as a suspected outlier; the next tick decides.
	Held bool
	// Dropped is the previously held tick, dropped as an outlier, when DroppedOK is true.
	Dropped   Tick
	DroppedOK bool
}

// Accepted returns the ticks accepted by this Add, oldest first: none (the tick was held),
// the tick itself, or a held tick confirmed by this one followed by this one. The rules must
// be evaluated for each, in order.
func (r *Result) Accepted() []Tick { return r.accepted[:r.n] }

func (r *Result) accept(t Tick) {
	r.accepted[r.n] = t
	r.n++
}

// Series is the price history of one symbol.
type Series struct {
	width     int64 // bucket width in nanoseconds
	n         int64 // ring length
	outlierBp uint64
	filter    bool

	buckets []int64 // closes by bucket number mod n; 0 = empty
	has     bool    // at least one accepted tick
	head    int64   // bucket number of the newest accepted tick
	last    int64   // newest accepted price
	lastAt  int64   // time of the newest accepted tick, Unix nanoseconds

	carry       int64 // close of the newest bucket evicted from the ring; 0 = none
	carryBucket int64

	held   Tick // suspected outlier; held.Price == 0 when none
	heldAt int64

	// cache remembers the last answers of Reference, one per lookback, so the ticks of one
	// bucket read no ring memory; an entry is dropped when a tick lands at or before its target.
	cache [2]refCache
}

type refCache struct {
	valid    bool
	ok       bool
	lookback int64
	target   int64
	price    int64
}

// New returns an empty Series for the configuration (zero fields take the defaults).
func New(cfg Config) (*Series, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := int64(cfg.Retention/cfg.BucketWidth) + 1
	return &Series{
		width:     int64(cfg.BucketWidth),
		n:         n,
		outlierBp: uint64(cfg.OutlierBp),
		filter:    !cfg.DisableOutlierFilter,
		buckets:   make([]int64, n),
	}, nil
}

// Add takes one tick. It returns an error naming the field for a non-positive price or an
// out-of-order time (wrapping ErrOutOfOrder); the series is then unchanged.
func (s *Series) Add(t Tick) (Result, error) {
	var r Result
	if t.Price <= 0 {
		return r, fmt.Errorf("window: tick price %d: must be positive", t.Price)
	}
	at := t.Time.UnixNano()
	if (s.has && at < s.lastAt) || (s.held.Price != 0 && at < s.heldAt) {
		return r, fmt.Errorf("window: tick time %s: %w", t.Time.UTC().Format(time.RFC3339Nano), ErrOutOfOrder)
	}
	if s.held.Price != 0 {
		h, hAt := s.held, s.heldAt
		s.held = Tick{}
		if !s.filter || !price.Deviates(h.Price, t.Price, s.outlierBp) {
			// The next tick confirms the held level: a real move.
			s.accept(h.Price, hAt)
			r.accept(h)
			s.accept(t.Price, at)
			r.accept(t)
			return r, nil
		}
		r.Dropped, r.DroppedOK = h, true
	}
	if s.filter && s.has && price.Deviates(t.Price, s.last, s.outlierBp) {
		s.held, s.heldAt = t, at
		r.Held = true
		return r, nil
	}
	s.accept(t.Price, at)
	r.accept(t)
	return r, nil
}

// floorDiv divides rounding toward negative infinity, so times before 1970 bucket correctly.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (s *Series) slot(bucket int64) int64 {
	m := bucket % s.n
	if m < 0 {
		m += s.n
	}
	return m
}

// accept records an accepted tick. The close of the head bucket lives in s.last and is written
// to the ring only when the head moves on, so most ticks touch no ring memory.
func (s *Series) accept(p, at int64) {
	b := floorDiv(at, s.width)
	if !s.has {
		s.has = true
		s.head = b
	} else if b > s.head {
		s.advance(b)
	}
	s.last, s.lastAt = p, at
	for i := range s.cache {
		if s.cache[i].valid && s.cache[i].target >= b {
			s.cache[i].valid = false
		}
	}
}

// advance moves the head to bucket b, evicting the buckets that leave the ring.
func (s *Series) advance(b int64) {
	s.buckets[s.slot(s.head)] = s.last
	if b-s.head >= s.n {
		// The whole ring leaves; its newest non-empty bucket is the head bucket.
		s.carry, s.carryBucket = s.last, s.head
		clear(s.buckets)
	} else {
		for k := s.head + 1; k <= b; k++ {
			i := s.slot(k)
			if v := s.buckets[i]; v != 0 {
				s.carry, s.carryBucket = v, k-s.n
				s.buckets[i] = 0
			}
		}
	}
	s.head = b
}

// priceAt returns the last accepted price in buckets up to and including target.
func (s *Series) priceAt(target int64) (int64, bool) {
	if !s.has {
		return 0, false
	}
	if target >= s.head {
		return s.last, true
	}
	start := s.head - s.n + 1
	if target >= start {
		for k := target; k >= start; k-- {
			if v := s.buckets[s.slot(k)]; v != 0 {
				return v, true
			}
		}
		if s.carry != 0 {
			return s.carry, true
		}
		return 0, false
	}
	if s.carry != 0 && s.carryBucket <= target {
		return s.carry, true
	}
	return 0, false
}

// Reference returns the reference price for a move over lookback ending at t: the last
// accepted price at or before the end of the bucket containing t - lookback (see the package
// documentation). ok is false when no accepted tick is that old.
func (s *Series) Reference(t time.Time, lookback time.Duration) (p int64, ok bool) {
	target := floorDiv(t.UnixNano()-int64(lookback), s.width)
	lb := int64(lookback)
	slot := 0
	for i := range s.cache {
		c := &s.cache[i]
		if c.valid && c.lookback == lb {
			if c.target == target {
				return c.price, c.ok
			}
			slot = i
			break
		}
		if !c.valid {
			slot = i
		}
	}
	p, ok = s.priceAt(target)
	s.cache[slot] = refCache{valid: true, ok: ok, lookback: lb, target: target, price: p}
	return p, ok
}

// Last returns the newest accepted tick; ok is false for an empty series.
func (s *Series) Last() (t Tick, ok bool) {
	if !s.has {
		return Tick{}, false
	}
	return Tick{Price: s.last, Time: time.Unix(0, s.lastAt).UTC()}, true
}

// Held returns the tick held as a suspected outlier, if any.
func (s *Series) Held() (t Tick, ok bool) {
	return s.held, s.held.Price != 0
}

// BucketWidth returns the bucket width of the series.
func (s *Series) BucketWidth() time.Duration { return time.Duration(s.width) }

// Buckets returns the number of buckets in the ring.
func (s *Series) Buckets() int { return int(s.n) }
