// Package units converts between the decimal strings of the REST API and the integer units of
// the exchange chaincode, exactly: prices in ticks, quantities in lots, cash in minor units of
// an ISO 4217 currency. Nothing is ever rounded; a value that is not a whole number of units is
// an error. The package is pure (standard library only), deterministic and never panics, so the
// chaincode and the gateway can share it.
//
// Decimal strings are unsigned: digits with at most one '.', at least one digit before it
// (".5" is refused) and at most [MaxDigits] digits in total. No sign, exponent, spaces or
// separators.
package units

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// MaxDigits bounds the digits of a decimal string.
const MaxDigits = 36

// Errors. Detailed errors wrap them; test with errors.Is.
var (
	// ErrSyntax reports a string that is not an unsigned decimal number.
	ErrSyntax = errors.New("units: not an unsigned decimal number")
	// ErrNotMultiple reports a value that is not a whole number of units.
	ErrNotMultiple = errors.New("units: not a whole number of units")
	// ErrRange reports a value that is zero where a positive one is needed, or too large for
	// an int64.
	ErrRange = errors.New("units: out of range")
	// ErrCurrency reports a currency code missing from the table.
	ErrCurrency = errors.New("units: unknown currency")
)

// currencies is the ISO 4217 table of supported currencies: code → minor-unit decimals.
var currencies = map[string]int{
	"CHF": 2,
	"EUR": 2,
	"GBP": 2,
	"JPY": 0,
	"USD": 2,
}

// Currencies returns the supported ISO 4217 codes in ascending order.
func Currencies() []string {
	return []string{"CHF", "EUR", "GBP", "JPY", "USD"}
}

// Decimals returns the number of minor-unit decimals of an ISO 4217 currency (2 for USD, 0 for
// JPY), or an error wrapping ErrCurrency.
func Decimals(currency string) (int, error) {
	d, ok := currencies[currency]
	if !ok {
		return 0, fmt.Errorf("%w: %q (supported: %s)", ErrCurrency, currency, strings.Join(Currencies(), ", "))
	}
	return d, nil
}

// IsCurrency reports whether code is a supported currency.
func IsCurrency(code string) bool {
	_, ok := currencies[code]
	return ok
}

// parse returns s as an exact rational number.
func parse(s string) (*big.Rat, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrSyntax)
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return nil, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	if len(intPart)+len(frac) > MaxDigits {
		return nil, fmt.Errorf("%w: %q has more than %d digits", ErrSyntax, s, MaxDigits)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return nil, fmt.Errorf("%w: %q", ErrSyntax, s)
			}
		}
	}
	num, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	return new(big.Rat).SetFrac(num, den), nil
}

// ParseUnit parses a positive decimal unit such as a tick size ("0.01") or a lot size ("1").
func ParseUnit(s string) error {
	r, err := parse(s)
	if err != nil {
		return err
	}
	if r.Sign() <= 0 {
		return fmt.Errorf("%w: %q must be positive", ErrRange, s)
	}
	return nil
}

// toInt64 returns r as an int64 when it is an integer that fits.
func toInt64(r *big.Rat, what string) (int64, error) {
	if !r.IsInt() {
		return 0, fmt.Errorf("%w: %s", ErrNotMultiple, what)
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, fmt.Errorf("%w: %s exceeds %d", ErrRange, what, int64(math.MaxInt64))
	}
	return n.Int64(), nil
}

// ToUnits converts the decimal value to a whole number of unit (both decimal strings): the price
// "20.30" with tick "0.01" is 2030 ticks. The value must be an exact multiple of unit; zero is
// allowed (callers that need a positive value check it).
func ToUnits(value, unit string) (int64, error) {
	v, err := parse(value)
	if err != nil {
		return 0, err
	}
	u, err := parse(unit)
	if err != nil {
		return 0, fmt.Errorf("unit: %w", err)
	}
	if u.Sign() <= 0 {
		return 0, fmt.Errorf("%w: unit %q must be positive", ErrRange, unit)
	}
	return toInt64(new(big.Rat).Quo(v, u), fmt.Sprintf("%s / %s", value, unit))
}

// FromUnits renders n units of unit as a decimal string with exactly as many decimals as unit
// has: 2030 ticks of "0.01" is "20.30", 7 lots of "100" is "700". Negative n gets a leading '-'.
func FromUnits(n int64, unit string) (string, error) {
	u, err := parse(unit)
	if err != nil {
		return "", fmt.Errorf("unit: %w", err)
	}
	_, frac, _ := strings.Cut(unit, ".")
	return new(big.Rat).Mul(new(big.Rat).SetInt64(n), u).FloatString(len(frac)), nil
}

// MinorUnits converts a cash amount such as "12.34" to minor units of currency (1234 cents).
func MinorUnits(amount, currency string) (int64, error) {
	d, err := Decimals(currency)
	if err != nil {
		return 0, err
	}
	return ToUnits(amount, minorUnit(d))
}

// FormatMinor renders minor units of currency as a decimal string ("12.34").
func FormatMinor(minor int64, currency string) (string, error) {
	d, err := Decimals(currency)
	if err != nil {
		return "", err
	}
	return FromUnits(minor, minorUnit(d))
}

// minorUnit returns the decimal string of one minor unit with d decimals ("0.01" for 2).
func minorUnit(d int) string {
	if d == 0 {
		return "1"
	}
	return "0." + strings.Repeat("0", d-1) + "1"
}

// CashPerLotTick returns how many minor units of currency one lot costs per tick of price:
// tickSize × lotSize × 10^decimals. It fails with ErrNotMultiple when that is not a whole number
// (the instrument cannot be listed in that currency without rounding) and with ErrRange when
// it is not a positive int64.
func CashPerLotTick(tickSize, lotSize, currency string) (int64, error) {
	d, err := Decimals(currency)
	if err != nil {
		return 0, err
	}
	t, err := parse(tickSize)
	if err != nil {
		return 0, fmt.Errorf("tickSize: %w", err)
	}
	l, err := parse(lotSize)
	if err != nil {
		return 0, fmt.Errorf("lotSize: %w", err)
	}
	if t.Sign() <= 0 || l.Sign() <= 0 {
		return 0, fmt.Errorf("%w: tickSize and lotSize must be positive", ErrRange)
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil))
	v := new(big.Rat).Mul(new(big.Rat).Mul(t, l), scale)
	n, err := toInt64(v, fmt.Sprintf("tick %s × lot %s in minor units of %s (%s)", tickSize, lotSize, currency, v.RatString()))
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, fmt.Errorf("%w: cash per lot and tick is zero", ErrRange)
	}
	return n, nil
}
