package api

import (
	"context"
	"time"
)

// staleReadDelays are the waits between the reads of readFresh: about 1.5 s in all, the time
// a block committed by another org's peer may take to reach this org's peer under load.
var staleReadDelays = []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}

// readFresh calls read again while it fails with NOT_FOUND, up to len(staleReadDelays) more
// times. A step on a record that another org created a moment ago (affirm a settlement just
// proposed, claim an HTLC just locked, request a number just allocated by the Regulator)
// reads it from this org's peer, which may not have
// committed that block yet; without the wait the step would answer 404 for a record that
// exists. Any other answer, or the end of ctx, ends the wait.
func readFresh(ctx context.Context, read func() error) error {
	err := read()
	for _, d := range staleReadDelays {
		if err == nil || asError(err).Code != CodeNotFound {
			break
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = read()
	}
	return err
}
