package api

import (
	"strings"
	"testing"
)

// TestUnknownFieldEchoIsBounded: the fuzz finding of ci21. An unknown field of invalid UTF-8
// bytes came back in the error message at six times its size.
func TestUnknownFieldEchoIsBounded(t *testing.T) {
	var b orderBody
	err := decodeStrict([]byte(`{"`+strings.Repeat("\xed", 700)+`":1}`), &b)
	if e := asError(err); e == nil || e.Code != CodeInvalidArgument || len(e.Message) > 120 {
		t.Fatalf("unknown invalid-UTF-8 field: %v", err)
	}
}
