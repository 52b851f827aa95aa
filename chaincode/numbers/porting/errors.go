package porting

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error class. The gateway maps codes to HTTP statuses.
type Code string

// Error codes returned by the chaincode.
const (
	// CodeInvalidArgument: an argument or transient field is missing or malformed (HTTP 400).
	CodeInvalidArgument Code = "INVALID_ARGUMENT"
	// CodeNotFound: the number or transfer does not exist (HTTP 404).
	CodeNotFound Code = "NOT_FOUND"
	// CodeAlreadyExists: the number is already allocated (HTTP 409).
	CodeAlreadyExists Code = "ALREADY_EXISTS"
	// CodeConflict: another transfer request is open for the number (HTTP 409).
	CodeConflict Code = "CONFLICT"
	// CodeForbidden: the caller's organisation may not perform this step (HTTP 403).
	CodeForbidden Code = "FORBIDDEN"
	// CodeFailedPrecondition: the step is not allowed in the transfer's current status (HTTP 409).
	CodeFailedPrecondition Code = "FAILED_PRECONDITION"
	// CodePACRequired: a porting authorisation code is outstanding and was not presented (HTTP 422).
	CodePACRequired Code = "PAC_REQUIRED"
	// CodePACInvalid: the presented code is wrong, or no code is outstanding (HTTP 422).
	CodePACInvalid Code = "PAC_INVALID"
	// CodeInternal: corrupt state or a failing ledger call (HTTP 503/500).
	CodeInternal Code = "INTERNAL"
)

// Error is the error type of this package and of the contract.
type Error struct {
	// Code classifies the error.
	Code Code
	// Field names the offending argument or transient key, if any.
	Field string
	// Message explains the error for a human.
	Message string
	// Err is an optional wrapped cause.
	Err error
}

// Error renders "CODE: field: message" (the field part only when set).
func (e *Error) Error() string {
	msg := e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Field != "" {
		return string(e.Code) + ": " + e.Field + ": " + msg
	}
	return string(e.Code) + ": " + msg
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an [*Error] with a formatted message.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an [*Error] of class code around err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of err if it is (or wraps) an [*Error], otherwise CodeInternal;
// it returns "" for a nil error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}
