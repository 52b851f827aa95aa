package api

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// FuzzOrderDecoding feeds arbitrary bodies through the strict decoder and the conversion of an
// order: it must never panic, every failure must be a 400 or 422 *Error, and every accepted
// order must have positive integer units that convert back to the decimal strings it came from.
func FuzzOrderDecoding(f *testing.F) {
	for _, s := range []string{
		goodOrder,
		order(`"LIMIT"`, `"MARKET"`, `,"price":"20.30"`, `,"maxNotional":"1000.00"`),
		order(`"LIMIT"`, `"STOP_LIMIT"`, `"side"`, `"stopPrice":"20.00","timeInForce":"GTT","expireTime":"2999-01-01T00:00:00Z","side"`),
		`{"quantity":"1e9"}`, `{"quantity":5}`, `[]`, `{"a":1}`, ``, `{"price":"0.000000000000000000000000000000000001"}`,
		order(`"5"`, `"99999999999999999999"`), order(`"20.30"`, `"20.305"`),
	} {
		f.Add([]byte(s))
	}
	ins := Instrument{Symbol: "ACME", Currency: "USD", TickSize: "0.05", LotSize: "10"}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var b orderBody
		err := decodeStrict(raw, &b)
		if err == nil {
			var o OrderRequest
			if o, err = orderRequest(b, ins, now); err == nil {
				if o.Quantity <= 0 || o.Price < 0 || o.StopPrice < 0 || o.MaxNotional < 0 {
					t.Fatalf("accepted %+v from %q", o, raw)
				}
				if q := ins.Qty(o.Quantity); !sameDecimal(q, b.Quantity) {
					t.Fatalf("quantity %q → %d lots → %q", b.Quantity, o.Quantity, q)
				}
				if o.Price > 0 && !sameDecimal(ins.Price(o.Price), b.Price) {
					t.Fatalf("price %q → %d ticks → %q", b.Price, o.Price, ins.Price(o.Price))
				}
				return
			}
		}
		var e *Error
		if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusUnprocessableEntity) || e.Message == "" {
			t.Fatalf("error %v (%T) for %q", err, err, raw)
		}
	})
}

// sameDecimal compares two decimal strings numerically by trimming trailing zeros.
func sameDecimal(a, b string) bool { return trimDec(a) == trimDec(b) }

func trimDec(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			for len(s) > 0 && s[len(s)-1] == '0' {
				s = s[:len(s)-1]
			}
			s = trimSuffixDot(s)
			break
		}
	}
	for len(s) > 1 && s[0] == '0' && s[1] != '.' {
		s = s[1:]
	}
	return s
}

func trimSuffixDot(s string) string {
	if len(s) > 0 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}
