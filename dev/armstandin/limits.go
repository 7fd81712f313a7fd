package armstandin

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits are ARM's request throttling as the stand-in applies it: the token bucket
// algorithm ARM uses since 2024, one bucket per subscription, principal and kind of
// request. A bucket starts full; each request takes a token; tokens come back at the
// refill rate up to the bucket's size; a request finding no token is answered 429 and
// takes none.
//
// A zero field takes ARM's value, so Limits{TimeScale: 100} is ARM a hundred times
// faster. TimeScale multiplies the refill rates and leaves the sizes alone: a burst
// is as large as at ARM, the waits after it are shorter. Values below 1 count as 1.
//
// ARM gives deletes a bucket of their own (200, 10/s) and caps a whole subscription
// at 15 times these numbers across principals; the stand-in draws the few DELETEs it
// serves (artifacts) from the write bucket and sees one or two principals, so it
// models neither.
type Limits struct {
	ReadBucket           int     `json:"readBucket"`
	ReadRefillPerSecond  float64 `json:"readRefillPerSecond"`
	WriteBucket          int     `json:"writeBucket"`
	WriteRefillPerSecond float64 `json:"writeRefillPerSecond"`
	TimeScale            float64 `json:"timeScale"`
	// Off lets every request through. New turns ARM's limits on: a stand-in that
	// answers faster than Azure hides the bugs that only throttling shows.
	Off bool `json:"off"`
}

// ARMLimits returns ARM's per-principal limits (reads 250, refilling 25 a second;
// writes 200, refilling 10 a second) with time running timeScale times faster.
func ARMLimits(timeScale float64) Limits {
	return Limits{ReadBucket: 250, ReadRefillPerSecond: 25, WriteBucket: 200, WriteRefillPerSecond: 10, TimeScale: timeScale}
}

// withDefaults fills the zero fields with ARM's values.
func (l Limits) withDefaults() Limits {
	arm := ARMLimits(1)
	if l.ReadBucket <= 0 {
		l.ReadBucket = arm.ReadBucket
	}
	if l.ReadRefillPerSecond <= 0 {
		l.ReadRefillPerSecond = arm.ReadRefillPerSecond
	}
	if l.WriteBucket <= 0 {
		l.WriteBucket = arm.WriteBucket
	}
	if l.WriteRefillPerSecond <= 0 {
		l.WriteRefillPerSecond = arm.WriteRefillPerSecond
	}
	l.TimeScale = max(l.TimeScale, 1)
	return l
}

// kind is the bucket a request draws from, named as in ARM's
// x-ms-ratelimit-remaining-subscription-{kind} header.
func kind(method string) string {
	if method == http.MethodGet || method == http.MethodHead {
		return "reads"
	}
	return "writes"
}

// limiter holds the buckets. Each is kept as the instant at which it will be full
// again (the "theoretical arrival time" of GCRA, the integer form of a token bucket):
// a request at now is admitted when at most size-1 refill intervals remain until
// then, and moves that instant one interval on. Everything is whole nanoseconds, so
// a bucket admits exactly its size however the requests interleave.
type limiter struct {
	mu     sync.Mutex
	limits Limits
	full   map[string]time.Time // by principal and kind
}

func newLimiter(l Limits) *limiter {
	return &limiter{limits: l.withDefaults(), full: map[string]time.Time{}}
}

// set replaces the limits and refills every bucket.
func (l *limiter) set(lim Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limits, l.full = lim.withDefaults(), map[string]time.Time{}
}

// take draws a token for principal from the bucket of kind k at now. It returns the
// whole tokens left, or -1 when limits are off; or, refused, how long until a token.
func (l *limiter) take(principal, k string, now time.Time) (remaining int, wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.Off {
		return -1, 0, true
	}
	size, rate := l.limits.WriteBucket, l.limits.WriteRefillPerSecond
	if k == "reads" {
		size, rate = l.limits.ReadBucket, l.limits.ReadRefillPerSecond
	}
	interval := max(time.Duration(float64(time.Second)/(rate*l.limits.TimeScale)), 1)
	full := l.full[principal+"\x00"+k]
	if full.Before(now) {
		full = now // a bucket unused for long enough is full, and no fuller
	}
	if late := full.Sub(now) - time.Duration(size-1)*interval; late > 0 {
		return 0, late, false
	}
	full = full.Add(interval)
	l.full[principal+"\x00"+k] = full
	return size - int(ceilDiv(full.Sub(now), interval)), 0, true
}

// ceilDiv is a/b rounded up, for positive durations.
func ceilDiv(a, b time.Duration) int64 { return int64((a + b - 1) / b) }

// principal is who ARM throttles: the subscription in the path and the caller's
// token (the stand-in sees no identities, and a token stands for one).
func principal(r *http.Request, token string) string {
	sub, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/subscriptions/"), "/")
	return strings.ToLower(sub) + "\x00" + token
}

// retryHeaders tell a throttled client when a token will be there: Retry-After in
// whole seconds as HTTP has it, and x-ms-retry-after-ms to the millisecond, which
// azcore's retry policy prefers, so that an SDK client waits no longer than needed.
func retryHeaders(h http.Header, wait time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(max(ceilDiv(wait, time.Second), 1), 10))
	h.Set("x-ms-retry-after-ms", strconv.FormatInt(max(ceilDiv(wait, time.Millisecond), 1), 10))
}
