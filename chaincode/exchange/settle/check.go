package settle

import (
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxIDLen bounds every identifier (agreement and HTLC ids, accounts, orgs, symbols,
// currencies), in bytes.
const MaxIDLen = 128

// MaxTextLen bounds free text such as a cancellation reason, in bytes.
const MaxTextLen = 256

// RegulatorOrg is the MSP ID of the Regulator, which may read every agreement and HTLC.
const RegulatorOrg = "RegulatorMSP"

// mul returns a*b for non-negative a and b, or ErrOverflow.
func mul(a, b int64) (int64, error) {
	if a < 0 || b < 0 {
		return 0, fmt.Errorf("%w: negative factor %d × %d", ErrInvalidArgument, a, b)
	}
	if a != 0 && b > math.MaxInt64/a {
		return 0, fmt.Errorf("%w: %d × %d", ErrOverflow, a, b)
	}
	return a * b, nil
}

// add returns a+b for non-negative a and b, or ErrOverflow.
func add(a, b int64) (int64, error) {
	if a < 0 || b < 0 {
		return 0, fmt.Errorf("%w: negative term %d + %d", ErrInvalidArgument, a, b)
	}
	if a > math.MaxInt64-b {
		return 0, fmt.Errorf("%w: %d + %d", ErrOverflow, a, b)
	}
	return a + b, nil
}

// checkID accepts 1..MaxIDLen bytes of valid UTF-8 made of graphic, non-space characters. This
// keeps ids safe inside Fabric composite keys (no U+0000, no U+10FFFF) and in log lines.
func checkID(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidArgument, what)
	}
	if len(s) > MaxIDLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidArgument, what, MaxIDLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidArgument, what)
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %s contains character %U", ErrInvalidArgument, what, r)
		}
	}
	return nil
}

// checkText accepts up to MaxTextLen bytes of valid UTF-8 without control characters.
func checkText(what, s string) error {
	if len(s) > MaxTextLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidArgument, what, MaxTextLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidArgument, what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains control character %U", ErrInvalidArgument, what, r)
		}
	}
	return nil
}

// checkParty validates both fields of a party.
func checkParty(what string, p Party) error {
	if err := checkID(what+" account", p.Account); err != nil {
		return err
	}
	return checkID(what+" org", p.Org)
}

// checkCaller validates the caller org and the transaction time common to every operation.
func checkCaller(callerOrg string, now time.Time) error {
	if err := checkID("caller org", callerOrg); err != nil {
		return err
	}
	if now.IsZero() {
		return fmt.Errorf("%w: transaction time is zero", ErrInvalidArgument)
	}
	return nil
}

// stamp is the canonical form of a time stored by this package: UTC, no monotonic reading.
func stamp(t time.Time) time.Time { return t.UTC() }
