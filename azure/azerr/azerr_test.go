package azerr_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"integration-dr/drerr"
)

// call sends one GET through a pipeline built as the app builds its clients.
func call(ctx context.Context, url string) error {
	return callWith(ctx, url, policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: time.Second})
}

func TestAFailedCallNamesItsCause(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close() // only its address is wanted: nothing listens there now
	throttling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer throttling.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()

	tests := []struct {
		name     string
		url      string
		deadline time.Duration
		code     drerr.Code
		says     string
	}{
		{"an endpoint that refuses connections says so, with its tries", closed, 10 * time.Second, drerr.Unreachable, "refused connections (3 tries)"},
		{"a deadline during 429 back-off is still throttling", throttling.URL, 300 * time.Millisecond, drerr.Throttled, "HTTP 429"},
		{"our own deadline on a slow answer is an interruption, not a failure", slow.URL, 200 * time.Millisecond, drerr.Interrupted, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			err := call(ctx, tt.url)
			if drerr.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %s: %v; want %s saying %q", drerr.CodeOf(err), err, tt.code, tt.says)
			}
		})
	}
}
