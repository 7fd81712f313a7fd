// Package azerr translates Azure SDK errors into drerr codes, by status code and error
// code, never by message text. Every adapter calls it at its boundary.
package azerr

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"integration-dr/azure/auth"
	"integration-dr/drerr"
)

// Wrap returns nil for nil, else err wrapped in a *drerr.Error with the fitting code.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return drerr.E(codeOf(err), op, err)
}

func codeOf(err error) drerr.Code {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusNotFound:
			return drerr.NotFound
		case re.StatusCode == http.StatusConflict, re.StatusCode == http.StatusPreconditionFailed,
			re.ErrorCode == "UpdateConditionNotSatisfied", re.ErrorCode == "EntityAlreadyExists":
			return drerr.Conflict
		case re.StatusCode == http.StatusTooManyRequests:
			return drerr.Throttled
		case re.StatusCode == http.StatusBadRequest, re.StatusCode == http.StatusUnprocessableEntity:
			return drerr.Invalid
		case re.StatusCode >= 500:
			return drerr.Unavailable
		}
		return drerr.Internal
	}
	var ce *auth.CallError
	var se *auth.StatusError
	var ne net.Error
	switch {
	case errors.As(err, &ce) && errors.As(ce.Last, &se) && se.Code == http.StatusTooManyRequests:
		return drerr.Throttled // still throttled when the deadline came
	case errors.As(err, &ce) && (ce.Reached || errors.As(ce.Last, &se)):
		return drerr.Unavailable // the endpoint answered (or was slow), with failures, whatever ended the call
	case errors.As(err, &ce) && ce.Last != nil:
		// No try got an answer: every one failed to connect. This, and only this, is
		// what a plan may read as "that side is down".
		return drerr.Unreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return drerr.Interrupted // our own deadline cut the call short
	case errors.As(err, &ne):
		return drerr.Unreachable
	}
	return drerr.Internal
}
