package porting

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"
)

// PACStatus is the status of a porting authorisation code.
type PACStatus string

// PAC statuses.
const (
	// PACOutstanding: issued, not used, not revoked (it may still have expired; see
	// [PAC.OutstandingFor]).
	PACOutstanding PACStatus = "OUTSTANDING"
	// PACUsed: consumed by a transfer request.
	PACUsed PACStatus = "USED"
	// PACRevoked: withdrawn by the owner.
	PACRevoked PACStatus = "REVOKED"
)

// PAC code format and hashing.
const (
	// MinPACLength and MaxPACLength bound the code's length.
	MinPACLength = 8
	MaxPACLength = 32
	// PACIterations is the PBKDF2-SHA256 work factor for new codes. The salt is public (on
	// chain), so the work factor is what slows down guessing a code from its hash.
	PACIterations = 10000
)

// PAC is the public record of a porting authorisation code: only its salted hash and expiry.
// The code itself travels in the transient map and is never stored.
type PAC struct {
	// Number is the E.164 number the code releases.
	Number string `json:"number"`
	// Status is OUTSTANDING, USED or REVOKED.
	Status PACStatus `json:"status"`
	// IssuedBy is the owner that issued the code; the code is void once the owner changes.
	IssuedBy string `json:"issuedBy"`
	// IssuedAt is the transaction time of the issue.
	IssuedAt string `json:"issuedAt"`
	// ExpiresAt is when the code stops being valid.
	ExpiresAt string `json:"expiresAt"`
	// Hash is hex PBKDF2-SHA256(code, salt, iterations), 32 bytes.
	Hash string `json:"hash"`
	// Salt is the hex salt, derived from the issuing transaction ID and the number.
	Salt string `json:"salt"`
	// Iterations is the PBKDF2 work factor used for Hash.
	Iterations int `json:"iterations"`
	// UsedAt is when a request consumed the code.
	UsedAt string `json:"usedAt,omitempty" metadata:",optional"`
	// UsedByTransfer is the transfer that consumed the code.
	UsedByTransfer string `json:"usedByTransfer,omitempty" metadata:",optional"`
	// LastAction is the step that wrote this version.
	LastAction Action `json:"lastAction"`
	// UpdatedBy is the MSP ID of the caller that wrote this version.
	UpdatedBy string `json:"updatedBy"`
	// UpdatedAt is the transaction time of this version.
	UpdatedAt string `json:"updatedAt"`
}

// ValidatePACCode checks a code: 8 to 32 characters, upper-case ASCII letters and digits
// (the UK format "ABC123456" fits). Codes should be random: the hash is public.
func ValidatePACCode(field, code string) error {
	if code == "" {
		return Errorf(CodeInvalidArgument, field, "is required")
	}
	if len(code) < MinPACLength || len(code) > MaxPACLength {
		return Errorf(CodeInvalidArgument, field, "must be %d to %d characters", MinPACLength, MaxPACLength)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return Errorf(CodeInvalidArgument, field, "may contain only A-Z and 0-9")
		}
	}
	return nil
}

// PACSalt derives the public salt of a code issued by transaction txID for number:
// the first 16 bytes of SHA-256("fabmarket/numbers/pac\x00" || txID || "\x00" || number).
// It is deterministic (all endorsers agree) and unique per issue.
func PACSalt(txID, number string) []byte {
	h := sha256.New()
	h.Write([]byte("fabmarket/numbers/pac\x00"))
	h.Write([]byte(txID))
	h.Write([]byte{0})
	h.Write([]byte(number))
	return h.Sum(nil)[:16]
}

func pacHash(code string, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, code, salt, iterations, 32)
}

// IssuePAC records a new code for number n issued by actor at now, valid for
// s.PACValidityDays. Only the owner may issue; a new code replaces any earlier one.
func IssuePAC(n Number, actor, code, txID string, s Settings, now time.Time) (PAC, error) {
	if actor != n.Owner {
		return PAC{}, Errorf(CodeForbidden, "", "only the owner %s may issue a porting authorisation code for %s; caller is %s", n.Owner, n.Number, actor)
	}
	if err := ValidatePACCode("pac", code); err != nil {
		return PAC{}, err
	}
	if txID == "" {
		return PAC{}, Errorf(CodeInternal, "", "empty transaction ID")
	}
	salt := PACSalt(txID, n.Number)
	sum, err := pacHash(code, salt, PACIterations)
	if err != nil {
		return PAC{}, Wrap(CodeInternal, err, "hash porting authorisation code")
	}
	ts := FormatTime(now)
	return PAC{
		Number:     n.Number,
		Status:     PACOutstanding,
		IssuedBy:   actor,
		IssuedAt:   ts,
		ExpiresAt:  FormatTime(now.AddDate(0, 0, s.PACValidityDays)),
		Hash:       hex.EncodeToString(sum),
		Salt:       hex.EncodeToString(salt),
		Iterations: PACIterations,
		LastAction: ActionIssuePAC,
		UpdatedBy:  actor,
		UpdatedAt:  ts,
	}, nil
}

// RevokePAC withdraws the outstanding code of number n. Only the owner may revoke.
func RevokePAC(n Number, p *PAC, actor string, now time.Time) (PAC, error) {
	if actor != n.Owner {
		return PAC{}, Errorf(CodeForbidden, "", "only the owner %s may revoke the porting authorisation code for %s; caller is %s", n.Owner, n.Number, actor)
	}
	if p == nil || !p.OutstandingFor(n.Owner, now) {
		return PAC{}, Errorf(CodeFailedPrecondition, "", "no porting authorisation code is outstanding for %s", n.Number)
	}
	out := *p
	ts := FormatTime(now)
	out.Status = PACRevoked
	out.LastAction = ActionRevokePAC
	out.UpdatedBy = actor
	out.UpdatedAt = ts
	return out, nil
}

// OutstandingFor reports whether the code is still usable at now for a number owned by owner:
// status OUTSTANDING, issued by that owner, and now before the expiry.
func (p PAC) OutstandingFor(owner string, now time.Time) bool {
	if p.Status != PACOutstanding || p.IssuedBy != owner {
		return false
	}
	exp, err := ParseTime("expiresAt", p.ExpiresAt)
	if err != nil {
		return false
	}
	return now.Before(exp)
}

// Matches reports whether code hashes to the stored hash (constant-time comparison).
func (p PAC) Matches(code string) (bool, error) {
	salt, err := hex.DecodeString(p.Salt)
	if err != nil {
		return false, Wrap(CodeInternal, err, "stored PAC salt")
	}
	want, err := hex.DecodeString(p.Hash)
	if err != nil {
		return false, Wrap(CodeInternal, err, "stored PAC hash")
	}
	if p.Iterations < 1 {
		return false, Errorf(CodeInternal, "", "stored PAC iterations %d", p.Iterations)
	}
	got, err := pacHash(code, salt, p.Iterations)
	if err != nil {
		return false, Wrap(CodeInternal, err, "hash porting authorisation code")
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
