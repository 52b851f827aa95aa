package price

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		scale int
		want  int64
		err   error
	}{
		{"seed price", "20.30", 2, 2030, nil},
		{"short fraction", "20.3", 2, 2030, nil},
		{"integer", "20", 2, 2000, nil},
		{"trailing zeros beyond scale", "20.300", 2, 2030, nil},
		{"scale zero", "42", 0, 42, nil},
		{"scale zero exact zeros", "42.000", 0, 42, nil},
		{"negative", "-1.5", 2, -150, nil},
		{"zero", "0", 4, 0, nil},
		{"leading zeros", "007.10", 2, 710, nil},
		{"max int64", "9223372036854775807", 0, math.MaxInt64, nil},
		{"min int64", "-9223372036854775808", 0, math.MinInt64, nil},
		{"max at scale", "92233720368547758.07", 2, math.MaxInt64, nil},
		{"inexact", "20.305", 2, 0, ErrInexact},
		{"inexact scale zero", "1.5", 0, 0, ErrInexact},
		{"overflow", "9223372036854775808", 0, 0, ErrRange},
		{"overflow at scale", "92233720368547758.08", 2, 0, ErrRange},
		{"huge", strings.Repeat("9", 40), 2, 0, ErrRange},
		{"empty", "", 2, 0, ErrSyntax},
		{"lone minus", "-", 2, 0, ErrSyntax},
		{"plus sign", "+1", 2, 0, ErrSyntax},
		{"leading dot", ".5", 2, 0, ErrSyntax},
		{"trailing dot", "5.", 2, 0, ErrSyntax},
		{"exponent", "1e3", 2, 0, ErrSyntax},
		{"space", " 1", 2, 0, ErrSyntax},
		{"underscore", "1_000", 2, 0, ErrSyntax},
		{"comma", "1,5", 2, 0, ErrSyntax},
		{"two dots", "1.2.3", 2, 0, ErrSyntax},
		{"double minus", "--1", 2, 0, ErrSyntax},
		{"nan", "NaN", 2, 0, ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in, tc.scale)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Parse(%q, %d) error = %v, want %v", tc.in, tc.scale, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q, %d) = %d, %v; want %d", tc.in, tc.scale, got, err, tc.want)
			}
		})
	}
	if _, err := Parse("1", MaxScale+1); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Fatalf("bad scale error = %v, want one naming the scale", err)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		v     int64
		scale int
		want  string
	}{
		{2030, 2, "20.30"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {0, 2, "0.00"}, {-500, 2, "-5.00"},
		{42, 0, "42"}, {-42, 0, "-42"}, {math.MinInt64, 0, "-9223372036854775808"},
		{math.MaxInt64, 18, "9.223372036854775807"},
	}
	for _, tc := range tests {
		if got := Format(tc.v, tc.scale); got != tc.want {
			t.Errorf("Format(%d, %d) = %q, want %q", tc.v, tc.scale, got, tc.want)
		}
		if back, err := Parse(tc.want, tc.scale); err != nil || back != tc.v {
			t.Errorf("Parse(Format(%d)) = %d, %v", tc.v, back, err)
		}
	}
}

func TestMoveExactThresholds(t *testing.T) {
	tests := []struct {
		name      string
		p, ref    int64
		threshold uint64
		up        bool
		reaches   bool
		move      int64
		percent   string
	}{
		{"exactly 5.00% up fires", 10500, 10000, 500, true, true, 500, "5.00"},
		{"just under 5% up", 10499, 10000, 500, true, false, 499, "4.99"},
		{"4.9999% up", 104999, 100000, 500, true, false, 499, "4.99"},
		{"exactly 5.00% down fires", 9500, 10000, 500, false, true, -500, "-5.00"},
		{"just under 5% down", 9501, 10000, 500, false, false, -499, "-4.99"},
		{"exactly 10% up", 110, 100, 1000, true, true, 1000, "10.00"},
		{"up move never reaches down", 110, 100, 500, false, false, 1000, "10.00"},
		{"odd reference exact 5%", 2121, 2020, 500, true, true, 500, "5.00"},
		{"odd reference below 5%", 2120, 2020, 500, true, false, 495, "4.95"},
		{"flat", 100, 100, 500, true, false, 0, "0.00"},
		{"total loss bound", 1, 100, 9900, false, true, -9900, "-99.00"},
		{"huge prices no overflow", math.MaxInt64, math.MaxInt64 / 2, 10000, true, true, 10000, "100.00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Reaches(tc.p, tc.ref, tc.threshold, tc.up); got != tc.reaches {
				t.Errorf("Reaches = %v, want %v", got, tc.reaches)
			}
			if got := Move(tc.p, tc.ref); got != tc.move {
				t.Errorf("Move = %d, want %d", got, tc.move)
			}
			if got := Percent(Move(tc.p, tc.ref)); got != tc.percent {
				t.Errorf("Percent = %q, want %q", got, tc.percent)
			}
		})
	}
	if Move(0, 10) != 0 || Move(10, 0) != 0 || Move(-1, 10) != 0 {
		t.Error("Move with non-positive prices must be 0")
	}
	if got := Move(math.MaxInt64, 1); got != math.MaxInt64 {
		t.Errorf("Move saturation = %d", got)
	}
}

