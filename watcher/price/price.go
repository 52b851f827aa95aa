// Package price holds the exact arithmetic of the price watcher: decimal strings parsed into
// integers at a fixed scale, integers formatted back, and percentage moves measured in basis
// points with 128-bit intermediates, so no decision ever depends on a float or on an overflow.
//
// A price is an int64 count of units of 10^-scale (minor units or ticks); the watcher only
// accepts prices greater than zero. A move is measured in basis points (1 bp = 0.01%, 5% = 500
// bp) as Move(p, ref) = trunc((p - ref) * 10000 / ref). Because thresholds are whole numbers of
// basis points, "the move is at least T bp" is exactly "|Move| >= T": truncating the quotient
// never changes the outcome of a comparison with an integer, so exactly 5.00% reaches a 500 bp
// threshold and 4.9999% does not.
package price

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// MaxScale is the largest number of decimal places Parse and Format accept.
const MaxScale = 18

// BasisPointsPerUnit is the number of basis points in 100%.
const BasisPointsPerUnit = 10000

// ErrSyntax is wrapped by Parse when the text is not a plain decimal number.
var ErrSyntax = errors.New("not a plain decimal number")

// ErrInexact is wrapped by Parse when the text has more significant decimal places than the
// scale can represent.
var ErrInexact = errors.New("more decimal places than the scale allows")

// ErrRange is wrapped by Parse when the value does not fit in an int64 at the given scale.
var ErrRange = errors.New("value out of range")

var pow10 = [MaxScale + 1]int64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
	1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
}

// Parse converts a plain decimal string such as "20.30" into an integer count of 10^-scale
// units (2030 at scale 2). It accepts an optional leading '-', digits, and an optional '.'
// followed by at least one digit. It rejects signs other than a leading '-', exponents,
// spaces, underscores, a leading or trailing '.', values that do not fit in an int64, and
// fractions that are not exact at the scale ("20.305" at scale 2); trailing zeros beyond the
// scale ("20.300") are exact and accepted. Errors wrap ErrSyntax, ErrInexact or ErrRange.
func Parse(s string, scale int) (int64, error) {
	if scale < 0 || scale > MaxScale {
		return 0, fmt.Errorf("price: scale %d: must be between 0 and %d", scale, MaxScale)
	}
	if s == "" {
		return 0, fmt.Errorf("price: %q: %w", s, ErrSyntax)
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i = 1
	}
	var mag uint64 // magnitude in units of 10^-scale
	const limit = uint64(math.MaxInt64) + 1
	intDigits := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("price: %q: %w", s, ErrSyntax)
		}
		intDigits++
		hi, lo := bits.Mul64(mag, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > limit {
			return 0, fmt.Errorf("price: %q: %w", s, ErrRange)
		}
		mag = lo
	}
	if intDigits == 0 {
		return 0, fmt.Errorf("price: %q: %w", s, ErrSyntax)
	}
	// Scale the integer part.
	hi, lo := bits.Mul64(mag, uint64(pow10[scale]))
	if hi != 0 || lo > limit {
		return 0, fmt.Errorf("price: %q: %w", s, ErrRange)
	}
	mag = lo
	if i < len(s) { // s[i] == '.'
		i++
		if i == len(s) {
			return 0, fmt.Errorf("price: %q: %w", s, ErrSyntax)
		}
		place := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("price: %q: %w", s, ErrSyntax)
			}
			place++
			if place > scale {
				if c != '0' {
					return 0, fmt.Errorf("price: %q at scale %d: %w", s, scale, ErrInexact)
				}
				continue
			}
			add := uint64(c-'0') * uint64(pow10[scale-place])
			var carry uint64
			mag, carry = bits.Add64(mag, add, 0)
			if carry != 0 || mag > limit {
				return 0, fmt.Errorf("price: %q: %w", s, ErrRange)
			}
		}
	}
	if neg {
		if mag == limit {
			return math.MinInt64, nil
		}
		return -int64(mag), nil
	}
	if mag == limit {
		return 0, fmt.Errorf("price: %q: %w", s, ErrRange)
	}
	return int64(mag), nil
}

