package settle

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseHashlock checks that the hashlock decoder never panics, accepts exactly the
// 64-hex-character strings, and normalises them to lowercase idempotently.
func FuzzParseHashlock(f *testing.F) {
	for _, s := range []string{hashlock, strings.ToUpper(hashlock), "", "0x" + hashlock, hashlock[:63], hashlock + "0", strings.Repeat("é", 32), strings.Repeat("\x00", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseHashlock(s)
		_, decErr := hex.DecodeString(s)
		valid := len(s) == 64 && decErr == nil
		if valid != (err == nil) {
			t.Fatalf("ParseHashlock(%q) error %v, but hex validity is %t", s, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrBadHashlock) || got != "" {
				t.Fatalf("ParseHashlock(%q) = %q, %v", s, got, err)
			}
			return
		}
		if got != strings.ToLower(s) {
			t.Fatalf("ParseHashlock(%q) = %q, not the lowercase input", s, got)
		}
		if again, err := ParseHashlock(got); err != nil || again != got {
			t.Fatalf("not idempotent on %q", got)
		}
	})
}

// FuzzPreimageClaim checks that the preimage decoder never panics, accepts exactly the
// 64-hex-character strings, and that a Claim succeeds exactly when the decoded preimage hashes
// to the hashlock of the lock, revealing it in lowercase.
func FuzzPreimageClaim(f *testing.F) {
	for _, s := range []string{secret, strings.ToUpper(secret), otherPre, "", secret[:63], secret + "00", "zz" + secret[2:]} {
		f.Add(s, secret)
	}
	f.Add(secret, otherPre)
	f.Fuzz(func(t *testing.T, pre, lockPre string) {
		b, err := ParsePreimage(pre)
		_, decErr := hex.DecodeString(pre)
		valid := len(pre) == 64 && decErr == nil
		if valid != (err == nil) {
			t.Fatalf("ParsePreimage(%q) error %v, but hex validity is %t", pre, err, valid)
		}
		if err == nil && (len(b) != PreimageSize || hex.EncodeToString(b) != strings.ToLower(pre)) {
			t.Fatalf("ParsePreimage(%q) = %x", pre, b)
		}
		if err != nil && !errors.Is(err, ErrBadPreimage) {
			t.Fatalf("ParsePreimage(%q) error %v", pre, err)
		}
		lockBytes, lerr := ParsePreimage(lockPre)
		if lerr != nil {
			return
		}
		lt := baseLock()
		lt.Hashlock = HashlockOf(lockBytes)
		h, _, err2 := Lock(sellerOrg, t0, lt)
		if err2 != nil {
			t.Fatal(err2)
		}
		c, ms, cerr := h.Claim(buyerOrg, t0.Add(time.Minute), pre)
		switch {
		case err != nil:
			if !errors.Is(cerr, ErrBadPreimage) {
				t.Fatalf("Claim with malformed %q: %v", pre, cerr)
			}
		case strings.EqualFold(pre, lockPre):
			if cerr != nil || c.Preimage != strings.ToLower(lockPre) || len(ms) != 1 {
				t.Fatalf("Claim with the right preimage: %v", cerr)
			}
		default:
			// Different 32-byte preimages: a SHA-256 collision would be news.
			if !errors.Is(cerr, ErrPreimageMismatch) || ms != nil {
				t.Fatalf("Claim with a wrong preimage %q: %v", pre, cerr)
			}
		}
	})
}