// TestMoveMagnitudeAgreesWithReaches checks the division shortcut against the 128-bit
// multiplication definition and against math/big on random prices of every magnitude.
func TestMoveMagnitudeAgreesWithReaches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		shift := r.UintN(62)
		ref := r.Int64N(int64(1)<<shift+1) + 1
		p := ref + r.Int64N(ref/4+1) - ref/8
		if i%7 == 0 {
			p = r.Int64N(math.MaxInt64) + 1
		}
		if p <= 0 {
			p = 1
		}
		mag, up, ok := MoveMagnitude(p, ref)
		if !ok {
			t.Fatalf("MoveMagnitude(%d, %d) not ok", p, ref)
		}
		want := new(big.Int).Mul(big.NewInt(p-ref), big.NewInt(BasisPointsPerUnit))
		want.Abs(want)
		want.Quo(want, big.NewInt(ref))
		if want.IsUint64() && want.Uint64() != mag {
			t.Fatalf("MoveMagnitude(%d, %d) = %d, big says %s", p, ref, mag, want)
		}
		for _, th := range []uint64{1, 499, 500, 501, 1000, mag, mag + 1} {
			if th == 0 || mag == math.MaxUint64 {
				continue
			}
			if got := up && mag >= th; got != Reaches(p, ref, th, true) {
				t.Fatalf("up p=%d ref=%d th=%d: magnitude says %v", p, ref, th, got)
			}
			if got := !up && p != ref && mag >= th; got != Reaches(p, ref, th, false) {
				t.Fatalf("down p=%d ref=%d th=%d: magnitude says %v", p, ref, th, got)
			}
		}
	}
}

func TestDeviates(t *testing.T) {
	tests := []struct {
		x, n  int64
		limit uint64
		want  bool
	}{
		{120, 100, 2000, false}, // exactly 20% is not "more than"
		{121, 100, 2000, true},
		{80, 100, 2000, false},
		{79, 100, 2000, true},
		{100, 100, 0, false},
		{0, 100, 2000, true},
	}
	for _, tc := range tests {
		if got := Deviates(tc.x, tc.n, tc.limit); got != tc.want {
			t.Errorf("Deviates(%d, %d, %d) = %v, want %v", tc.x, tc.n, tc.limit, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"20.30", "20.305", "0", "-1.5", ".5", "5.", "1e3", "9223372036854775807", "00.000"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, sc uint8) {
		scale := int(sc % (MaxScale + 1))
		v, err := Parse(s, scale)
		// Exact reference: math/big rational parse of the same grammar.
		ok := validGrammar(s)
		if !ok {
			if err == nil {
				t.Fatalf("Parse(%q, %d) = %d, want a syntax error", s, scale, v)
			}
			return
		}
		rat, _ := new(big.Rat).SetString(s)
		scaled := new(big.Rat).Mul(rat, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
		if !scaled.IsInt() {
			// Both inexact and out of range (its whole part alone overflows): either error is
			// true, and Parse finds the range first.
			whole := new(big.Int).Quo(scaled.Num(), scaled.Denom())
			if !whole.IsInt64() && errors.Is(err, ErrRange) {
				return
			}
			if !errors.Is(err, ErrInexact) {
				t.Fatalf("Parse(%q, %d) = %d, %v; want ErrInexact", s, scale, v, err)
			}
			return
		}
		n := scaled.Num()
		if !n.IsInt64() {
			if !errors.Is(err, ErrRange) {
				t.Fatalf("Parse(%q, %d) = %d, %v; want ErrRange", s, scale, v, err)
			}
			return
		}
		if err != nil || v != n.Int64() {
			t.Fatalf("Parse(%q, %d) = %d, %v; want %d", s, scale, v, err, n.Int64())
		}
		if back, err := Parse(Format(v, scale), scale); err != nil || back != v {
			t.Fatalf("round trip of %d at scale %d: %d, %v", v, scale, back, err)
		}
	})
}

// validGrammar is an independent statement of the accepted grammar: -?[0-9]+(\.[0-9]+)?
func validGrammar(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	digits := func(x string) bool {
		if x == "" {
			return false
		}
		for _, c := range x {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	return digits(intPart) && (!hasDot || digits(frac))
}