// Format writes v, a count of 10^-scale units, as a decimal string with exactly scale decimal
// places (2030 at scale 2 is "20.30"). Parse(Format(v, scale), scale) == v for every v and
// valid scale. It panics if scale is outside 0..MaxScale, a programming error.
func Format(v int64, scale int) string {
	if scale < 0 || scale > MaxScale {
		panic(fmt.Sprintf("price: Format scale %d outside 0..%d", scale, MaxScale))
	}
	neg := v < 0
	mag := uint64(v)
	if neg {
		mag = -mag // two's complement magnitude, correct for MinInt64 too
	}
	digits := strconv.FormatUint(mag, 10)
	if scale == 0 {
		if neg {
			return "-" + digits
		}
		return digits
	}
	for len(digits) <= scale {
		digits = "0" + digits
	}
	out := digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	if neg {
		return "-" + out
	}
	return out
}

// Move returns the change from ref to p in basis points, truncated toward zero:
// trunc((p - ref) * 10000 / ref), saturated at ±math.MaxInt64. Both prices must be positive;
// Move returns 0 otherwise. The arithmetic is exact (128-bit product, 64-bit quotient).
func Move(p, ref int64) int64 {
	mag, up, ok := MoveMagnitude(p, ref)
	if !ok {
		return 0
	}
	if mag > math.MaxInt64 {
		mag = math.MaxInt64
	}
	if up {
		return int64(mag)
	}
	return -int64(mag)
}

// MoveMagnitude returns floor(|p - ref| * 10000 / ref) and whether p >= ref (up). ok is false
// when p or ref is not positive. The magnitude saturates at math.MaxUint64, which no real pair
// of prices reaches. For an integer threshold T, mag >= T holds exactly when the true move is
// at least T basis points.
func MoveMagnitude(p, ref int64) (mag uint64, up bool, ok bool) {
	if p <= 0 || ref <= 0 {
		return 0, false, false
	}
	var d uint64
	if p >= ref {
		d, up = uint64(p-ref), true
	} else {
		d = uint64(ref - p)
	}
	hi, lo := bits.Mul64(d, BasisPointsPerUnit)
	if hi >= uint64(ref) {
		return math.MaxUint64, up, true
	}
	q, _ := bits.Div64(hi, lo, uint64(ref))
	return q, up, true
}

// Reaches reports whether the move from ref to p is at least thresholdBp basis points in the
// given direction (up: p >= ref*(1+T/10000); down: p <= ref*(1-T/10000)), by comparing
// |p - ref| * 10000 with T * ref in 128-bit arithmetic. It is the reference definition that
// the faster MoveMagnitude comparison is tested against. Non-positive prices never reach.
func Reaches(p, ref int64, thresholdBp uint64, up bool) bool {
	if p <= 0 || ref <= 0 {
		return false
	}
	var d uint64
	switch {
	case up && p >= ref:
		d = uint64(p - ref)
	case !up && p <= ref:
		d = uint64(ref - p)
	default:
		return thresholdBp == 0
	}
	lh, ll := bits.Mul64(d, BasisPointsPerUnit)
	rh, rl := bits.Mul64(thresholdBp, uint64(ref))
	return lh > rh || (lh == rh && ll >= rl)
}

// Deviates reports whether x differs from the neighbour n by more than limitBp basis points
// of n: |x - n| * 10000 > limitBp * n, exactly. Non-positive inputs deviate.
func Deviates(x, n int64, limitBp uint64) bool {
	if x <= 0 || n <= 0 {
		return true
	}
	var d uint64
	if x >= n {
		d = uint64(x - n)
	} else {
		d = uint64(n - x)
	}
	lh, ll := bits.Mul64(d, BasisPointsPerUnit)
	rh, rl := bits.Mul64(limitBp, uint64(n))
	return lh > rh || (lh == rh && ll > rl)
}

// Percent formats a basis-point amount as a percentage with two decimals and no sign for
// positive values: 600 → "6.00", -500 → "-5.00", 1 → "0.01". Since Move truncates toward
// zero, Percent(Move(p, ref)) never shows a move larger than the true one: an alert that fired
// at 5% displays at least "5.00", and a move that did not fire displays at most "4.99".
func Percent(bp int64) string {
	return Format(bp, 2)
}
