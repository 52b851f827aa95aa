package book

import (
	"fmt"
	"slices"
)

// checkState validates a State against a configuration and returns its orders sorted by Seq.
// Both engines use it, so both accept exactly the same states.
func checkState(cfg Config, s State) ([]OrderState, error) {
	if s.LastPrice < 0 || s.LastPrice > cfg.MaxPrice {
		return nil, fmt.Errorf("%w: LastPrice %d out of [0, %d]", ErrInvalidState, s.LastPrice, cfg.MaxPrice)
	}
	orders := slices.Clone(s.Orders)
	slices.SortFunc(orders, func(a, b OrderState) int { return cmpU64(a.Seq, b.Seq) })
	ids := make(map[string]struct{}, len(orders))
	var maxBid, minAsk int64 = 0, 0
	type key struct {
		side  Side
		price int64
	}
	totals := make(map[key]int64)
	for i := range orders {
		os := &orders[i]
		o := &os.Order
		if err := cfg.Validate(*o); err != nil {
			return nil, fmt.Errorf("%w: order %q: %w", ErrInvalidState, o.ID, err)
		}
		if _, dup := ids[o.ID]; dup {
			return nil, fmt.Errorf("%w: order id %q appears twice", ErrInvalidState, o.ID)
		}
		ids[o.ID] = struct{}{}
		if os.Seq == 0 || os.Seq > s.Seq {
			return nil, fmt.Errorf("%w: order %q: Seq %d not in [1, %d]", ErrInvalidState, o.ID, os.Seq, s.Seq)
		}
		if i > 0 && orders[i-1].Seq == os.Seq {
			return nil, fmt.Errorf("%w: Seq %d appears twice", ErrInvalidState, os.Seq)
		}
		if os.Filled < 0 || os.Filled >= o.Qty {
			return nil, fmt.Errorf("%w: order %q: Filled %d not in [0, Qty)", ErrInvalidState, o.ID, os.Filled)
		}
		if os.FilledNotional < 0 || (os.Filled == 0 && os.FilledNotional != 0) {
			return nil, fmt.Errorf("%w: order %q: FilledNotional %d inconsistent", ErrInvalidState, o.ID, os.FilledNotional)
		}
		if o.MaxNotional > 0 && os.FilledNotional > o.MaxNotional {
			return nil, fmt.Errorf("%w: order %q: FilledNotional exceeds MaxNotional", ErrInvalidState, o.ID)
		}
		switch os.Location {
		case InBook:
			if o.Type != Limit && o.Type != StopLimit {
				return nil, fmt.Errorf("%w: order %q: a %s order cannot rest in the book", ErrInvalidState, o.ID, o.Type)
			}
			if o.TIF != GTC && o.TIF != GTT {
				return nil, fmt.Errorf("%w: order %q: a %s order cannot rest in the book", ErrInvalidState, o.ID, o.TIF)
			}
			k := key{o.Side, o.Price}
			t, ok := addNonNeg(totals[k], os.Remaining())
			if !ok {
				return nil, fmt.Errorf("%w: level %s %d total: %w", ErrInvalidState, o.Side, o.Price, ErrOverflow)
			}
			totals[k] = t
			if o.Side == Buy && o.Price > maxBid {
				maxBid = o.Price
			}
			if o.Side == Sell && (minAsk == 0 || o.Price < minAsk) {
				minAsk = o.Price
			}
		case InStopBook:
			if !o.isStop() {
				return nil, fmt.Errorf("%w: order %q: a %s order cannot wait in the stop book", ErrInvalidState, o.ID, o.Type)
			}
			if os.Filled != 0 {
				return nil, fmt.Errorf("%w: order %q: waiting stop order has fills", ErrInvalidState, o.ID)
			}
		case InQueue:
		default:
			return nil, fmt.Errorf("%w: order %q: Location %d unknown", ErrInvalidState, o.ID, os.Location)
		}
	}
	if maxBid != 0 && minAsk != 0 && maxBid >= minAsk {
		return nil, fmt.Errorf("%w: book crossed (best bid %d >= best ask %d)", ErrInvalidState, maxBid, minAsk)
	}
	return orders, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
