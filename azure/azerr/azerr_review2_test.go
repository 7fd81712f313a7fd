package azerr_test

// Review tests (second round): each one fails on the code as reviewed, for the reason
// its comment states.

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"integration-dr/azure/auth"
	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

// callWith sends one GET through a pipeline built as the app builds its clients, with
// the given retry options (auth.Retry() has a TryTimeout too, of 30 s).
func callWith(ctx context.Context, url string, retry policy.RetryOptions) error {
	opts := policy.ClientOptions{Retry: retry}
	auth.Policies(&opts)
	pl := runtime.NewPipeline("test", "v0", runtime.PipelineOptions{}, &opts)
	req, err := runtime.NewRequest(ctx, http.MethodGet, url)
	if err != nil {
		return err
	}
	resp, err := pl.Do(req)
	if err == nil && !runtime.HasStatusCode(resp, http.StatusOK) {
		err = runtime.NewResponseError(resp)
	}
	return azerr.Wrap("get", err)
}

// Unreachable is "the only code a plan may read as that side is down", meant for a
// call whose every try failed to connect. codeOf decides it from CallError.Last, the
// last try's failure alone, and takes any non-status failure there for a failed
// connection. Two calls that did reach the side come out Unreachable:
//   - a side that accepts the connection and answers slowly: azcore's per-try timeout
//     (auth.Retry sets TryTimeout) ends a try with a url.Error wrapping the try's own
//     deadline, which is recorded as Last: slow is taken for down;
//   - a side that answered 503 and then refused the next connection (flapping):
//     it answered within this very call.
//
// The SSIS stop-first reads Unreachable as "the standby is down, go ahead".
func TestOnlyACallThatNeverConnectedIsUnreachable(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()

	var answered atomic.Bool
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flapping := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		if answered.CompareAndSwap(false, true) {
			go func() { _ = ln.Close() }() // then it stops taking connections
		}
	})}}
	flapping.Start()
	defer flapping.Close()

	tests := []struct {
		name  string
		url   string
		retry policy.RetryOptions
	}{
		{"a side that answers slowly, past the per-try timeout", slow.URL,
			policy.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond, TryTimeout: 100 * time.Millisecond}},
		{"a side that answered 503, then refused the next connection", flapping.URL,
			policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := callWith(ctx, tt.url, tt.retry)
			if drerr.Is(err, drerr.Unreachable) {
				t.Fatalf("got %s (%v): a side that was reached in this call is taken as down", drerr.CodeOf(err), err)
			}
		})
	}
}
