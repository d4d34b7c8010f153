// Package dsr holds the domain of data-subject requests: requests and their
// states, identity verification, the purpose registry, deadlines and the
// access report. It imports nothing of AWS; adapters live in sibling packages.
package dsr

import (
	"errors"
	"fmt"
	"time"
)

// ErrorCode classifies a domain error. One place (package httpapi) turns
// codes into HTTP statuses, so internals never leak to clients.
type ErrorCode string

// Error codes of the domain.
const (
	EInvalid  ErrorCode = "invalid"   // bad input; the fields say which
	ENotFound ErrorCode = "not_found" // unknown id, or a token that does not match
	EConflict ErrorCode = "conflict"  // action not allowed in the current state
	EGone     ErrorCode = "gone"      // expired or deleted for good
	EInternal ErrorCode = "internal"  // anything else; never shown to clients
	// EUnauthenticated: no valid credentials (a DPO route without a token).
	EUnauthenticated ErrorCode = "unauthenticated"
	// EForbidden: valid credentials without the right (a token without the dpo group).
	EForbidden ErrorCode = "forbidden"
	// ENotImplemented: a valid request this version does not process yet.
	ENotImplemented ErrorCode = "not_implemented"
	// ETooMany: a limit is reached (per person, per client, per request);
	// the error's RetryAfter says when it passes.
	ETooMany ErrorCode = "too_many"
	// EUnavailable: a service the action needs (a table, a queue, the
	// mail) failed, for a moment as far as we know: the client may try
	// again shortly. The error's Err is the failure, never shown.
	EUnavailable ErrorCode = "unavailable"
)

// FieldError names one invalid field of an input and why it is invalid.
// Reasons never echo the value given.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// fieldErrors collects the fields at fault of an input.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, reason string) {
	*f = append(*f, FieldError{Field: field, Reason: reason})
}

// Error is a domain error with a code, a message safe to show to the client
// (no personal data), and optional field errors.
type Error struct {
	Code    ErrorCode
	Message string
	Fields  []FieldError
	// RetryAfter is how long until an ETooMany limit passes, and Limit
	// which limit it is (Limit* names).
	RetryAfter time.Duration
	Limit      string
	// Err is the failure behind an EUnavailable error: for logs, never
	// for clients.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, msg)
	}
	return fmt.Sprintf("%s: %s (%d field errors)", e.Code, msg, len(e.Fields))
}

// Unwrap returns the failure behind the error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a domain error with the given code and message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unavailable returns the EUnavailable error of err, a failure of a
// service the action needs: the client may try again shortly.
func Unavailable(err error) *Error { return &Error{Code: EUnavailable, Err: err} }

// Invalid returns an EInvalid error carrying the given field errors.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Code: EInvalid, Message: message, Fields: fields}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// EInternal for any other non-nil error.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// ErrNotFound is the one answer for an unknown request, a missing token and a
// wrong token alike, so that none of them tells an attacker anything.
var ErrNotFound = Errorf(ENotFound, "no request with this id and token")
