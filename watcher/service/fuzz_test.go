package service

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/price"
	"github.com/fabmarket/fabmarket/watcher/rules"
)

// fuzzService is a Service with only what the parsers use (no store, no queue).
func fuzzService() *Service {
	return &Service{cfg: Config{Scale: DefaultScale, Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }}}
}

// FuzzPriceBatch decodes arbitrary bodies of POST /v1/prices (and messages of the NATS tick
// subject) and parses them: never a panic; a refusal is INVALID_ARGUMENT; an accepted tick has
// a valid symbol, a positive price that formats back to the number sent (round trip) and a
// time in UTC.
func FuzzPriceBatch(f *testing.F) {
	for _, s := range []string{`[{"symbol":"ACME","price":"20.30"}]`, `[{"symbol":"ACME","price":20.3,"time":"2025-01-02T15:04:05.123+01:00"}]`,
		`[{"symbol":"ACME","price":"0.000001"}]`, `[{"symbol":"ACME","price":"0.0000001"}]`, `[{"symbol":"ACME","price":"9223372036854.775807"}]`,
		`[{"symbol":"ACME","price":"9223372036854.775808"}]`, `[{"symbol":"ACME","price":"-0"}]`, `[{"symbol":"ACME","price":"1e3"}]`, `[{"symbol":"ACME","price":1e3}]`,
		`[{"symbol":"","price":"1"}]`, `[{"symbol":"ACME","price":null}]`, `[{"symbol":"ACME","price":true}]`, `[{"symbol":"ACME","price":"00012.50"}]`,
		`[{"symbol":"../etc","price":"1"}]`, `[{"symbol":"ACME","price":"1","time":"2025-13-01T00:00:00Z"}]`, `[{"symbol":"ACME","price":"١"}]`} {
		f.Add([]byte(s))
	}
	s := fuzzService()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var reqs []PriceRequest
		if json.Unmarshal(raw, &reqs) != nil {
			return
		}
		ticks, err := s.ParsePrices(reqs)
		if err != nil {
			if CodeOf(err) != CodeInvalidArgument || ticks != nil {
				t.Fatalf("ParsePrices(%s): %v", raw, err)
			}
			return
		}
		if len(ticks) != len(reqs) {
			t.Fatalf("ParsePrices(%s): %d ticks", raw, len(ticks))
		}
		for i, tk := range ticks {
			if !ValidSymbol(tk.Symbol) || tk.Price <= 0 || tk.Time.Location() != time.UTC {
				t.Fatalf("ParsePrices(%s)[%d] = %+v", raw, i, tk)
			}
			back := price.Format(tk.Price, DefaultScale)
			if again, err := price.Parse(back, DefaultScale); err != nil || again != tk.Price {
				t.Fatalf("price %q → %d → %q → %d, %v", reqs[i].Price, tk.Price, back, again, err)
			}
			if trimZeros(back) != trimZeros(string(reqs[i].Price)) {
				t.Fatalf("price %q → %d → %q", reqs[i].Price, tk.Price, back)
			}
		}
	})
}

// trimZeros drops leading zeros of the integer part and trailing zeros of the fraction.
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	s = strings.TrimLeft(s, "0")
	if s == "" || s[0] == '.' {
		s = "0" + s
	}
	return s
}

// FuzzSubscriptionRequest decodes arbitrary bodies of POST /v1/subscriptions and of PUT
// /v1/users/{id}/settings and validates them as the service does: never a panic; a refusal
// is INVALID_ARGUMENT; an accepted subscription has a valid user and symbol, sorted distinct
// thresholds that parse again, known windows and directions, and one trigger per
// threshold × window × direction; accepted settings validate again unchanged.
func FuzzSubscriptionRequest(f *testing.F) {
	for _, s := range []string{
		`{"user":"alice","symbol":"ACME","thresholds":["5",7.5,"7.50"],"windows":["1d","1w","1d"],"directions":["up","down"],"channels":[{"type":"webhook","url":"https://example.com/h","secret":"s"},{"type":"email","to":"a@example.com"},{"type":"stream"},{"type":"apns","token":"t"}]}`,
		`{"user":"alice","symbol":"ACME"}`, `{"user":"a b","symbol":"ACME"}`, `{"user":"alice","symbol":"AC/ME"}`, `{"user":"alice","symbol":"ACME","thresholds":[0]}`,
		`{"user":"alice","symbol":"ACME","thresholds":["10000.01"]}`, `{"user":"alice","symbol":"ACME","thresholds":["5.001"]}`, `{"user":"alice","symbol":"ACME","windows":["1y"]}`,
		`{"user":"alice","symbol":"ACME","channels":[{"type":"webhook","url":"file:///etc/passwd"}]}`, `{"user":"alice","symbol":"ACME","channels":[{"type":"email","to":"Alice <a@b.c>"}]}`,
		`{"user":"` + strings.Repeat("u", 129) + `","symbol":"ACME"}`, `{"user":"\u202ealice","symbol":"ACME"}`,
		`{"channels":[{"type":"email","to":"a@example.com"}],"quietHours":{"start":"22:00","end":"07:00","timeZone":"Europe/Berlin"},"maxPerHour":5}`,
		`{"quietHours":{"start":"25:00","end":"07:00"}}`, `{"quietHours":{"start":"22:00","end":"07:00","timeZone":"../../etc/passwd"}}`, `{"maxPerHour":-1}`,
	} {
		f.Add([]byte(s))
	}
	s := fuzzService()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req SubscriptionRequest
		if json.Unmarshal(raw, &req) == nil {
			sub, trig, err := s.normalize(req)
			if err != nil {
				if CodeOf(err) != CodeInvalidArgument {
					t.Fatalf("normalize(%s): %v", raw, err)
				}
			} else {
				if validUser(sub.User) != nil || !ValidSymbol(sub.Symbol) || len(sub.Thresholds) == 0 || len(sub.Windows) == 0 || len(sub.Directions) == 0 {
					t.Fatalf("normalize(%s) = %+v", raw, sub)
				}
				last := uint32(0)
				for _, th := range sub.Thresholds {
					bp, err := rules.ParseThreshold(th)
					if err != nil || bp <= last {
						t.Fatalf("normalize(%s): thresholds %v", raw, sub.Thresholds)
					}
					last = bp
				}
				if len(trig) != len(sub.Thresholds)*len(sub.Windows)*len(sub.Directions) {
					t.Fatalf("normalize(%s): %d triggers for %+v", raw, len(trig), sub)
				}
				again, _, err := s.normalize(SubscriptionRequest{User: sub.User, Symbol: sub.Symbol, Thresholds: decimals(sub.Thresholds), Windows: sub.Windows, Directions: sub.Directions})
				if err != nil || strings.Join(again.Thresholds, ",") != strings.Join(sub.Thresholds, ",") {
					t.Fatalf("normalize not idempotent on %s: %v", raw, err)
				}
			}
		}
		var spec SettingsSpec
		if json.Unmarshal(raw, &spec) == nil {
			st, err := ParseSettings(spec)
			if err != nil {
				if CodeOf(err) != CodeInvalidArgument {
					t.Fatalf("ParseSettings(%s): %v", raw, err)
				}
				return
			}
			doc, _ := json.Marshal(st.Spec)
			if _, err := DecodeSettings(doc); err != nil {
				t.Fatalf("settings %s accepted but stored %s refused: %v", raw, doc, err)
			}
		}
	})
}

func decimals(ss []string) []Decimal {
	out := make([]Decimal, len(ss))
	for i, s := range ss {
		out[i] = Decimal(s)
	}
	return out
}
