package settle

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// MaxTimelock bounds how far after the lock time an HTLC's timelock may be. Seven days covers
// any swap between channels of one network while keeping assets from being parked
// indefinitely.
const MaxTimelock = 7 * 24 * time.Hour

// PreimageSize is the size of an HTLC preimage in bytes; it travels as 2×PreimageSize
// hexadecimal characters.
const PreimageSize = 32

// HTLCStatus is the life-cycle state of an HTLC: LOCKED → CLAIMED | REFUNDED.
type HTLCStatus string

// HTLC statuses.
const (
	HTLCLocked   HTLCStatus = "LOCKED"
	HTLCClaimed  HTLCStatus = "CLAIMED"
	HTLCRefunded HTLCStatus = "REFUNDED"
)

// ParseHashlock validates a SHA-256 hashlock given as exactly 64 hexadecimal characters, in
// either case, and returns it in lowercase. Nothing else is accepted: no "0x" prefix, no
// spaces.
func ParseHashlock(s string) (string, error) {
	if len(s) != 2*sha256.Size {
		return "", fmt.Errorf("%w: got %d characters", ErrBadHashlock, len(s))
	}
	if !isHex(s) {
		return "", fmt.Errorf("%w: non-hex character", ErrBadHashlock)
	}
	return strings.ToLower(s), nil
}

// ParsePreimage decodes a preimage given as exactly 64 hexadecimal characters (32 bytes), in
// either case.
func ParsePreimage(s string) ([]byte, error) {
	if len(s) != 2*PreimageSize {
		return nil, fmt.Errorf("%w: got %d characters", ErrBadPreimage, len(s))
	}
	if !isHex(s) {
		return nil, fmt.Errorf("%w: non-hex character", ErrBadPreimage)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPreimage, err)
	}
	return b, nil
}

