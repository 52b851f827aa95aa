package porting

import (
	"strconv"

	"github.com/fabmarket/fabmarket/internal/textclip"
)

// Limits of E.164 numbers and of range allocations.
const (
	// MinDigits is the fewest digits (country code included) accepted after the "+".
	MinDigits = 8
	// MaxDigits is the most digits E.164 allows after the "+".
	MaxDigits = 15
	// MaxRangeSize bounds the numbers allocated by one range transaction, so that a single
	// transaction stays well below the message, size and time limits on its way. Measured on
	// the project's network (2 shared cores): a 10,000-number range is a 3.48 MB transaction
	// (about 350 bytes per number: value, key-level policy, key), endorsed in 10.7 s and
	// validated in 0.6-1.0 s per peer. That is 87% of gRPC's default 4 MB receive limit of a
	// fabric-gateway client and half of its 20 s endorse timeout (internal/fabnet), above the
	// orderer's PreferredMaxBytes (2 MB). 5,000 numbers halve all of that.
	MaxRangeSize = 5000
)

// ValidateNumber checks that s is a phone number in canonical E.164 form: a "+", then 8 to 15
// ASCII digits of which the first is not zero; no spaces, dashes or other separators (the
// caller normalises user input; the chaincode stores exactly one spelling per number). field
// names the argument in the error.
func ValidateNumber(field, s string) error {
	if s == "" {
		return Errorf(CodeInvalidArgument, field, "is required (E.164, e.g. +4915112345678)")
	}
	if s[0] != '+' {
		return Errorf(CodeInvalidArgument, field, "%q must start with \"+\" (E.164)", Clip(s))
	}
	digits := s[1:]
	if len(digits) < MinDigits || len(digits) > MaxDigits {
		return Errorf(CodeInvalidArgument, field, "%q must have %d to %d digits after \"+\"", Clip(s), MinDigits, MaxDigits)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return Errorf(CodeInvalidArgument, field, "%q may contain only digits after \"+\"", Clip(s))
		}
	}
	if digits[0] == '0' {
		return Errorf(CodeInvalidArgument, field, "%q: the country code cannot start with 0", Clip(s))
	}
	return nil
}

// NumberRange returns the numbers first..last inclusive, in ascending order. Both ends must be
// valid E.164 numbers of the same length, first <= last, and the range holds at most
// [MaxRangeSize] numbers.
func NumberRange(first, last string) ([]string, error) {
	if err := ValidateNumber("first", first); err != nil {
		return nil, err
	}
	if err := ValidateNumber("last", last); err != nil {
		return nil, err
	}
	if len(first) != len(last) {
		return nil, Errorf(CodeInvalidArgument, "last", "%s and %s differ in length; a range keeps the number of digits", first, last)
	}
	// At most 15 digits: fits in uint64 without overflow.
	lo, err := strconv.ParseUint(first[1:], 10, 64)
	if err != nil {
		return nil, Wrap(CodeInvalidArgument, err, "first")
	}
	hi, err := strconv.ParseUint(last[1:], 10, 64)
	if err != nil {
		return nil, Wrap(CodeInvalidArgument, err, "last")
	}
	if hi < lo {
		return nil, Errorf(CodeInvalidArgument, "last", "%s is below first %s", last, first)
	}
	if hi-lo >= MaxRangeSize {
		return nil, Errorf(CodeInvalidArgument, "last", "range %s..%s holds %d numbers; at most %d per transaction", first, last, hi-lo+1, MaxRangeSize)
	}
	width := len(first) - 1
	out := make([]string, 0, hi-lo+1)
	buf := make([]byte, 0, width+1)
	for v := lo; v <= hi; v++ {
		buf = append(buf[:0], '+')
		d := strconv.AppendUint(nil, v, 10)
		for i := len(d); i < width; i++ { // unreachable for valid ends, kept for safety
			buf = append(buf, '0')
		}
		buf = append(buf, d...)
		out = append(out, string(buf))
	}
	return out, nil
}

// Clip shortens untrusted input echoed into an error message of this chaincode: at most 40
// bytes, cut on a rune boundary, with "…" when it was longer.
func Clip(s string) string { return textclip.Clip(s, 40) }
