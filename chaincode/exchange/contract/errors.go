package contract

import (
	"errors"
	"fmt"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/internal/textclip"
)

// Code is the stable, machine-readable class of an error returned by a contract function. The
// error message always starts with the code followed by ": ", so a client that only sees the
// message text (the fabric-gateway error details) can recover it with [CodeOf]. The REST
// gateway maps the codes to HTTP statuses as listed.
type Code string

// Error codes.
const (
	// CodeInvalidArgument: a malformed or out-of-range argument; the message names the field
	// ("INVALID_ARGUMENT: field price: ..."). HTTP 400.
	CodeInvalidArgument Code = "INVALID_ARGUMENT"
	// CodeWrongChannel: the function does not exist on this channel (for example SubmitOrder
	// on payments). HTTP 400.
	CodeWrongChannel Code = "WRONG_CHANNEL"
	// CodeForbidden: the caller's org may not do this (not the account's org, not the
	// Regulator, not a party of the agreement). HTTP 403.
	CodeForbidden Code = "FORBIDDEN"
	// CodeNotFound: an account, instrument, order, agreement or HTLC does not exist. HTTP 404.
	CodeNotFound Code = "NOT_FOUND"
	// CodeConflict: the request collides with the current state (id already used, agreement
	// closed or in the wrong status, deadline or timelock passed or not reached). HTTP 409.
	CodeConflict Code = "CONFLICT"
	// CodeInsufficientFunds: an available balance is too small for a reservation, withdrawal
	// or funding. HTTP 422.
	CodeInsufficientFunds Code = "INSUFFICIENT_FUNDS"
	// CodeInternal: the ledger failed or holds an inconsistent value. HTTP 500.
	CodeInternal Code = "INTERNAL"
)

// Error is an error with a code. Its message is "CODE: detail".
type Error struct {
	Code   Code
	Detail string
	cause  error
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Detail }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.cause }

// maxDetail bounds an error's detail: details quote arguments and decoder messages, which
// can be several times the size of what the caller sent (encoding/json and strconv escape
// every invalid UTF-8 byte).
const maxDetail = 512

func newErr(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Detail: textclip.Clip(err.Error(), maxDetail), cause: errors.Unwrap(err)}
}

func invalidArg(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Detail: textclip.Clip("field "+field+": "+fmt.Sprintf(format, args...), maxDetail)}
}

func forbidden(format string, args ...any) *Error { return newErr(CodeForbidden, format, args...) }

func notFound(format string, args ...any) *Error { return newErr(CodeNotFound, format, args...) }

func conflict(format string, args ...any) *Error { return newErr(CodeConflict, format, args...) }

func internal(format string, args ...any) *Error { return newErr(CodeInternal, format, args...) }

// CodeOf returns the code of err: the code of an *Error in its chain, else the prefix of its
// message when that prefix is a known code, else CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	msg := err.Error()
	for _, c := range []Code{CodeInvalidArgument, CodeWrongChannel, CodeForbidden, CodeNotFound,
		CodeConflict, CodeInsufficientFunds, CodeInternal} {
		if len(msg) > len(c)+1 && msg[:len(c)+2] == string(c)+": " {
			return c
		}
	}
	return CodeInternal
}

// settleErr maps an error of the settle package to a coded error.
func settleErr(err error) error {
	code := CodeConflict
	switch {
	case errors.Is(err, settle.ErrInvalidArgument), errors.Is(err, settle.ErrAmbiguousLeg),
		errors.Is(err, settle.ErrBadHashlock), errors.Is(err, settle.ErrBadPreimage),
		errors.Is(err, settle.ErrPreimageMismatch),
		errors.Is(err, settle.ErrTimelockRange), errors.Is(err, settle.ErrExceedsLeg),
		errors.Is(err, settle.ErrPartialNotAllowed), errors.Is(err, settle.ErrOverflow):
		code = CodeInvalidArgument
	case errors.Is(err, settle.ErrForbidden):
		code = CodeForbidden
	case errors.Is(err, settle.ErrCorrupt):
		code = CodeInternal
	}
	return &Error{Code: code, Detail: err.Error(), cause: err}
}
