package textclip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short stays", "customerRef", 80, "customerRef"},
		{"exactly the bound", strings.Repeat("a", 80), 80, strings.Repeat("a", 80)},
		{"long ASCII", strings.Repeat("a", 500), 80, strings.Repeat("a", 80) + "…"},
		{"cut on a rune boundary", strings.Repeat("é", 60), 81, strings.Repeat("é", 40) + "…"},
		{"invalid UTF-8 kept whole bytes", strings.Repeat("\xed", 10), 4, strings.Repeat("\xed", 4) + "…"},
		{"zero", "abc", 0, "…"},
		{"negative", "abc", -1, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clip(tt.in, tt.n)
			if got != tt.want {
				t.Fatalf("Clip(%q, %d) = %q; want %q", tt.in, tt.n, got, tt.want)
			}
			if utf8.ValidString(tt.in) && !utf8.ValidString(got) {
				t.Fatalf("Clip broke a rune: %q", got)
			}
		})
	}
}
