// Package rules decides when a price move becomes an alert: ±5% and ±10% over one day and one
// week by default, plus any custom thresholds that subscriptions ask for on a symbol.
//
// # Keys and crossings
//
// An alert key is (symbol, window, threshold, direction). For each key the engine keeps a
// small state machine:
//
//   - unknown: the key has never been evaluated with a reference price (a new symbol, a new
//     custom threshold, a window whose reference is not yet available). The first evaluation
//     only records where the price stands: a condition that already holds is not a crossing
//     and fires nothing, so a cold start or a newly added threshold never floods users.
//   - armed: the price is inside. When the move reaches the threshold it fires one Event and
//     the key becomes fired.
//   - fired: nothing more fires until the price comes back inside, which re-arms the key.
//
// "Reaches" is inclusive and exact: an up move of T basis points fires when
// (price - ref) * 10000 >= T * ref, a down move when (ref - price) * 10000 >= T * ref, computed
// with integers only (see package price). Exactly 5.00% fires a 500 bp threshold; 4.99% does
// not. A jump across several thresholds fires each of them, in ascending order.
//
// # Hysteresis
//
// "Back inside" means the signed move in the key's direction is below T - Config.HysteresisBp.
// The default hysteresis is 0: the key re-arms as soon as the move is below the threshold. With
// 100 bp a 5% key re-arms only below 4%; a hysteresis at or above T re-arms only once the price
// is back at or beyond the reference.
//
// # Throttling
//
// Per key, Config.Cooldown (default one hour) is the least time between two alerts. A crossing
// inside the cooldown is suppressed and counted (State.Suppressed), and the key stays armed:
// if the move still holds at the first evaluation after the cooldown, it fires then, so the
// user learns of a move that lasted, but an oscillation around the threshold alerts at most
// once per cooldown. Per user, UserLimiter caps the notifications a user receives in any
// rolling hour.
//
// All decisions depend only on the inputs: time comes in as an argument, and events come out in
// a fixed order (window, then threshold ascending, then up before down).
package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/watcher/price"
)

// Window is the span a move is measured over.
type Window uint8

// The windows of the seed: one day and one week.
const (
	Day Window = iota
	Week
)

// NumWindows is the number of windows; Window values are 0..NumWindows-1.
const NumWindows = 2

// String returns "1d" or "1w".
func (w Window) String() string {
	switch w {
	case Day:
		return "1d"
	case Week:
		return "1w"
	}
	return fmt.Sprintf("Window(%d)", uint8(w))
}

// Lookback returns the duration of the window: 24h or 168h.
func (w Window) Lookback() time.Duration {
	if w == Week {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Valid reports whether w is Day or Week.
func (w Window) Valid() bool { return w < NumWindows }

// ParseWindow parses "1d" or "1w".
func ParseWindow(s string) (Window, error) {
	switch s {
	case "1d":
		return Day, nil
	case "1w":
		return Week, nil
	}
	return 0, fmt.Errorf("rules: window %q: want \"1d\" or \"1w\"", s)
}

// Direction is the sign of a move.
type Direction uint8

// Directions of a move.
const (
	Up Direction = iota
	Down
)

// String returns "up" or "down".
func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Valid reports whether d is Up or Down.
func (d Direction) Valid() bool { return d <= Down }

// ParseDirection parses "up" or "down".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "up":
		return Up, nil
	case "down":
		return Down, nil
	}
	return 0, fmt.Errorf("rules: direction %q: want \"up\" or \"down\"", s)
}

// MaxThresholdBp is the largest threshold accepted: 1,000,000 bp = 10,000%.
const MaxThresholdBp = 1_000_000

// DefaultThresholds returns the seed's thresholds in basis points: 500 (5%) and 1000 (10%).
func DefaultThresholds() []uint32 { return []uint32{500, 1000} }

// ParseThreshold parses a percentage with at most two decimals, as the REST API carries it
// ("5" → 500 bp, "2.5" → 250 bp), rejecting zero, negatives, values over MaxThresholdBp and
// anything finer than a basis point.
func ParseThreshold(s string) (uint32, error) {
	v, err := price.Parse(s, 2)
	if err != nil {
		return 0, fmt.Errorf("rules: threshold %q: %w", s, err)
	}
	if v <= 0 || v > MaxThresholdBp {
		return 0, fmt.Errorf("rules: threshold %q: must be above 0 and at most %s", s, FormatThreshold(MaxThresholdBp))
	}
	return uint32(v), nil
}

