package units

import (
	"errors"
	"testing"
)

func TestToUnits(t *testing.T) {
	tests := []struct {
		value, unit string
		want        int64
		err         error
	}{
		{"20.30", "0.01", 2030, nil},
		{"20.3", "0.01", 2030, nil},
		{"0", "0.01", 0, nil},
		{"700", "100", 7, nil},
		{"20.305", "0.01", 0, ErrNotMultiple},
		{"150", "100", 0, ErrNotMultiple},
		{"-1", "1", 0, ErrSyntax},
		{"1e3", "1", 0, ErrSyntax},
		{".5", "0.1", 0, ErrSyntax},
		{"5.", "0.1", 0, ErrSyntax},
		{"", "1", 0, ErrSyntax},
		{" 1", "1", 0, ErrSyntax},
		{"1.2.3", "1", 0, ErrSyntax},
		{"1", "0", 0, ErrRange},
		{"9223372036854775808", "1", 0, ErrRange},
		{"9223372036854775807", "1", 9223372036854775807, nil},
		{"1234567890123456789012345678901234567", "1", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ToUnits(tt.value, tt.unit)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ToUnits(%q, %q) = %d, %v; want %d, %v", tt.value, tt.unit, got, err, tt.want, tt.err)
		}
	}
}

func TestFromUnits(t *testing.T) {
	tests := []struct {
		n    int64
		unit string
		want string
	}{
		{2030, "0.01", "20.30"},
		{7, "100", "700"},
		{5, "0.5", "2.5"},
		{-3, "0.01", "-0.03"},
		{0, "0.001", "0.000"},
	}
	for _, tt := range tests {
		got, err := FromUnits(tt.n, tt.unit)
		if err != nil || got != tt.want {
			t.Errorf("FromUnits(%d, %q) = %q, %v; want %q", tt.n, tt.unit, got, err, tt.want)
		}
	}
	if _, err := FromUnits(1, "x"); !errors.Is(err, ErrSyntax) {
		t.Errorf("bad unit: %v", err)
	}
}

func TestCurrencies(t *testing.T) {
	for _, c := range Currencies() {
		if !IsCurrency(c) {
			t.Errorf("%s listed but unknown", c)
		}
	}
	if d, err := Decimals("JPY"); d != 0 || err != nil {
		t.Errorf("JPY: %d, %v", d, err)
	}
	if _, err := Decimals("XYZ"); !errors.Is(err, ErrCurrency) {
		t.Errorf("XYZ: %v", err)
	}
	if n, err := MinorUnits("12.34", "USD"); n != 1234 || err != nil {
		t.Errorf("MinorUnits USD: %d, %v", n, err)
	}
	if _, err := MinorUnits("12.5", "JPY"); !errors.Is(err, ErrNotMultiple) {
		t.Errorf("MinorUnits JPY fraction: %v", err)
	}
	if s, err := FormatMinor(1234, "EUR"); s != "12.34" || err != nil {
		t.Errorf("FormatMinor: %q, %v", s, err)
	}
	if s, err := FormatMinor(1234, "JPY"); s != "1234" || err != nil {
		t.Errorf("FormatMinor JPY: %q, %v", s, err)
	}
	if _, err := FormatMinor(1, "XYZ"); !errors.Is(err, ErrCurrency) {
		t.Errorf("FormatMinor XYZ: %v", err)
	}
	if _, err := MinorUnits("1", "XYZ"); !errors.Is(err, ErrCurrency) {
		t.Errorf("MinorUnits XYZ: %v", err)
	}
}

func TestCashPerLotTick(t *testing.T) {
	tests := []struct {
		tick, lot, cur string
		want           int64
		err            error
	}{
		{"0.01", "1", "USD", 1, nil},
		{"0.01", "100", "USD", 100, nil},
		{"0.05", "10", "EUR", 50, nil},
		{"1", "1", "JPY", 1, nil},
		{"0.001", "1", "USD", 0, ErrNotMultiple},
		{"0.1", "1", "JPY", 0, ErrNotMultiple},
		{"0.001", "10", "USD", 1, nil},
		{"0", "1", "USD", 0, ErrRange},
		{"0.01", "x", "USD", 0, ErrSyntax},
		{"x", "1", "USD", 0, ErrSyntax},
		{"0.01", "1", "XYZ", 0, ErrCurrency},
		{"100000000000000000000", "1", "USD", 0, ErrRange},
	}
	for _, tt := range tests {
		got, err := CashPerLotTick(tt.tick, tt.lot, tt.cur)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("CashPerLotTick(%q, %q, %q) = %d, %v; want %d, %v", tt.tick, tt.lot, tt.cur, got, err, tt.want, tt.err)
		}
	}
}

func TestParseUnit(t *testing.T) {
	if err := ParseUnit("0.01"); err != nil {
		t.Error(err)
	}
	if err := ParseUnit("0.00"); !errors.Is(err, ErrRange) {
		t.Errorf("zero unit: %v", err)
	}
	if err := ParseUnit("a"); !errors.Is(err, ErrSyntax) {
		t.Errorf("bad unit: %v", err)
	}
}

func FuzzToUnits(f *testing.F) {
	f.Add("20.30", "0.01")
	f.Add("1", "0.5")
	f.Fuzz(func(t *testing.T, v, u string) {
		n, err := ToUnits(v, u)
		if err != nil {
			return
		}
		back, err := FromUnits(n, u)
		if err != nil {
			t.Fatalf("FromUnits(%d, %q): %v", n, u, err)
		}
		m, err := ToUnits(back, u)
		if err != nil || m != n {
			t.Fatalf("round trip %q/%q -> %d -> %q -> %d, %v", v, u, n, back, m, err)
		}
	})
}
