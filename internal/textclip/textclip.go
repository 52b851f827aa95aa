// Package textclip bounds the client text an error message repeats. encoding/json quotes a
// field name with every invalid UTF-8 byte as a 6-character escape, so an unbounded echo can be
// several times the size of the request that caused it.
package textclip

import "unicode/utf8"

// Clip returns s cut to at most n bytes on a rune boundary, with "…" appended when it was
// longer.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