// FormatThreshold writes a threshold as the shortest exact percentage: 500 → "5", 250 → "2.5".
func FormatThreshold(bp uint32) string {
	s := price.Format(int64(bp), 2)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ValidateThreshold checks a threshold in basis points; the error names the field.
func ValidateThreshold(bp uint32) error {
	if bp == 0 || bp > MaxThresholdBp {
		return fmt.Errorf("rules: threshold %d bp: must be between 1 and %d", bp, MaxThresholdBp)
	}
	return nil
}

// Key identifies one alert state: a threshold crossed in a direction over a window.
type Key struct {
	Symbol      string
	Window      Window
	ThresholdBp uint32
	Direction   Direction
}

// Event is one alert: the move of Symbol over Window reached ThresholdBp in Direction.
type Event struct {
	Symbol         string
	Window         Window
	ThresholdBp    uint32
	Direction      Direction
	ChangeBp       int64 // signed move, truncated toward zero
	Price          int64
	ReferencePrice int64
	Time           time.Time
}

// Key returns the alert key of the event.
func (e Event) Key() Key {
	return Key{Symbol: e.Symbol, Window: e.Window, ThresholdBp: e.ThresholdBp, Direction: e.Direction}
}

// ChangePercent returns the move as an exact decimal string with two places, truncated toward
// zero ("6.00", "-5.00"), so the displayed move is never larger than the true one.
func (e Event) ChangePercent() string { return price.Percent(e.ChangeBp) }

// Threshold returns the threshold as a percentage string ("5", "10", "2.5").
func (e Event) Threshold() string { return FormatThreshold(e.ThresholdBp) }

// Defaults for Config fields left at their zero value.
const DefaultCooldown = time.Hour

// Config sets up an Engine; the zero value is the default.
type Config struct {
	// DefaultThresholdsBp are watched on every symbol and window; nil means
	// DefaultThresholds().
	DefaultThresholdsBp []uint32
	// Cooldown is the least time between two alerts of one key; 0 means DefaultCooldown.
	Cooldown time.Duration
	// NoCooldown turns the per-key cooldown off.
	NoCooldown bool
	// HysteresisBp is how far below a threshold the move must come back to re-arm; default 0.
	HysteresisBp uint32
}

// Engine evaluates rule states. It holds only configuration and is safe for concurrent use;
// each State belongs to one goroutine at a time.
type Engine struct {
	defaults []uint32
	cooldown int64
	hyst     int64
}

// NewEngine checks the configuration and returns an engine; errors name the field.
func NewEngine(cfg Config) (*Engine, error) {
	defs := cfg.DefaultThresholdsBp
	if defs == nil {
		defs = DefaultThresholds()
	}
	defs = slices.Clone(defs)
	slices.Sort(defs)
	defs = slices.Compact(defs)
	for _, bp := range defs {
		if err := ValidateThreshold(bp); err != nil {
			return nil, fmt.Errorf("rules: config DefaultThresholdsBp: %w", err)
		}
	}
	if cfg.Cooldown < 0 {
		return nil, fmt.Errorf("rules: config Cooldown %v: must not be negative", cfg.Cooldown)
	}
	if cfg.HysteresisBp > MaxThresholdBp {
		return nil, fmt.Errorf("rules: config HysteresisBp %d: must be at most %d", cfg.HysteresisBp, MaxThresholdBp)
	}
	e := &Engine{defaults: defs, hyst: int64(cfg.HysteresisBp)}
	switch {
	case cfg.NoCooldown:
	case cfg.Cooldown == 0:
		e.cooldown = int64(DefaultCooldown)
	default:
		e.cooldown = int64(cfg.Cooldown)
	}
	return e, nil
}

// Defaults returns the thresholds watched on every symbol and window, ascending.
func (e *Engine) Defaults() []uint32 { return slices.Clone(e.defaults) }

const (
	phaseUnknown uint8 = iota
	phaseArmed
	phaseFired
)

// side is the state of one key.
type side struct {
	phase     uint8
	hasFired  bool
	lastFired int64 // Unix nanoseconds of the last alert, valid when hasFired
}

// level holds the two directions of one threshold.
type level struct {
	bp     uint32
	pinned bool // a default threshold, never removed
	up     side
	down   side
}

// State is the rule state of one symbol: for each window, its thresholds ascending.
type State struct {
	symbol     string
	levels     [NumWindows][]level
	suppressed uint64
}

// NewState returns the state of a symbol watching the default thresholds, all unknown.
func (e *Engine) NewState(symbol string) *State {
	s := &State{symbol: symbol}
	// One backing array for all windows keeps a symbol's keys in adjacent cache lines; each
	// window's slice is capped so SetThresholds never writes into its neighbour.
	k := len(e.defaults)
	all := make([]level, NumWindows*k)
	for w := range s.levels {
		s.levels[w] = all[w*k : (w+1)*k : (w+1)*k]
		for i, bp := range e.defaults {
			s.levels[w][i] = level{bp: bp, pinned: true}
		}
	}
	return s
}

// Symbol returns the symbol of the state.
func (s *State) Symbol() string { return s.symbol }

// Suppressed returns how many crossings the cooldown has suppressed so far.
func (s *State) Suppressed() uint64 { return s.suppressed }

// Thresholds returns the thresholds watched on a window, ascending.
func (s *State) Thresholds(w Window) []uint32 {
	if !w.Valid() {
		return nil
	}
	out := make([]uint32, len(s.levels[w]))
	for i, l := range s.levels[w] {
		out[i] = l.bp
	}
	return out
}

// SetThresholds makes the window watch the default thresholds plus custom (duplicates and
// defaults in custom are ignored). Thresholds that stay keep their state; new ones start
// unknown; custom ones no longer listed are forgotten. Errors name the field.
func (s *State) SetThresholds(w Window, custom []uint32) error {
	if !w.Valid() {
		return fmt.Errorf("rules: window %d: invalid", w)
	}
	for _, bp := range custom {
		if err := ValidateThreshold(bp); err != nil {
			return err
		}
	}
	want := slices.Clone(custom)
	slices.Sort(want)
	want = slices.Compact(want)
	old := s.levels[w]
	next := make([]level, 0, len(old)+len(want))
	i, j := 0, 0
	for i < len(old) || j < len(want) {
		switch {
		case j == len(want) || (i < len(old) && old[i].bp < want[j]):
			if old[i].pinned {
				next = append(next, old[i])
			}
			i++
		case i == len(old) || want[j] < old[i].bp:
			next = append(next, level{bp: want[j]})
			j++
		default: // equal
			next = append(next, old[i])
			i++
			j++
		}
	}
	s.levels[w] = next
	return nil
}

// Input is one accepted tick of the symbol with its reference prices.
type Input struct {
	Price int64
	Time  time.Time
	// Reference holds, per window, the reference price; 0 when there is none, in which case
	// the window's keys keep their state and fire nothing.
	Reference [NumWindows]int64
}

// Evaluate applies one accepted tick to the state and appends the events it fires to out, in
// order: window, threshold ascending, up before down. A non-positive price evaluates nothing.
func (e *Engine) Evaluate(s *State, in Input, out []Event) []Event {
	if in.Price <= 0 {
		return out
	}
	at := in.Time.UnixNano()
	for w := range s.levels {
		ref := in.Reference[w]
		if ref <= 0 {
			continue
		}
		mag, up, _ := price.MoveMagnitude(in.Price, ref)
		m := int64(mag)
		if mag > 1<<62 {
			m = 1 << 62 // far above any threshold; keeps the signed arithmetic exact
		}
		// Signed move in each direction, in basis points (truncated toward zero, which does
		// not change comparisons with whole-basis-point thresholds).
		upMove, downMove := m, -m
		if !up {
			upMove, downMove = -m, m
		}
		lv := s.levels[w]
		for i := range lv {
			l := &lv[i]
			if e.step(s, &l.up, upMove, int64(l.bp), at) {
				out = append(out, e.event(s, Window(w), l.bp, Up, in, ref))
			}
			if e.step(s, &l.down, downMove, int64(l.bp), at) {
				out = append(out, e.event(s, Window(w), l.bp, Down, in, ref))
			}
		}
	}
	return out
}

// step advances one key with the signed move in its direction and reports whether it fires.
func (e *Engine) step(s *State, k *side, move, bp, at int64) bool {
	reached := move >= bp
	switch k.phase {
	case phaseUnknown:
		if reached {
			k.phase = phaseFired
		} else {
			k.phase = phaseArmed
		}
	case phaseArmed:
		if !reached {
			return false
		}
		if k.hasFired && at-k.lastFired < e.cooldown {
			s.suppressed++
			return false
		}
		k.phase, k.hasFired, k.lastFired = phaseFired, true, at
		return true
	case phaseFired:
		if move < bp-e.hyst {
			k.phase = phaseArmed
		}
	}
	return false
}

func (e *Engine) event(s *State, w Window, bp uint32, d Direction, in Input, ref int64) Event {
	return Event{
		Symbol:         s.symbol,
		Window:         w,
		ThresholdBp:    bp,
		Direction:      d,
		ChangeBp:       price.Move(in.Price, ref),
		Price:          in.Price,
		ReferencePrice: ref,
		Time:           in.Time,
	}
}
