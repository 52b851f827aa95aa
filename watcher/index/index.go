// Package index maps symbols to the users who subscribed to their alerts, compactly enough for
// 3 million users with about 10 subscriptions each: user ids are uint32 (see UserTable) and
// each set of users is a roaring bitmap.
//
// A user's subscription to a symbol is a set of triggers, each a (window, threshold,
// direction). Most users take the defaults (1d and 1w, 5% and 10%, up and down); they are one
// bit in the symbol's default bitmap. Triggers outside the defaults live in a small side table
// per symbol, one bitmap per custom trigger, so a custom threshold costs a bitmap entry for the
// users who chose it and nothing for the others. A user whose triggers do not include all the
// defaults (for example only "1d") is kept wholly in the side table.
//
// The index stores, per (user, symbol), the union of that user's subscriptions on the symbol:
// the service, which keeps each subscription in its store, calls Set with the union after every
// change (or Delete when none is left). Spec answers a user's triggers on a symbol; Users and
// FanOut answer who gets an alert.
//
// An Index is not safe for concurrent mutation; readers may run concurrently with each other
// when no writer runs (guard it with a sync.RWMutex). Results are deterministic: bitmaps
// iterate in ascending user id, and lists come out sorted.
package index

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/fabmarket/fabmarket/watcher/rules"
)

// Trigger is one alert condition a user subscribes to on a symbol.
type Trigger struct {
	Window      rules.Window
	ThresholdBp uint32
	Direction   rules.Direction
}

// Validate checks the trigger; the error names the field.
func (t Trigger) Validate() error {
	if !t.Window.Valid() {
		return fmt.Errorf("index: trigger window %d: invalid", t.Window)
	}
	if !t.Direction.Valid() {
		return fmt.Errorf("index: trigger direction %d: invalid", t.Direction)
	}
	if err := rules.ValidateThreshold(t.ThresholdBp); err != nil {
		return fmt.Errorf("index: trigger: %w", err)
	}
	return nil
}

// String returns "1d/500/up".
func (t Trigger) String() string {
	return fmt.Sprintf("%s/%d/%s", t.Window, t.ThresholdBp, t.Direction)
}

func compareTrigger(a, b Trigger) int {
	if c := cmp.Compare(a.Window, b.Window); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ThresholdBp, b.ThresholdBp); c != 0 {
		return c
	}
	return cmp.Compare(a.Direction, b.Direction)
}

