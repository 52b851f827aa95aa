package settle

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of them, with details
// about the failing input; the adapter maps them to its own error codes with errors.Is.
var (
	// ErrInvalidArgument reports a malformed or out-of-range input (empty id, non-positive
	// quantity, unknown leg, text with control characters, ...).
	ErrInvalidArgument = errors.New("settle: invalid argument")
	// ErrCorrupt reports a stored agreement or HTLC whose fields break its invariants; no
	// operation runs on it.
	ErrCorrupt = errors.New("settle: stored value is inconsistent")
	// ErrOverflow reports an amount that does not fit in an int64.
	ErrOverflow = errors.New("settle: arithmetic overflow")
	// ErrForbidden reports a caller org that may not perform the operation.
	ErrForbidden = errors.New("settle: caller org not allowed")
	// ErrWrongState reports an operation that the current status does not allow (for example
	// funding before the counterparty affirmed).
	ErrWrongState = errors.New("settle: operation not allowed in this status")
	// ErrClosed reports any operation on a SETTLED, EXPIRED, CANCELLED, CLAIMED or REFUNDED
	// value: nothing is settled, refunded or funded twice.
	ErrClosed = errors.New("settle: already closed")
	// ErrDeadlinePassed reports an operation, other than Expire, at or after the deadline.
	ErrDeadlinePassed = errors.New("settle: deadline passed")
	// ErrDeadlineNotReached reports Expire before the deadline.
	ErrDeadlineNotReached = errors.New("settle: deadline not reached")
	// ErrAmbiguousLeg reports a Fund call without a leg by an org that owns both legs.
	ErrAmbiguousLeg = errors.New("settle: leg must be given, caller org owns both legs")
	// ErrPartialNotAllowed reports a partial funding of an agreement that does not allow it.
	ErrPartialNotAllowed = errors.New("settle: partial funding not allowed")
	// ErrLegFunded reports funding of a leg that is already fully funded.
	ErrLegFunded = errors.New("settle: leg already fully funded")
	// ErrExceedsLeg reports a funding quantity larger than what the leg still needs.
	ErrExceedsLeg = errors.New("settle: funding exceeds the leg")
	// ErrNoNotary reports Approve on an agreement without a notary.
	ErrNoNotary = errors.New("settle: agreement has no notary")
	// ErrAlreadyApproved reports a second Approve.
	ErrAlreadyApproved = errors.New("settle: already approved")
	// ErrFullyFunded reports Cancel after both legs are fully funded: from then on only the
	// notary's approval (settle) or the deadline (Expire, refund) closes the agreement.
	ErrFullyFunded = errors.New("settle: both legs funded, cannot cancel")
	// ErrBadHashlock reports a hashlock that is not 64 hexadecimal characters.
	ErrBadHashlock = errors.New("settle: hashlock must be 64 hex characters (SHA-256)")
	// ErrBadPreimage reports a preimage that is not 64 hexadecimal characters (32 bytes).
	ErrBadPreimage = errors.New("settle: preimage must be 64 hex characters (32 bytes)")
	// ErrPreimageMismatch reports a preimage whose SHA-256 is not the hashlock.
	ErrPreimageMismatch = errors.New("settle: preimage does not match hashlock")
	// ErrTimelockRange reports a timelock not strictly in the future or beyond [MaxTimelock].
	ErrTimelockRange = errors.New("settle: timelock out of range")
	// ErrTimelockExpired reports a Claim at or after the timelock.
	ErrTimelockExpired = errors.New("settle: timelock expired, claim no longer possible")
	// ErrTimelockNotReached reports a Refund before the timelock.
	ErrTimelockNotReached = errors.New("settle: timelock not reached, refund not yet possible")
)
