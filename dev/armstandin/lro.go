package armstandin

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Long-running operations (failovers, integration runtime starts and stops) are served
// by the stand-in itself, as ARM's Location pattern:
//
//	POST {resource}/{action}?api-version=V
//	  → 202 Accepted, Location: {resource}/operationResults/{id}?api-version=V, Retry-After: 1
//	GET  {resource}/operationResults/{id}?api-version=V
//	  → 202 Accepted (same Location, Retry-After: 1) while in progress;
//	    once polled SetPollsToComplete times, the operation completes (the state
//	    changes) and this and every later poll answer the final result: 200 and the
//	    resource's body, or 204 where the SDK's response type has none.
//
// The fakes cannot serve them. Their pollers keep the operation in a tracker inside
// the transport, which the stand-in builds afresh for every request, and they steer
// azcore's fake poller with Fake-Poller-Status headers and in-process URLs: a client
// in another process, or one rebuilt from a resume token after a restart, could not
// follow them. Here the operation lives in the server, its poll URL is plain ARM
// under the resource's own resource group (so that group's reachability, clock and
// the read bucket apply to polls), and any client polls it with azcore's own Location
// poller. Plain reads and synchronous actions still go through the fakes, which route
// and marshal them as the SDK expects.

// handler is a request the stand-in answers itself rather than through a fake.
type handler func(*http.Request) (*http.Response, error)

// Do serves the request.
func (h handler) Do(r *http.Request) (*http.Response, error) { return h(r) }

// answer builds a response with body marshalled as JSON; nil means no body.
func answer(status int, h http.Header, body any) (*http.Response, error) {
	if h == nil {
		h = http.Header{}
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b))}, nil
}

// answerError builds an ARM error response.
func answerError(status int, code, msg string) (*http.Response, error) {
	h := http.Header{}
	h.Set("x-ms-error-code", code)
	return answer(status, h, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// DefaultPollsToComplete is how many polls a long-running operation answers before it
// completes, unless SetPollsToComplete says otherwise.
const DefaultPollsToComplete = 3

// SetPollsToComplete sets on which poll the long-running operations begun from now on
// complete: n = 3 answers 202 to the first two polls and completes on the third. n = 0
// completes an operation in its first answer (200, as a service that finishes at once).
// Operations already begun keep their count.
func (s *Server) SetPollsToComplete(n int) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	s.ssis.pollsToComplete = max(n, 0)
}

// operation is one long-running operation.
type operation struct {
	id, op      string // op as in Write.Op
	group, name string // the resource group called, and the resource's name
	// resource is the lower-case path of the resource acted on: its poll URL hangs
	// off it, and a poll under any other path does not find it.
	resource string
	need     int // polls until it completes
	polls    int
	done     bool
	complete func()            // changes the state; runs once, under ssisState.mu
	result   func() (int, any) // the final answer, taken as it completes
	status   int
	body     any
}

// beginLocked starts op, asked for by r, and returns the first answer: 202 and where
// to poll, or the final answer when operations complete at once. Callers hold
// s.ssis.mu.
func (s *Server) beginLocked(r *http.Request, op *operation) (*http.Response, error) {
	st := s.ssis
	resource := path.Dir(r.URL.Path) // the path less its action
	op.resource, op.need = strings.ToLower(resource), st.pollsToComplete
	if op.need == 0 {
		s.completeLocked(op)
		// A POST's first answer is 200 or 202 to the generated clients, never 204.
		status := op.status
		if status == http.StatusNoContent {
			status = http.StatusOK
		}
		return answer(status, nil, op.body)
	}
	op.id = rand.Text()
	st.ops[op.id] = op
	st.logLocked(s.store.now(), op.op, PhaseBegun, op.group, op.name, op.id)
	loc := url.URL{Scheme: scheme(r), Host: r.Host, Path: resource + "/operationResults/" + op.id}
	loc.RawQuery = url.Values{"api-version": {r.URL.Query().Get("api-version")}}.Encode()
	return inProgress(loc.String())
}

// completeLocked completes op: the state changes and the final answer is fixed.
func (s *Server) completeLocked(op *operation) {
	op.complete()
	op.status, op.body = op.result()
	op.done = true
	s.ssis.logLocked(s.store.now(), op.op, PhaseCompleted, op.group, op.name, op.id)
}

// pollOperation serves GET {resource}/operationResults/{id}. Only polls that reach it
// count: one refused for the limits, or cut off, does not move the operation on.
func (s *Server) pollOperation(id string) handler {
	return func(r *http.Request) (*http.Response, error) {
		st := s.ssis
		st.mu.Lock()
		defer st.mu.Unlock()
		op, ok := st.ops[id]
		if !ok || op.resource != strings.ToLower(path.Dir(path.Dir(r.URL.Path))) {
			return answerError(http.StatusNotFound, "OperationNotFound", "no operation "+id+" on this resource")
		}
		if !op.done {
			op.polls++
			if op.polls >= op.need {
				s.completeLocked(op)
			}
		}
		if !op.done {
			return inProgress((&url.URL{Scheme: scheme(r), Host: r.Host}).String() + r.URL.RequestURI())
		}
		return answer(op.status, nil, op.body)
	}
}

// inProgress is ARM's answer for an operation still running: poll loc, in a second.
func inProgress(loc string) (*http.Response, error) {
	h := http.Header{}
	h.Set("Location", loc)
	h.Set("Retry-After", strconv.Itoa(1))
	return answer(http.StatusAccepted, h, nil)
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