// HashlockOf returns the hashlock (lowercase hex SHA-256) of a preimage.
func HashlockOf(preimage []byte) string {
	sum := sha256.Sum256(preimage)
	return hex.EncodeToString(sum[:])
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// LockTerms are the inputs of Lock.
type LockTerms struct {
	// ID identifies the HTLC (typically derived from the transaction id by the adapter).
	ID string
	// Asset is the symbol (shares, in lots) or currency (cash, in minor units) locked.
	Asset string
	// Amount > 0 of Asset.
	Amount   int64
	Sender   Party
	Receiver Party
	// Hashlock is the SHA-256 of the preimage, 64 hex characters (see ParseHashlock).
	Hashlock string
	// Timelock is when the receiver loses the right to claim and the sender gains the right to
	// refund; strictly after the lock time and at most MaxTimelock after it.
	Timelock time.Time
}

// HTLC is a hash-time-locked contract as stored on the ledger. Preimage is empty until the
// HTLC is claimed; then it holds the revealed preimage (lowercase hex) so that the other leg of
// a swap can be claimed with it.
type HTLC struct {
	ID       string     `json:"htlcId"`
	Asset    string     `json:"asset"`
	Amount   int64      `json:"amount"`
	Sender   Party      `json:"sender"`
	Receiver Party      `json:"receiver"`
	Hashlock string     `json:"hashlock"`
	Timelock time.Time  `json:"timelock"`
	Status   HTLCStatus `json:"status"`
	Preimage string     `json:"preimage,omitempty"`
	Messages []Message  `json:"messages"`
}

// Lock creates a LOCKED HTLC and moves Amount of Asset from the sender's available balance
// into escrow. Only the sender's org may lock.
func Lock(callerOrg string, now time.Time, t LockTerms) (HTLC, []Movement, error) {
	if err := checkCaller(callerOrg, now); err != nil {
		return HTLC{}, nil, err
	}
	h := HTLC{
		ID: t.ID, Asset: t.Asset, Amount: t.Amount, Sender: t.Sender, Receiver: t.Receiver,
		Hashlock: t.Hashlock, Timelock: stamp(t.Timelock), Status: HTLCLocked,
	}
	if err := h.checkTerms(); err != nil {
		return HTLC{}, nil, err
	}
	h.Hashlock = strings.ToLower(h.Hashlock)
	if callerOrg != h.Sender.Org {
		return HTLC{}, nil, fmt.Errorf("%w: only the sender's org %s may lock", ErrForbidden, h.Sender.Org)
	}
	if !t.Timelock.After(now) {
		return HTLC{}, nil, fmt.Errorf("%w: timelock %s is not after %s", ErrTimelockRange,
			h.Timelock.Format(time.RFC3339Nano), stamp(now).Format(time.RFC3339Nano))
	}
	if t.Timelock.Sub(now) > MaxTimelock {
		return HTLC{}, nil, fmt.Errorf("%w: timelock %s is more than %s after %s", ErrTimelockRange,
			h.Timelock.Format(time.RFC3339Nano), MaxTimelock, stamp(now).Format(time.RFC3339Nano))
	}
	h.Messages = appendMsg(nil, MsgLocked, callerOrg, now, fmt.Sprintf(
		"amount=%d %s sender=%s/%s receiver=%s/%s hashlock=%s timelock=%s", h.Amount, h.Asset,
		h.Sender.Org, h.Sender.Account, h.Receiver.Org, h.Receiver.Account, h.Hashlock,
		h.Timelock.Format(time.RFC3339Nano)))
	moves := []Movement{{
		Ref: h.ID, Reason: ReasonFund, Asset: h.Asset, Amount: h.Amount,
		From: Location{h.Sender.Account, Available}, To: Location{h.Sender.Account, Escrow},
	}}
	return h, moves, nil
}

func (h HTLC) checkTerms() error {
	if err := checkID("htlc id", h.ID); err != nil {
		return err
	}
	if err := checkID("asset", h.Asset); err != nil {
		return err
	}
	if h.Amount <= 0 {
		return fmt.Errorf("%w: amount %d must be positive", ErrInvalidArgument, h.Amount)
	}
	if err := checkParty("sender", h.Sender); err != nil {
		return err
	}
	if err := checkParty("receiver", h.Receiver); err != nil {
		return err
	}
	if h.Sender.Account == h.Receiver.Account {
		return fmt.Errorf("%w: sender and receiver are the same account %s", ErrInvalidArgument, h.Sender.Account)
	}
	if _, err := ParseHashlock(h.Hashlock); err != nil {
		return err
	}
	if h.Timelock.IsZero() {
		return fmt.Errorf("%w: timelock is missing", ErrTimelockRange)
	}
	return nil
}

// Validate checks the invariants of a stored HTLC. Every operation calls it first and
// refuses, with ErrCorrupt, to act on an HTLC that fails it.
func (h HTLC) Validate() error {
	if err := h.checkTerms(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if h.Hashlock != strings.ToLower(h.Hashlock) {
		return fmt.Errorf("%w: htlc %s hashlock not normalised", ErrCorrupt, h.ID)
	}
	switch h.Status {
	case HTLCLocked, HTLCRefunded:
		if h.Preimage != "" {
			return fmt.Errorf("%w: htlc %s is %s but has a preimage", ErrCorrupt, h.ID, h.Status)
		}
	case HTLCClaimed:
		p, err := ParsePreimage(h.Preimage)
		if err != nil || HashlockOf(p) != h.Hashlock {
			return fmt.Errorf("%w: htlc %s is CLAIMED without a matching preimage", ErrCorrupt, h.ID)
		}
	default:
		return fmt.Errorf("%w: htlc %s has unknown status %q", ErrCorrupt, h.ID, h.Status)
	}
	if len(h.Messages) == 0 {
		return fmt.Errorf("%w: htlc %s has an empty message thread", ErrCorrupt, h.ID)
	}
	return nil
}

// CanRead reports whether org may read the HTLC: the sender's and receiver's orgs and the
// Regulator.
func (h HTLC) CanRead(org string) bool {
	return org != "" && (org == h.Sender.Org || org == h.Receiver.Org || org == RegulatorOrg)
}

func (h HTLC) begin(callerOrg string, now time.Time) error {
	if err := checkCaller(callerOrg, now); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	if h.Status != HTLCLocked {
		return fmt.Errorf("%w: htlc %s is %s", ErrClosed, h.ID, h.Status)
	}
	return nil
}

// Claim releases the escrowed asset to the receiver against the preimage (64 hex characters,
// see ParsePreimage). Only the receiver's org may claim, and only strictly before the
// timelock. The returned HTLC carries the preimage in lowercase hex.
func (h HTLC) Claim(callerOrg string, now time.Time, preimage string) (HTLC, []Movement, error) {
	if err := h.begin(callerOrg, now); err != nil {
		return HTLC{}, nil, err
	}
	if callerOrg != h.Receiver.Org {
		return HTLC{}, nil, fmt.Errorf("%w: only the receiver's org %s may claim", ErrForbidden, h.Receiver.Org)
	}
	if !now.Before(h.Timelock) {
		return HTLC{}, nil, fmt.Errorf("%w: htlc %s timelock %s, now %s", ErrTimelockExpired, h.ID,
			h.Timelock.Format(time.RFC3339Nano), stamp(now).Format(time.RFC3339Nano))
	}
	p, err := ParsePreimage(preimage)
	if err != nil {
		return HTLC{}, nil, err
	}
	got := HashlockOf(p)
	if subtle.ConstantTimeCompare([]byte(got), []byte(h.Hashlock)) != 1 {
		return HTLC{}, nil, fmt.Errorf("%w: htlc %s", ErrPreimageMismatch, h.ID)
	}
	h.Status = HTLCClaimed
	h.Preimage = hex.EncodeToString(p)
	h.Messages = appendMsg(h.Messages, MsgClaimed, callerOrg, now, "preimage="+h.Preimage)
	moves := []Movement{{
		Ref: h.ID, Reason: ReasonDeliver, Asset: h.Asset, Amount: h.Amount,
		From: Location{h.Sender.Account, Escrow}, To: Location{h.Receiver.Account, Available},
	}}
	return h, moves, nil
}

// Refund returns the escrowed asset to the sender at or after the timelock. Either party's org
// may call it (the asset only ever goes back to the sender).
func (h HTLC) Refund(callerOrg string, now time.Time) (HTLC, []Movement, error) {
	if err := h.begin(callerOrg, now); err != nil {
		return HTLC{}, nil, err
	}
	if callerOrg != h.Sender.Org && callerOrg != h.Receiver.Org {
		return HTLC{}, nil, fmt.Errorf("%w: %s is not a party of htlc %s", ErrForbidden, callerOrg, h.ID)
	}
	if now.Before(h.Timelock) {
		return HTLC{}, nil, fmt.Errorf("%w: htlc %s timelock %s, now %s", ErrTimelockNotReached, h.ID,
			h.Timelock.Format(time.RFC3339Nano), stamp(now).Format(time.RFC3339Nano))
	}
	h.Status = HTLCRefunded
	h.Messages = appendMsg(h.Messages, MsgRefunded, callerOrg, now, "")
	moves := []Movement{{
		Ref: h.ID, Reason: ReasonRefund, Asset: h.Asset, Amount: h.Amount,
		From: Location{h.Sender.Account, Escrow}, To: Location{h.Sender.Account, Available},
	}}
	return h, moves, nil
}
