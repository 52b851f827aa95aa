package service

import (
	"errors"
	"fmt"
)

// Error codes of the service; the API maps them to HTTP statuses.
const (
	CodeInvalidArgument = "INVALID_ARGUMENT" // 400
	CodeUnknownSymbol   = "UNKNOWN_SYMBOL"   // 422
	CodeUnprocessable   = "UNPROCESSABLE"    // 422
	CodeOutOfOrder      = "OUT_OF_ORDER"     // 409
	CodeConflict        = "ALREADY_EXISTS"   // 409
	CodeNotFound        = "NOT_FOUND"        // 404
	CodeTooLarge        = "PAYLOAD_TOO_LARGE"
	CodeUnavailable     = "UNAVAILABLE" // 503
)

// Error is a rejection the caller can act on: a stable code and a message naming the field.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of an *Error in err's chain, or "" when there is none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
