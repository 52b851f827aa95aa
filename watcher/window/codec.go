package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Encoding (version 1), all integers varints:
//
//	"WWN1" | width ns (uvarint) | ring length (uvarint) | flags byte (1 has, 2 carry, 4 held)
//	| head, last, lastAt (varint) if has | carry, carryBucket (varint) if carry
//	| held price, held time ns (varint) if held
//	| ring closes from the oldest bucket to the head, each 0 for empty or zigzag(delta from the
//	  previous non-empty close)+1 (uvarint) if has.
//
// Runs of similar prices encode in one or two bytes per bucket, about 4 KiB per busy symbol.
const codecMagic = "WWN1"

const (
	flagHas   = 1
	flagCarry = 2
	flagHeld  = 4
)

// MarshalBinary encodes the state of the series (not its outlier settings) for persistence.
func (s *Series) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64+2*len(s.buckets))
	b = append(b, codecMagic...)
	b = binary.AppendUvarint(b, uint64(s.width))
	b = binary.AppendUvarint(b, uint64(s.n))
	var flags byte
	if s.has {
		flags |= flagHas
	}
	if s.carry != 0 {
		flags |= flagCarry
	}
	if s.held.Price != 0 {
		flags |= flagHeld
	}
	b = append(b, flags)
	if s.has {
		b = binary.AppendVarint(b, s.head)
		b = binary.AppendVarint(b, s.last)
		b = binary.AppendVarint(b, s.lastAt)
	}
	if s.carry != 0 {
		b = binary.AppendVarint(b, s.carry)
		b = binary.AppendVarint(b, s.carryBucket)
	}
	if s.held.Price != 0 {
		b = binary.AppendVarint(b, s.held.Price)
		b = binary.AppendVarint(b, s.heldAt)
	}
	if s.has {
		prev := int64(0)
		for k := s.head - s.n + 1; k <= s.head; k++ {
			v := s.buckets[s.slot(k)]
			if k == s.head {
				v = s.last // the head close lives in s.last until the head moves on
			}
			if v == 0 {
				b = append(b, 0)
				continue
			}
			d := v - prev
			b = binary.AppendUvarint(b, uint64(d<<1^d>>63)+1)
			prev = v
		}
	}
	return b, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("window: decode %s: truncated or malformed varint", field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("window: decode %s: truncated or malformed varint", field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// UnmarshalBinary restores a state written by MarshalBinary into a series created by New with
// the same bucket width and retention; the outlier settings stay those of the receiver. On
// error the receiver is unchanged and the error names the field that failed.
func (s *Series) UnmarshalBinary(data []byte) error {
	if len(data) < len(codecMagic)+1 || string(data[:len(codecMagic)]) != codecMagic {
		return errors.New("window: decode header: not a series encoding (magic WWN1)")
	}
	r := &reader{b: data[len(codecMagic):]}
	width := r.uvarint("bucket width")
	n := r.uvarint("ring length")
	if r.err != nil {
		return r.err
	}
	if int64(width) != s.width {
		return fmt.Errorf("window: decode bucket width %v: series uses %v", time.Duration(width), time.Duration(s.width))
	}
	if int64(n) != s.n {
		return fmt.Errorf("window: decode ring length %d: series uses %d (retention changed)", n, s.n)
	}
	if len(r.b) == 0 {
		return errors.New("window: decode flags: truncated")
	}
	flags := r.b[0]
	r.b = r.b[1:]
	if flags&^(flagHas|flagCarry|flagHeld) != 0 {
		return fmt.Errorf("window: decode flags %#x: unknown bits", flags)
	}
	out := Series{width: s.width, n: s.n, outlierBp: s.outlierBp, filter: s.filter, buckets: make([]int64, s.n)}
	if flags&flagHas != 0 {
		out.has = true
		out.head = r.varint("head")
		out.last = r.varint("last price")
		out.lastAt = r.varint("last time")
	}
	if flags&flagCarry != 0 {
		out.carry = r.varint("carry price")
		out.carryBucket = r.varint("carry bucket")
		if r.err == nil && (out.carry <= 0 || out.carryBucket > out.head-out.n) {
			return fmt.Errorf("window: decode carry: price %d bucket %d not before the ring", out.carry, out.carryBucket)
		}
	}
	if flags&flagHeld != 0 {
		out.held.Price = r.varint("held price")
		out.heldAt = r.varint("held time")
		out.held.Time = time.Unix(0, out.heldAt).UTC()
		if r.err == nil && out.held.Price <= 0 {
			return fmt.Errorf("window: decode held price %d: must be positive", out.held.Price)
		}
	}
	if out.has {
		if r.err == nil && (out.last <= 0 || floorDiv(out.lastAt, out.width) != out.head) {
			return fmt.Errorf("window: decode last: price %d at %d not in head bucket %d", out.last, out.lastAt, out.head)
		}
		prev := int64(0)
		for k := out.head - out.n + 1; k <= out.head && r.err == nil; k++ {
			u := r.uvarint("bucket")
			if u == 0 {
				continue
			}
			z := u - 1
			prev += int64(z>>1) ^ -int64(z&1)
			if prev <= 0 {
				return fmt.Errorf("window: decode bucket %d: price %d must be positive", k, prev)
			}
			out.buckets[out.slot(k)] = prev
		}
		if r.err == nil && out.buckets[out.slot(out.head)] != out.last {
			return fmt.Errorf("window: decode head bucket: close %d differs from last price %d", out.buckets[out.slot(out.head)], out.last)
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("window: decode trailer: %d unexpected bytes", len(r.b))
	}
	*s = out
	return nil
}
