package porting

import (
	"errors"
	"time"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

// at parses an RFC 3339 time for tests.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
