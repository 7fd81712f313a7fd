package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// CallError is a call that failed after azcore's retries, with how many tries it took
// and what the last try itself ran into: without it, a call to an unreachable endpoint
// cut short by a deadline says only "context deadline exceeded".
type CallError struct {
	Tries int
	// Last is the last failure of a try of its own (a refused connection, a try
	// timeout, an HTTP status), if any; the caller's deadline ending a try is not one.
	Last error
	// Err is what the pipeline returned.
	Err error
	// Reached says some try got an answer (any status) or ran out of its own time
	// while connected: the endpoint is there, however badly it answers.
	Reached bool
	// CallerDone says the caller's context had ended when the call returned.
	CallerDone bool
}

func (e *CallError) Error() string {
	cause := e.Err
	if e.Last != nil {
		cause = e.Last
	}
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(cause, syscall.ECONNREFUSED):
		return fmt.Sprintf("the endpoint refused connections (%d tries): %v", e.Tries, e.Err)
	case errors.As(cause, &dns):
		return fmt.Sprintf("the endpoint's name does not resolve (%d tries): %v", e.Tries, e.Err)
	case errors.Is(cause, syscall.ECONNRESET), errors.Is(cause, net.ErrClosed), errors.Is(cause, io.EOF), errors.Is(cause, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the endpoint closed connections without answering (%d tries): %v", e.Tries, e.Err)
	case errors.As(cause, &ne) && ne.Timeout():
		return fmt.Sprintf("the endpoint did not answer in time (%d tries): %v", e.Tries, e.Err)
	case e.Last != nil && e.Last != e.Err:
		return fmt.Sprintf("%v after %d tries (last: %v)", e.Err, e.Tries, e.Last)
	}
	return fmt.Sprintf("%v (%d tries)", e.Err, e.Tries)
}

// CutByCaller says the caller's own deadline (or cancellation) ended the call's only
// try, which had not failed on its own (no status azcore retries, no try timeout):
// nothing says the endpoint is failing. Replication
// reads such a call, at its run's deadline, as the run's time being up. The code
// stays as codeOf gives it: to a plan asking within its reach budget, an endpoint
// that answered late is slow, not down.
func (e *CallError) CutByCaller() bool {
	return e.CallerDone && e.Tries <= 1 && e.Last == nil
}

func (e *CallError) Unwrap() []error {
	if e.Last == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Last}
}

// StatusError is a try answered with a status azcore retries (429, 5xx).
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Code) }

type triesKey struct{}

type tries struct {
	call context.Context // the call's own context, not a try's
	n    int
	last error
	// reached: some try got an answer (any status) or ran out of its own time
	// (TryTimeout) rather than failing to connect: the endpoint was there.
	reached bool
}

// countCalls wraps a call's error in a CallError; it runs once per call, before the
// retry policy.
type countCalls struct{}

func (countCalls) Do(req *policy.Request) (*http.Response, error) {
	t := &tries{call: req.Raw().Context()}
	resp, err := req.WithContext(context.WithValue(req.Raw().Context(), triesKey{}, t)).Next()
	if err != nil {
		return resp, &CallError{Tries: t.n, Last: t.last, Err: err, Reached: t.reached, CallerDone: t.call.Err() != nil}
	}
	return resp, nil
}

// countTries records each try and its failure; it runs once per try, after the retry
// policy.
type countTries struct{}

func (countTries) Do(req *policy.Request) (*http.Response, error) {
	t, _ := req.Raw().Context().Value(triesKey{}).(*tries)
	resp, err := req.Next()
	if t != nil {
		t.n++
		switch {
		case t.call.Err() != nil:
			// The caller's own deadline or cancellation ended this try: not a failure
			// of the endpoint.
		case err != nil:
			t.last = err
			// A try cut by its own timeout (TryTimeout) was slow, not unreachable.
			t.reached = t.reached || errors.Is(err, context.DeadlineExceeded)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			t.last = &StatusError{Code: resp.StatusCode}
		}
		if err == nil {
			t.reached = true
		}
	}
	return resp, err
}

// Policies adds the try counting to client options.
func Policies(o *policy.ClientOptions) {
	o.PerCallPolicies = append(o.PerCallPolicies, countCalls{})
	o.PerRetryPolicies = append(o.PerRetryPolicies, countTries{})
}
