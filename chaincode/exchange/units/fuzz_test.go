package units

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// decimalRE is the documented syntax: unsigned digits with at most one '.', a digit on both
// sides of it.
var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// canonical renders the decimal string s with exactly dec decimals and no leading zeros
// (s must be exact at dec decimals): the form FromUnits produces.
func canonical(s string, dec int) string {
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if dec == 0 {
		return intPart
	}
	return intPart + "." + frac + strings.Repeat("0", dec-len(frac))
}

func decimalsOf(unit string) int {
	_, frac, _ := strings.Cut(unit, ".")
	return len(frac)
}

var seedsDecimals = []string{"20.30", "0.01", "1", "0", "000", "00012.500", "1.5", ".5", "5.", "-1", "+1", "1e3", " 1", "1,000", "1.2.3",
	"9223372036854775807", "9223372036854775808", "92233720368547758.07", strings.Repeat("9", 36), strings.Repeat("9", 37),
	"0." + strings.Repeat("0", 34) + "1", "١٢", "1\x00", "NaN", "Inf", "0x10", "1_000"}

// FuzzDecimalRoundTrip checks ToUnits against an independent big.Rat model: it accepts exactly
// the documented syntax (at most MaxDigits digits) when the value is a whole number of units
// that fits an int64, with the documented error otherwise, and format(parse(x)) is the
// canonical spelling of x at the unit's decimals; parse(format(n)) == n.
func FuzzDecimalRoundTrip(f *testing.F) {
	for _, v := range seedsDecimals {
		for _, u := range []string{"0.01", "1", "0.05", "100", "0.001", "0", "-1", "abc"} {
			f.Add(v, u)
		}
	}
	f.Fuzz(func(t *testing.T, v, u string) {
		n, err := ToUnits(v, u)
		uOK := decimalRE.MatchString(u) && len(strings.ReplaceAll(u, ".", "")) <= MaxDigits
		vOK := decimalRE.MatchString(v) && len(strings.ReplaceAll(v, ".", "")) <= MaxDigits
		if !vOK || !uOK {
			if err == nil || !errors.Is(err, ErrSyntax) {
				t.Fatalf("ToUnits(%q, %q) = %d, %v; want a syntax error", v, u, n, err)
			}
			return
		}
		vr, _ := new(big.Rat).SetString(v)
		ur, _ := new(big.Rat).SetString(u)
		if ur.Sign() == 0 {
			if !errors.Is(err, ErrRange) {
				t.Fatalf("ToUnits(%q, zero unit %q) = %d, %v", v, u, n, err)
			}
			return
		}
		q := new(big.Rat).Quo(vr, ur)
		switch {
		case !q.IsInt():
			if !errors.Is(err, ErrNotMultiple) {
				t.Fatalf("ToUnits(%q, %q) = %d, %v; want ErrNotMultiple", v, u, n, err)
			}
			return
		case !q.Num().IsInt64():
			if !errors.Is(err, ErrRange) {
				t.Fatalf("ToUnits(%q, %q) = %d, %v; want ErrRange", v, u, n, err)
			}
			return
		case err != nil || n != q.Num().Int64():
			t.Fatalf("ToUnits(%q, %q) = %d, %v; want %s", v, u, n, err, q.Num())
		}
		back, err := FromUnits(n, u)
		if err != nil {
			t.Fatalf("FromUnits(%d, %q): %v", n, u, err)
		}
		// v may have more decimals than u (trailing zeros, or u = "0.05" and v = "0.10"): the
		// canonical form of v is at u's decimals when v is exact there.
		if d := decimalsOf(u); new(big.Rat).Mul(vr, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil))).IsInt() {
			if want := canonical(v, d); back != want {
				t.Fatalf("FromUnits(ToUnits(%q, %q)) = %q; want %q", v, u, back, want)
			}
		}
		if m, err := ToUnits(back, u); err != nil || m != n {
			t.Fatalf("ToUnits(FromUnits(%d, %q) = %q) = %d, %v", n, u, back, m, err)
		}
	})
}

// FuzzMinorUnits checks cash conversions in every currency: no panic; MinorUnits accepts a
// decimal with at most the currency's decimals and FormatMinor gives its canonical spelling;
// FormatMinor(n) parses back to n for every non-negative int64; unknown currencies are
// ErrCurrency.
func FuzzMinorUnits(f *testing.F) {
	for _, v := range seedsDecimals {
		for _, c := range []string{"USD", "JPY", "EUR", "usd", "", "XXX"} {
			f.Add(v, c, int64(len(v)))
		}
	}
	f.Add("1", "GBP", int64(math.MaxInt64))
	f.Add("1", "CHF", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, v, cur string, n int64) {
		d, derr := Decimals(cur)
		m, err := MinorUnits(v, cur)
		if derr != nil {
			if !errors.Is(err, ErrCurrency) || !errors.Is(derr, ErrCurrency) || IsCurrency(cur) {
				t.Fatalf("MinorUnits(%q, unknown %q) = %d, %v", v, cur, m, err)
			}
			if _, err := FormatMinor(n, cur); !errors.Is(err, ErrCurrency) {
				t.Fatalf("FormatMinor(%d, unknown %q): %v", n, cur, err)
			}
			return
		}
		if err == nil {
			s, err := FormatMinor(m, cur)
			if err != nil || s != canonical(v, d) {
				t.Fatalf("FormatMinor(MinorUnits(%q, %s) = %d) = %q, %v; want %q", v, cur, m, s, err, canonical(v, d))
			}
		}
		if n < 0 {
			return
		}
		s, err := FormatMinor(n, cur)
		if err != nil {
			t.Fatalf("FormatMinor(%d, %s): %v", n, cur, err)
		}
		if back, err := MinorUnits(s, cur); err != nil || back != n {
			t.Fatalf("MinorUnits(FormatMinor(%d, %s) = %q) = %d, %v", n, cur, s, back, err)
		}
	})
}

// FuzzCashPerLotTick checks the listing arithmetic: no panic, and an accepted instrument has a
// positive integer tick × lot × 10^decimals exactly.
func FuzzCashPerLotTick(f *testing.F) {
	for _, s := range [][3]string{{"0.01", "1", "USD"}, {"0.05", "10", "EUR"}, {"0.001", "1", "USD"}, {"1", "1", "JPY"}, {"0.5", "1", "JPY"},
		{"0", "1", "USD"}, {"9999999999999999999", "9999999999", "USD"}, {"0.01", "100", "XXX"}, {"1e2", "1", "USD"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, tick, lot, cur string) {
		n, err := CashPerLotTick(tick, lot, cur)
		if err != nil {
			if n != 0 || !(errors.Is(err, ErrSyntax) || errors.Is(err, ErrRange) || errors.Is(err, ErrNotMultiple) || errors.Is(err, ErrCurrency)) {
				t.Fatalf("CashPerLotTick(%q, %q, %q) = %d, %v", tick, lot, cur, n, err)
			}
			return
		}
		d, _ := Decimals(cur)
		tr, ok1 := new(big.Rat).SetString(tick)
		lr, ok2 := new(big.Rat).SetString(lot)
		if !ok1 || !ok2 || ParseUnit(tick) != nil || ParseUnit(lot) != nil {
			t.Fatalf("CashPerLotTick accepted %q, %q", tick, lot)
		}
		want := new(big.Rat).Mul(new(big.Rat).Mul(tr, lr), new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)))
		if n <= 0 || !want.IsInt() || want.Num().Int64() != n {
			t.Fatalf("CashPerLotTick(%q, %q, %s) = %d; want %s", tick, lot, cur, n, want.RatString())
		}
	})
}
