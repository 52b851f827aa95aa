package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/units"
	"github.com/fabmarket/fabmarket/internal/textclip"
	"github.com/gin-gonic/gin"
)

// decodeJSON reads the request body into v strictly: one JSON object, no unknown fields, no
// trailing data, the body size bounded by limitBody. Errors are *Error (400 or 413). The
// Content-Type is not checked: the body is JSON whatever the client calls it.
func decodeJSON(c *gin.Context, v any) error {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return NewError(CodeTooLarge, "request body larger than %d bytes", mb.Limit)
		}
		return NewError(CodeInvalidArgument, "cannot read the request body: %v", err)
	}
	return decodeStrict(raw, v)
}

// decodeStrict decodes one JSON object from raw into v; see decodeJSON.
func decodeStrict(raw []byte, v any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return NewError(CodeInvalidArgument, "malformed JSON: the request body is empty")
	}
	if trimmed[0] != '{' {
		return NewError(CodeInvalidArgument, "malformed JSON: the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return NewError(CodeInvalidArgument, "malformed JSON: data after the object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return NewError(CodeInvalidArgument, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return NewError(CodeInvalidArgument, "field %s: must be a JSON %s, not %s", textclip.Clip(field, maxEcho), kindOf(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return NewError(CodeInvalidArgument, "malformed JSON: unexpected end of the body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return NewError(CodeInvalidArgument, "unknown field %s", textclip.Clip(strings.TrimPrefix(err.Error(), "json: unknown field "), maxEcho))
	}
	return NewError(CodeInvalidArgument, "malformed JSON: %v", err)
}

// maxEcho bounds the client's text (a field name) an error message repeats.
const maxEcho = 80

func kindOf(k string) string {
	if k == "struct" || k == "map" {
		return "object"
	}
	return k
}

// Field formats: identifiers are short printable ASCII without spaces or slashes.
var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$`)
	symbolRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9._-]{0,15}$`)
	txIDRE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func checkID(field, v string) error {
	if v == "" {
		return NewError(CodeInvalidArgument, "field %s: required", field)
	}
	if !idRE.MatchString(v) {
		return NewError(CodeInvalidArgument, "field %s: must be 1-64 characters of A-Z a-z 0-9 . _ : @ - starting with a letter or digit", field)
	}
	return nil
}

func checkSymbol(field, v string) error {
	if v == "" {
		return NewError(CodeInvalidArgument, "field %s: required", field)
	}
	if !symbolRE.MatchString(v) {
		return NewError(CodeInvalidArgument, "field %s: must be 1-16 characters of A-Z 0-9 . _ -", field)
	}
	return nil
}

// unitsError turns a units conversion error for field into a 400 (syntax, range) or a 422
// (not a whole number of ticks or lots: a business rule of the instrument).
func unitsError(field, what string, err error) error {
	switch {
	case errors.Is(err, units.ErrNotMultiple):
		code := CodeInvalidLot
		if what == "tick" {
			code = CodeInvalidTick
		}
		return NewError(code, "field %s: not a multiple of the %s size", field, what)
	case errors.Is(err, units.ErrRange):
		return NewError(CodeInvalidArgument, "field %s: out of range", field)
	}
	return NewError(CodeInvalidArgument, "field %s: must be an unsigned decimal string such as \"12.5\"", field)
}

// positive converts a required positive decimal string in multiples of unit.
func positive(field, v, unit, what string) (int64, error) {
	if v == "" {
		return 0, NewError(CodeInvalidArgument, "field %s: required", field)
	}
	n, err := units.ToUnits(v, unit)
	if err != nil {
		return 0, unitsError(field, what, err)
	}
	if n <= 0 {
		return 0, NewError(CodeInvalidArgument, "field %s: must be positive", field)
	}
	return n, nil
}

// cash converts a required positive amount of currency to minor units.
func cash(field, v, currency string) (int64, error) {
	if v == "" {
		return 0, NewError(CodeInvalidArgument, "field %s: required", field)
	}
	d, err := units.Decimals(currency)
	if err != nil {
		return 0, NewError(CodeInvalidArgument, "field %s: %v", field, err)
	}
	n, err := units.MinorUnits(v, currency)
	if err != nil {
		if errors.Is(err, units.ErrNotMultiple) {
			return 0, NewError(CodeInvalidArgument, "field %s: %s has %d decimals", field, currency, d)
		}
		return 0, unitsError(field, "", err)
	}
	if n <= 0 {
		return 0, NewError(CodeInvalidArgument, "field %s: must be positive", field)
	}
	return n, nil
}

// fmtUnits renders n units of unit; the unit strings come from the ledger and are valid.
func fmtUnits(n int64, unit string) string {
	s, err := units.FromUnits(n, unit)
	if err != nil {
		return fmt.Sprint(n)
	}
	return s
}

func fmtCash(minor int64, currency string) string {
	s, err := units.FormatMinor(minor, currency)
	if err != nil {
		return fmt.Sprint(minor)
	}
	return s
}

// averagePrice renders notional/qty ticks as a price: exact up to the tick's decimals plus 6.
func averagePrice(notional, qty int64, tick string) string {
	if qty <= 0 {
		return ""
	}
	t, ok := new(big.Rat).SetString(tick)
	if !ok {
		return ""
	}
	p := new(big.Rat).Mul(new(big.Rat).SetFrac64(notional, qty), t)
	_, frac, _ := strings.Cut(tick, ".")
	s := p.FloatString(len(frac) + 6)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		if _, f, _ := strings.Cut(s, "."); len(f) < len(frac) {
			s += strings.Repeat("0", len(frac)-len(f))
		}
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// instrumentCache remembers instruments, which never change once listed.
type instrumentCache struct {
	ledger Ledger
	mu     sync.Mutex
	m      map[string]Instrument
}

func newInstrumentCache(l Ledger) *instrumentCache {
	return &instrumentCache{ledger: l, m: map[string]Instrument{}}
}

func (c *instrumentCache) get(ctx context.Context, symbol string) (Instrument, error) {
	c.mu.Lock()
	in, ok := c.m[symbol]
	c.mu.Unlock()
	if ok {
		return in, nil
	}
	in, err := c.ledger.Instrument(ctx, symbol)
	if err != nil {
		return Instrument{}, err
	}
	c.mu.Lock()
	c.m[symbol] = in
	c.mu.Unlock()
	return in, nil
}

// rfc3339 parses an RFC 3339 time.
func rfc3339(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, NewError(CodeInvalidArgument, "field %s: must be an RFC 3339 time such as 2025-01-02T15:04:05Z", field)
	}
	return t.UTC(), nil
}
