package api

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipEcho(t *testing.T) {
	long := strings.Repeat("é", 60) // 120 bytes, 2 per rune
	tests := []struct {
		name, in string
		want     int // length in bytes of the result
	}{
		{"short stays", "customerRef", len("customerRef")},
		{"exactly the bound", strings.Repeat("a", maxEcho), maxEcho},
		{"long ASCII", strings.Repeat("a", 500), maxEcho + len("…")},
		{"cut on a rune boundary", long, maxEcho + len("…")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clipEcho(tt.in)
			if len(got) != tt.want || !utf8.ValidString(got) {
				t.Fatalf("clipEcho = %q (%d bytes); want %d valid bytes", got, len(got), tt.want)
			}
		})
	}
	// The fuzz finding: an unknown field of invalid UTF-8 bytes no longer comes back at six
	// times its size.
	var b orderBody
	err := decodeStrict([]byte(`{"`+strings.Repeat("\xed", 700)+`":1}`), &b)
	if e := asError(err); e == nil || e.Code != CodeInvalidArgument || len(e.Message) > 120 {
		t.Fatalf("unknown invalid-UTF-8 field: %v", err)
	}
}
