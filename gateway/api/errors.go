package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an error answered to the client as {"error":{"code","message"}} with Status.
type Error struct {
	Status  int    // HTTP status
	Code    string // stable machine-readable code, e.g. INSUFFICIENT_FUNDS
	Message string // human-readable detail
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Stable codes produced by the gateway itself (chaincode codes pass through, see CodeStatus).
const (
	CodeInvalidArgument  = "INVALID_ARGUMENT"
	CodeUnauthenticated  = "UNAUTHENTICATED"
	CodeForbidden        = "FORBIDDEN"
	CodeNotFound         = "NOT_FOUND"
	CodeConflict         = "CONFLICT"
	CodeIdempotencyReuse = "IDEMPOTENCY_KEY_REUSED"
	CodeTooLarge         = "PAYLOAD_TOO_LARGE"
	CodeUnavailable      = "UNAVAILABLE"
	CodeInternal         = "INTERNAL"
	CodeInvalidTick      = "INVALID_TICK"
	CodeInvalidLot       = "INVALID_LOT"
	CodeInsufficient     = "INSUFFICIENT_FUNDS"
	CodeFailedPrecond    = "FAILED_PRECONDITION"
	CodeTimeout          = "TIMEOUT"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
)

// codeStatus maps the stable codes (the gateway's and the chaincodes') to HTTP statuses.
var codeStatus = map[string]int{
	CodeInvalidArgument:  http.StatusBadRequest,
	"WRONG_CHANNEL":      http.StatusBadRequest,
	CodeUnauthenticated:  http.StatusUnauthorized,
	CodeForbidden:        http.StatusForbidden,
	CodeNotFound:         http.StatusNotFound,
	CodeConflict:         http.StatusConflict,
	"ALREADY_EXISTS":     http.StatusConflict,
	CodeIdempotencyReuse: http.StatusConflict,
	CodeTooLarge:         http.StatusRequestEntityTooLarge,
	CodeInsufficient:     http.StatusUnprocessableEntity,
	CodeFailedPrecond:    http.StatusUnprocessableEntity,
	"PAC_REQUIRED":       http.StatusUnprocessableEntity,
	"PAC_INVALID":        http.StatusUnprocessableEntity,
	CodeInvalidTick:      http.StatusUnprocessableEntity,
	CodeInvalidLot:       http.StatusUnprocessableEntity,
	CodeUnavailable:      http.StatusServiceUnavailable,
	CodeTimeout:          http.StatusServiceUnavailable,
	CodeInternal:         http.StatusInternalServerError,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
}

// CodeStatus returns the HTTP status of a stable code; unknown codes are 500.
func CodeStatus(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// NewError returns an *Error with the status of code.
func NewError(code, format string, args ...any) *Error {
	return &Error{Status: CodeStatus(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParseCoded recognizes a chaincode error message "CODE: detail" (the code in upper case with
// underscores) and returns the corresponding *Error; ok is false when msg has no code prefix.
func ParseCoded(msg string) (e *Error, ok bool) {
	code, detail, found := strings.Cut(msg, ": ")
	if !found || code == "" || len(code) > 40 {
		return nil, false
	}
	for _, r := range code {
		if (r < 'A' || r > 'Z') && r != '_' {
			return nil, false
		}
	}
	st := CodeStatus(code)
	if _, known := codeStatus[code]; !known {
		// An unknown code from the chaincode is still a business rejection, not our fault.
		st = http.StatusUnprocessableEntity
	}
	if code == CodeInternal {
		st = http.StatusInternalServerError
	}
	return &Error{Status: st, Code: code, Message: detail}, true
}

// asError converts any error into the *Error answered to the client.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}
