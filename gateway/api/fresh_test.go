package api

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// TestMain runs the handler tests without readFresh's waits (their fake ledger answers at
// once); TestReadFresh sets its own.
func TestMain(m *testing.M) {
	staleReadDelays = nil
	os.Exit(m.Run())
}

func TestReadFresh(t *testing.T) {
	defer func(d []time.Duration) { staleReadDelays = d }(staleReadDelays)
	staleReadDelays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	notFound := NewError(CodeNotFound, "settlement x does not exist")
	other := errors.New("peer unreachable")
	for _, tc := range []struct {
		name      string
		answers   []error // one per read; the last repeats
		wantReads int
		wantErr   error
	}{
		{"found at once", []error{nil}, 1, nil},
		{"found on the third read", []error{notFound, notFound, nil}, 3, nil},
		{"never found", []error{notFound}, 4, notFound},
		{"another error is not waited for", []error{other}, 1, other},
		{"another error after a miss", []error{notFound, other}, 2, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads, v := 0, 0
			err := readFresh(context.Background(), func() error {
				e := tc.answers[min(reads, len(tc.answers)-1)]
				reads++
				if e != nil {
					return e
				}
				v = 7
				return nil
			})
			if reads != tc.wantReads || !errors.Is(err, tc.wantErr) || (err == nil && v != 7) {
				t.Fatalf("reads %d, value %d, err %v; want %d reads, err %v", reads, v, err, tc.wantReads, tc.wantErr)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	staleReadDelays = []time.Duration{time.Hour}
	reads := 0
	if err := readFresh(ctx, func() error { reads++; return notFound }); reads != 1 || err != notFound {
		t.Fatalf("ended context: %d reads, err %v", reads, err)
	}
}
