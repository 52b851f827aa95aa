package rules

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Encoding (version 1): "WRS1" | symbol length (uvarint) | symbol | suppressed (uvarint) | per
// window: level count (uvarint), then per level: threshold bp (uvarint), and for up then down
// a phase byte, a fired byte and, when fired, the last alert time in Unix ns (varint).
const stateMagic = "WRS1"

// MarshalBinary encodes the state so a restarted service keeps armed and fired keys and their
// cooldowns.
func (s *State) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 32+len(s.symbol)+16*len(s.levels[0]))
	b = append(b, stateMagic...)
	b = binary.AppendUvarint(b, uint64(len(s.symbol)))
	b = append(b, s.symbol...)
	b = binary.AppendUvarint(b, s.suppressed)
	for w := range s.levels {
		b = binary.AppendUvarint(b, uint64(len(s.levels[w])))
		for _, l := range s.levels[w] {
			b = binary.AppendUvarint(b, uint64(l.bp))
			for _, k := range [2]side{l.up, l.down} {
				fired := byte(0)
				if k.hasFired {
					fired = 1
				}
				b = append(b, k.phase, fired)
				if k.hasFired {
					b = binary.AppendVarint(b, k.lastFired)
				}
			}
		}
	}
	return b, nil
}

// DecodeState restores a state written by State.MarshalBinary. The engine's default
// thresholds are always watched: defaults missing from the encoding are added as unknown, and
// encoded thresholds that are not defaults become custom ones. Errors name the field.
func (e *Engine) DecodeState(data []byte) (*State, error) {
	if len(data) < len(stateMagic) || string(data[:len(stateMagic)]) != stateMagic {
		return nil, errors.New("rules: decode header: not a rule state encoding (magic WRS1)")
	}
	b := data[len(stateMagic):]
	fail := func(field string) (*State, error) {
		return nil, fmt.Errorf("rules: decode %s: truncated or malformed", field)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return fail("symbol")
	}
	b = b[k:]
	s := &State{symbol: string(b[:n])}
	b = b[n:]
	if s.suppressed, k = binary.Uvarint(b); k <= 0 {
		return fail("suppressed")
	}
	b = b[k:]
	for w := range s.levels {
		count, k := binary.Uvarint(b)
		if k <= 0 || count > uint64(len(b)) {
			return fail("level count")
		}
		b = b[k:]
		lv := make([]level, 0, count)
		for range count {
			bp, k := binary.Uvarint(b)
			if k <= 0 {
				return fail("threshold")
			}
			b = b[k:]
			if bp == 0 || bp > MaxThresholdBp || (len(lv) > 0 && uint32(bp) <= lv[len(lv)-1].bp) {
				return nil, fmt.Errorf("rules: decode threshold %d: out of range or not ascending", bp)
			}
			l := level{bp: uint32(bp)}
			for d := 0; d < 2; d++ {
				if len(b) < 2 {
					return fail("key")
				}
				var sd side
				sd.phase, sd.hasFired = b[0], b[1] == 1
				if sd.phase > phaseFired || b[1] > 1 {
					return nil, fmt.Errorf("rules: decode key of threshold %d: phase %d fired %d invalid", bp, b[0], b[1])
				}
				b = b[2:]
				if sd.hasFired {
					if sd.lastFired, k = binary.Varint(b); k <= 0 {
						return fail("last alert time")
					}
					b = b[k:]
				}
				if d == 0 {
					l.up = sd
				} else {
					l.down = sd
				}
			}
			lv = append(lv, l)
		}
		s.levels[w] = lv
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("rules: decode trailer: %d unexpected bytes", len(b))
	}
	// Pin the engine's defaults, adding any that are missing; other thresholds are custom.
	for w := range s.levels {
		merged := make([]level, 0, len(s.levels[w])+len(e.defaults))
		merged = append(merged, s.levels[w]...)
		for _, bp := range e.defaults {
			if !slices.ContainsFunc(merged, func(l level) bool { return l.bp == bp }) {
				merged = append(merged, level{bp: bp})
			}
		}
		for i := range merged {
			merged[i].pinned = slices.Contains(e.defaults, merged[i].bp)
		}
		slices.SortFunc(merged, func(a, b level) int { return cmp.Compare(a.bp, b.bp) })
		s.levels[w] = merged
	}
	return s, nil
}