// Expand returns the triggers of a subscription as the REST API states it: every combination
// of windows, thresholds and directions, sorted and without duplicates. A nil or empty list
// takes the defaults: both windows, rules.DefaultThresholds(), both directions.
func Expand(windows []rules.Window, thresholdsBp []uint32, dirs []rules.Direction) ([]Trigger, error) {
	if len(windows) == 0 {
		windows = []rules.Window{rules.Day, rules.Week}
	}
	if len(thresholdsBp) == 0 {
		thresholdsBp = rules.DefaultThresholds()
	}
	if len(dirs) == 0 {
		dirs = []rules.Direction{rules.Up, rules.Down}
	}
	out := make([]Trigger, 0, len(windows)*len(thresholdsBp)*len(dirs))
	for _, w := range windows {
		for _, bp := range thresholdsBp {
			for _, d := range dirs {
				t := Trigger{Window: w, ThresholdBp: bp, Direction: d}
				if err := t.Validate(); err != nil {
					return nil, err
				}
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, compareTrigger)
	return slices.Compact(out), nil
}

// DefaultTriggers returns the default subscription: 1d and 1w, 5% and 10%, up and down.
func DefaultTriggers() []Trigger {
	t, _ := Expand(nil, nil, nil)
	return t
}

type custom struct {
	t     Trigger
	users *roaring.Bitmap
}

type entry struct {
	def    *roaring.Bitmap // users with all default triggers
	custom []custom        // sorted by trigger; no empty bitmaps
	// maxUser is above every id ever added to the entry's bitmaps (0: none), so a load in
	// ascending user order skips the removal of a user who cannot be there yet.
	maxUser uint64
}

// Index is the subscription index.
type Index struct {
	defaults []Trigger // sorted
	symbols  map[string]*entry
}

// New returns an empty index whose default subscription is DefaultTriggers().
func New() *Index {
	ix, _ := NewWithDefaults(DefaultTriggers())
	return ix
}

// NewWithDefaults returns an empty index with another default subscription, which must match
// the rule engine's default thresholds.
func NewWithDefaults(defaults []Trigger) (*Index, error) {
	if len(defaults) == 0 {
		return nil, fmt.Errorf("index: defaults: must not be empty")
	}
	d, err := normalize(defaults)
	if err != nil {
		return nil, fmt.Errorf("index: defaults: %w", err)
	}
	return &Index{defaults: slices.Clone(d), symbols: make(map[string]*entry)}, nil
}

// normalize validates a spec and returns it sorted without duplicates; it returns spec itself
// when it already is, so the common case does not allocate.
func normalize(spec []Trigger) ([]Trigger, error) {
	sorted := true
	for i, t := range spec {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		if i > 0 && compareTrigger(spec[i-1], t) >= 0 {
			sorted = false
		}
	}
	if sorted {
		return spec, nil
	}
	s := slices.Clone(spec)
	slices.SortFunc(s, compareTrigger)
	return slices.Compact(s), nil
}

// isDefault reports whether t is one of the default triggers.
func (ix *Index) isDefault(t Trigger) bool {
	_, ok := slices.BinarySearchFunc(ix.defaults, t, compareTrigger)
	return ok
}

// Set makes spec the triggers of user on symbol, replacing what the user had there; an empty
// spec deletes. Errors name the field; on error nothing changes.
func (ix *Index) Set(user uint32, symbol string, spec []Trigger) error {
	if symbol == "" {
		return fmt.Errorf("index: symbol: must not be empty")
	}
	spec, err := normalize(spec)
	if err != nil {
		return err
	}
	if len(spec) == 0 {
		ix.Delete(user, symbol)
		return nil
	}
	e := ix.symbols[symbol]
	if e == nil {
		e = &entry{def: roaring.New()}
		ix.symbols[symbol] = e
	}
	// All defaults present? Both lists are sorted.
	hasAll := len(spec) >= len(ix.defaults)
	if hasAll {
		j := 0
		for _, t := range spec {
			if j < len(ix.defaults) && t == ix.defaults[j] {
				j++
			}
		}
		hasAll = j == len(ix.defaults)
	}
	fresh := uint64(user) >= e.maxUser // in none of the entry's bitmaps
	e.maxUser = max(e.maxUser, uint64(user)+1)
	if hasAll {
		e.def.Add(user)
	} else if !fresh {
		e.def.Remove(user)
	}
	// The custom part: spec minus the defaults when the user is in the default bitmap. Both
	// lists are sorted, so one merge walk updates the side table.
	var restBuf, missingBuf [16]Trigger
	rest := spec
	if hasAll {
		rest = restBuf[:0]
		j := 0
		for _, t := range spec {
			for j < len(ix.defaults) && compareTrigger(ix.defaults[j], t) < 0 {
				j++
			}
			if j < len(ix.defaults) && ix.defaults[j] == t {
				continue
			}
			rest = append(rest, t)
		}
	}
	if fresh && len(rest) == 0 {
		return nil
	}
	missing := missingBuf[:0]
	empty := false
	for i, j := 0, 0; i < len(e.custom) || j < len(rest); {
		switch {
		case j == len(rest) || (i < len(e.custom) && compareTrigger(e.custom[i].t, rest[j]) < 0):
			if !fresh && e.custom[i].users.CheckedRemove(user) && e.custom[i].users.IsEmpty() {
				empty = true
			}
			i++
		case i == len(e.custom) || compareTrigger(rest[j], e.custom[i].t) < 0:
			missing = append(missing, rest[j])
			j++
		default:
			e.custom[i].users.Add(user)
			i++
			j++
		}
	}
	if empty {
		e.custom = slices.DeleteFunc(e.custom, func(c custom) bool { return c.users.IsEmpty() })
	}
	for _, t := range missing {
		i, _ := slices.BinarySearchFunc(e.custom, t, func(c custom, t Trigger) int { return compareTrigger(c.t, t) })
		e.custom = slices.Insert(e.custom, i, custom{t: t, users: roaring.BitmapOf(user)})
	}
	return nil
}

// Delete removes every trigger of user on symbol.
func (ix *Index) Delete(user uint32, symbol string) {
	e := ix.symbols[symbol]
	if e == nil {
		return
	}
	e.def.Remove(user)
	e.custom = slices.DeleteFunc(e.custom, func(c custom) bool {
		c.users.Remove(user)
		return c.users.IsEmpty()
	})
	if e.def.IsEmpty() && len(e.custom) == 0 {
		delete(ix.symbols, symbol)
	}
}

// Spec returns the triggers of user on symbol, sorted; nil when the user has none.
func (ix *Index) Spec(user uint32, symbol string) []Trigger {
	e := ix.symbols[symbol]
	if e == nil {
		return nil
	}
	var out []Trigger
	if e.def.Contains(user) {
		out = append(out, ix.defaults...)
	}
	for _, c := range e.custom {
		if c.users.Contains(user) {
			out = append(out, c.t)
		}
	}
	slices.SortFunc(out, compareTrigger)
	return out
}

// sources returns the bitmaps whose union is the audience of t on symbol.
func (ix *Index) sources(symbol string, t Trigger) (a, b *roaring.Bitmap) {
	e := ix.symbols[symbol]
	if e == nil {
		return nil, nil
	}
	if ix.isDefault(t) {
		a = e.def
	}
	if i, ok := slices.BinarySearchFunc(e.custom, t, func(c custom, t Trigger) int { return compareTrigger(c.t, t) }); ok {
		b = e.custom[i].users
	}
	return a, b
}

// Users returns a new bitmap, owned by the caller, of the users to alert when t fires on
// symbol.
func (ix *Index) Users(symbol string, t Trigger) *roaring.Bitmap {
	a, b := ix.sources(symbol, t)
	switch {
	case a != nil && b != nil:
		return roaring.Or(a, b)
	case a != nil:
		return a.Clone()
	case b != nil:
		return b.Clone()
	}
	return roaring.New()
}

// Count returns how many users to alert when t fires on symbol.
func (ix *Index) Count(symbol string, t Trigger) uint64 {
	a, b := ix.sources(symbol, t)
	switch {
	case a != nil && b != nil:
		return a.OrCardinality(b)
	case a != nil:
		return a.GetCardinality()
	case b != nil:
		return b.GetCardinality()
	}
	return 0
}

// FanOut calls fn with the users to alert when t fires on symbol, in ascending batches of at
// most len(buf) ids written into buf (fn must not keep the slice), and returns how many users
// it passed. It stops at the first error of fn and returns it. buf must not be empty.
func (ix *Index) FanOut(symbol string, t Trigger, buf []uint32, fn func(batch []uint32) error) (int, error) {
	if len(buf) == 0 {
		return 0, fmt.Errorf("index: fan-out buffer: must not be empty")
	}
	a, b := ix.sources(symbol, t)
	var bm *roaring.Bitmap
	switch {
	case a != nil && b != nil:
		bm = roaring.Or(a, b)
	case a != nil:
		bm = a
	case b != nil:
		bm = b
	default:
		return 0, nil
	}
	return Batches(bm, buf, fn)
}

// Batches calls fn with the ids of bm in ascending batches of at most len(buf), written into
// buf, and returns how many it passed; it stops at the first error of fn.
func Batches(bm *roaring.Bitmap, buf []uint32, fn func(batch []uint32) error) (int, error) {
	if len(buf) == 0 {
		return 0, fmt.Errorf("index: batch buffer: must not be empty")
	}
	it := bm.ManyIterator()
	total := 0
	for {
		n := it.NextMany(buf)
		if n == 0 {
			return total, nil
		}
		if err := fn(buf[:n]); err != nil {
			return total, err
		}
		total += n
	}
}

// Exclusive splits the audiences of several triggers fired together on one symbol so that
// each user appears once, under the first trigger of ts that includes them. Pass the events
// of one evaluation for one window and direction in descending threshold order, and a user
// who subscribed to both 5% and 10% gets only the 10% alert when a jump crosses both. The
// result has one bitmap per trigger, owned by the caller.
func (ix *Index) Exclusive(symbol string, ts []Trigger) []*roaring.Bitmap {
	out := make([]*roaring.Bitmap, len(ts))
	seen := roaring.New()
	for i, t := range ts {
		u := ix.Users(symbol, t)
		u.AndNot(seen)
		seen.Or(u)
		out[i] = u
	}
	return out
}

// CustomThresholds returns the thresholds in use on symbol and window beyond the defaults,
// ascending: what rules.State.SetThresholds needs to watch for this symbol.
func (ix *Index) CustomThresholds(symbol string, w rules.Window) []uint32 {
	e := ix.symbols[symbol]
	if e == nil {
		return nil
	}
	var out []uint32
	for _, c := range e.custom {
		if c.t.Window != w || ix.isDefault(Trigger{Window: w, ThresholdBp: c.t.ThresholdBp, Direction: rules.Up}) ||
			ix.isDefault(Trigger{Window: w, ThresholdBp: c.t.ThresholdBp, Direction: rules.Down}) {
			continue
		}
		if n := len(out); n == 0 || out[n-1] != c.t.ThresholdBp {
			out = append(out, c.t.ThresholdBp)
		}
	}
	return out
}

// Symbols returns the symbols with at least one subscriber, sorted.
func (ix *Index) Symbols() []string {
	out := make([]string, 0, len(ix.symbols))
	for s := range ix.symbols {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Optimize converts bitmap containers to run containers where that is smaller; call it after
// a bulk load.
func (ix *Index) Optimize() {
	for _, e := range ix.symbols {
		e.def.RunOptimize()
		for _, c := range e.custom {
			c.users.RunOptimize()
		}
	}
}

// Stats describes the size of the index.
type Stats struct {
	Symbols           int    // symbols with subscribers
	DefaultMembers    uint64 // (user, symbol) pairs on the default subscription
	CustomBitmaps     int    // custom triggers in the side tables
	CustomMembers     uint64 // (user, symbol, custom trigger) entries
	SerializedBytes   uint64 // roaring's portable size of all bitmaps
	LargestAudience   uint64 // most users on one symbol's default bitmap
	LargestSymbolName string
}

// Stats walks the index and returns its size.
func (ix *Index) Stats() Stats {
	var st Stats
	for _, sym := range ix.Symbols() {
		e := ix.symbols[sym]
		st.Symbols++
		n := e.def.GetCardinality()
		st.DefaultMembers += n
		st.SerializedBytes += e.def.GetSerializedSizeInBytes()
		if n > st.LargestAudience {
			st.LargestAudience, st.LargestSymbolName = n, sym
		}
		st.CustomBitmaps += len(e.custom)
		for _, c := range e.custom {
			st.CustomMembers += c.users.GetCardinality()
			st.SerializedBytes += c.users.GetSerializedSizeInBytes()
		}
	}
	return st
}
