// Package drerr holds the error codes the domain speaks in. Adapters translate SDK
// errors into them once; the handler maps them to replies once.
package drerr

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller should do about it.
type Code string

const (
	NotFound    Code = "not_found"   // the thing is not there
	Conflict    Code = "conflict"    // someone else changed it first (ETag, lease)
	Throttled   Code = "throttled"   // come back later (429 after azcore's retries)
	Invalid     Code = "invalid"     // bad input: retrying cannot help
	Unavailable Code = "unavailable" // a dependency answered with a failure (5xx) or its answer never came
	// Unreachable: a dependency could not be reached at all (every try failed to
	// connect). It is the only code a plan may read as "that side is down": slow,
	// throttled, refused and erroring answers say nothing about whether it still sends.
	Unreachable Code = "unreachable"
	Interrupted Code = "interrupted" // our own deadline or cancellation cut a call short
	Internal    Code = "internal"    // anything else
)

// Error carries a code, the operation that failed, and the cause.
type Error struct {
	Code Code
	Op   string
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s", e.Op, e.Code)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error.
func E(code Code, op string, err error) error { return &Error{Code: code, Op: op, Err: err} }

// Errorf builds an *Error with a formatted cause.
func Errorf(code Code, op, format string, args ...any) error {
	return &Error{Code: code, Op: op, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the code of the outermost *Error in err's chain, Internal if none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

func (c Code) String() string { return string(c) }
