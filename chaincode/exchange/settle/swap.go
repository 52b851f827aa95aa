package settle

import (
	"fmt"
	"time"
)

// MinSwapMargin is the smallest allowed gap between the counterparty's timelock and the
// initiator's: the time the counterparty has, after the initiator revealed the preimage by
// claiming on one channel, to claim on the other.
const MinSwapMargin = time.Minute

// MinSwapLock is the smallest allowed duration of the counterparty's (shorter) lock.
const MinSwapLock = time.Minute

// SwapParams describe the timelocks of a cross-channel swap. The initiator locks first with the
// longer timelock, Start+InitiatorDuration; the counterparty locks second with the shorter one,
// Start+CounterpartyDuration. The initiator then claims the counterparty's lock, revealing the
// preimage, and the counterparty claims the initiator's lock with it.
type SwapParams struct {
	// Start is when the initiator locks (the orchestrator's planning time).
	Start time.Time
	// InitiatorDuration is the lifetime of the initiator's lock, at most MaxTimelock.
	InitiatorDuration time.Duration
	// CounterpartyDuration is the lifetime of the counterparty's lock, from Start, at least
	// MinSwapLock.
	CounterpartyDuration time.Duration
	// MinMargin is how much longer the initiator's lock must live, at least MinSwapMargin.
	MinMargin time.Duration
}

// SwapPlan is the pair of absolute timelocks of a swap.
type SwapPlan struct {
	InitiatorTimelock    time.Time `json:"initiatorTimelock"`
	CounterpartyTimelock time.Time `json:"counterpartyTimelock"`
}

// PlanSwap validates p and computes both timelocks (UTC).
func PlanSwap(p SwapParams) (SwapPlan, error) {
	switch {
	case p.Start.IsZero():
		return SwapPlan{}, fmt.Errorf("%w: swap start is zero", ErrInvalidArgument)
	case p.MinMargin < MinSwapMargin:
		return SwapPlan{}, fmt.Errorf("%w: margin %s below %s", ErrTimelockRange, p.MinMargin, MinSwapMargin)
	case p.CounterpartyDuration < MinSwapLock:
		return SwapPlan{}, fmt.Errorf("%w: counterparty lock %s below %s", ErrTimelockRange, p.CounterpartyDuration, MinSwapLock)
	case p.InitiatorDuration < MinSwapLock || p.InitiatorDuration > MaxTimelock:
		return SwapPlan{}, fmt.Errorf("%w: initiator lock %s outside %s..%s", ErrTimelockRange, p.InitiatorDuration, MinSwapLock, MaxTimelock)
	case p.CounterpartyDuration > MaxTimelock:
		return SwapPlan{}, fmt.Errorf("%w: counterparty lock %s above %s", ErrTimelockRange, p.CounterpartyDuration, MaxTimelock)
	case p.InitiatorDuration-p.CounterpartyDuration < p.MinMargin:
		// Both durations are within [MinSwapLock, MaxTimelock] here, so the difference
		// cannot overflow.
		return SwapPlan{}, fmt.Errorf("%w: initiator lock %s must outlive counterparty lock %s by %s",
			ErrTimelockRange, p.InitiatorDuration, p.CounterpartyDuration, p.MinMargin)
	}
	start := stamp(p.Start)
	return SwapPlan{
		InitiatorTimelock:    start.Add(p.InitiatorDuration),
		CounterpartyTimelock: start.Add(p.CounterpartyDuration),
	}, nil
}

// CheckSwapLocks verifies that two HTLC values form a safe swap: the same hashlock, the
// counterparty lock paying the initiator lock's sender org from the initiator lock's receiver
// org, and the initiator's timelock at least minMargin (≥ MinSwapMargin) after the
// counterparty's. It checks the terms only; callers check the statuses. The initiator runs it
// before claiming; the counterparty runs it on the initiator's lock and its own intended lock
// before locking.
func CheckSwapLocks(initiator, counterparty HTLC, minMargin time.Duration) error {
	if minMargin < MinSwapMargin {
		return fmt.Errorf("%w: margin %s below %s", ErrTimelockRange, minMargin, MinSwapMargin)
	}
	if err := initiator.checkTerms(); err != nil {
		return fmt.Errorf("initiator lock: %w", err)
	}
	if err := counterparty.checkTerms(); err != nil {
		return fmt.Errorf("counterparty lock: %w", err)
	}
	il, _ := ParseHashlock(initiator.Hashlock)
	cl, _ := ParseHashlock(counterparty.Hashlock)
	if il != cl {
		return fmt.Errorf("%w: swap locks have different hashlocks", ErrInvalidArgument)
	}
	if initiator.Sender.Org != counterparty.Receiver.Org || initiator.Receiver.Org != counterparty.Sender.Org {
		return fmt.Errorf("%w: swap locks do not mirror each other's orgs", ErrInvalidArgument)
	}
	if initiator.Timelock.Sub(counterparty.Timelock) < minMargin {
		return fmt.Errorf("%w: initiator timelock %s must be at least %s after counterparty timelock %s",
			ErrTimelockRange, initiator.Timelock.Format(time.RFC3339Nano), minMargin,
			counterparty.Timelock.Format(time.RFC3339Nano))
	}
	return nil
}
