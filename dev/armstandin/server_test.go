package armstandin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
)

const (
	sub   = "00000000-0000-0000-0000-000000000001"
	group = "b2b-test"
	acct  = "ia-test"
)

// clock is a machine clock that moves only when told, so that buckets refill by
// exactly the time a test says.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// serve starts a stand-in; with a clock, the stand-in reads time from it.
func serve(t *testing.T, c *clock) (*Server, string) {
	t.Helper()
	s := New()
	if c != nil {
		s.store.now = c.now
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url, err := s.Start(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, url
}

// token is a principal: the stand-in tells principals apart by their bearer token.
// "local-stand-in" is the app's local token.
type token string

func (tk token) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(tk), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// clients returns armlogic clients for the stand-in, as principal tk, with azcore's
// default retries unless noRetry. The options are those azure/auth.ARM gives a
// loopback endpoint (cloud endpoint, bearer token over plain http); they are built
// here so that these tests exercise the stand-in and azcore, not the app's policies.
func clients(t *testing.T, url string, tk token, noRetry bool) *armlogic.ClientFactory {
	t.Helper()
	f, err := armlogic.NewClientFactory(sub, tk, armOptions(url, noRetry))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// armOptions point any ARM SDK client at the stand-in at url.
func armOptions(url string, noRetry bool) *arm.ClientOptions {
	opts := &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: url, Audience: "https://management.core.windows.net/"},
				},
			},
			InsecureAllowCredentialWithHTTP: true,
		},
	}
	if noRetry {
		opts.Retry = policy.RetryOptions{MaxRetries: -1}
	}
	return opts
}

// call is one ARM request through an SDK client; it returns the raw response, the
// error response's when the call failed with one.
type call func(context.Context, *armlogic.ClientFactory) (*http.Response, error)

func raw(ctx context.Context, do func(context.Context) error) (*http.Response, error) {
	var resp *http.Response
	err := do(policy.WithCaptureResponse(ctx, &resp))
	if re := (*azcore.ResponseError)(nil); errors.As(err, &re) {
		resp = re.RawResponse
	}
	return resp, err
}

func putSession(acct, name string, content any) call {
	return func(ctx context.Context, f *armlogic.ClientFactory) (*http.Response, error) {
		return raw(ctx, func(ctx context.Context) error {
			_, err := f.NewIntegrationAccountSessionsClient().CreateOrUpdate(ctx, group, acct, name,
				armlogic.IntegrationAccountSession{Properties: &armlogic.IntegrationAccountSessionProperties{Content: content}}, nil)
			return err
		})
	}
}

func getSession(acct, name string) call {
	return func(ctx context.Context, f *armlogic.ClientFactory) (*http.Response, error) {
		return raw(ctx, func(ctx context.Context) error {
			_, err := f.NewIntegrationAccountSessionsClient().Get(ctx, group, acct, name, nil)
			return err
		})
	}
}

func listAgreements(acct string) call {
	return func(ctx context.Context, f *armlogic.ClientFactory) (*http.Response, error) {
		return raw(ctx, func(ctx context.Context) error {
			_, err := f.NewIntegrationAccountAgreementsClient().NewListPager(group, acct, nil).NextPage(ctx)
			return err
		})
	}
}

func getWorkflow(group, name string) call {
	return func(ctx context.Context, f *armlogic.ClientFactory) (*http.Response, error) {
		return raw(ctx, func(ctx context.Context) error {
			_, err := f.NewWorkflowsClient().Get(ctx, group, name, nil)
			return err
		})
	}
}

func admin(t *testing.T, url, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, url+path, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the status is checked
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s %s: %s", path, b, resp.Status)
	}
}

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

var sessionContent = map[string]any{"ControlNumber": "1", "MessageType": 0}

// TestBuckets drives one bucket dry on a stopped clock, then lets it refill by
// exactly the advertised wait.
func TestBuckets(t *testing.T) {
	write := putSession(acct, "s", sessionContent)
	read := getSession(acct, "s")
	for _, tc := range []struct {
		name      string
		limits    Limits
		op, other call
		header    string
		size      int
		wait      time.Duration // advertised once the bucket is empty
		after     string        // Retry-After then
	}{
		{"writes: ARM's 200, 10 a second", Limits{}, write, read, "x-ms-ratelimit-remaining-subscription-writes", 200, 100 * time.Millisecond, "1"},
		{"reads: ARM's 250, 25 a second", ARMLimits(1), read, write, "x-ms-ratelimit-remaining-subscription-reads", 250, 40 * time.Millisecond, "1"},
		{"time scale 100: the same burst, a hundredth of the wait", ARMLimits(100), write, read, "x-ms-ratelimit-remaining-subscription-writes", 200, time.Millisecond, "1"},
		{"a slow bucket: Retry-After rounds up", Limits{WriteBucket: 3, WriteRefillPerSecond: 0.4}, write, read, "x-ms-ratelimit-remaining-subscription-writes", 3, 2500 * time.Millisecond, "3"},
		{"off: no bucket", Limits{Off: true}, write, read, "x-ms-ratelimit-remaining-subscription-writes", 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			s, url := serve(t, c)
			s.PutSession(group, acct, "s", json.RawMessage(`{}`))
			admin(t, url, "/_standin/limits", tc.limits) // admin routes draw no token
			f := clients(t, url, "local-stand-in", true)
			ctx := context.Background()

			if tc.limits.Off {
				for i := range 300 {
					resp, err := tc.op(ctx, f)
					if err != nil {
						t.Fatalf("request %d with limits off: %v", i+1, err)
					}
					if h := resp.Header.Get(tc.header); h != "" {
						t.Fatalf("%s: %s with limits off", tc.header, h)
					}
				}
				return
			}
			for i := range tc.size {
				resp, err := tc.op(ctx, f)
				if err != nil {
					t.Fatalf("request %d of %d: %v", i+1, tc.size, err)
				}
				if got, want := resp.Header.Get(tc.header), strconv.Itoa(tc.size-1-i); got != want {
					t.Fatalf("request %d: %s %q, want %q", i+1, tc.header, got, want)
				}
			}
			throttled := 0
			refused := func(wait time.Duration, after string) {
				t.Helper()
				throttled++
				resp, err := tc.op(ctx, f)
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusTooManyRequests || re.ErrorCode != "TooManyRequests" {
					t.Fatalf("on an empty bucket: %v, want 429 TooManyRequests", err)
				}
				if got := resp.Header.Get("Retry-After"); got != after {
					t.Errorf("Retry-After %q, want %s (whole seconds, rounded up)", got, after)
				}
				if got, want := resp.Header.Get("x-ms-retry-after-ms"), strconv.Itoa(int(wait/time.Millisecond)); got != want {
					t.Errorf("x-ms-retry-after-ms %q, want %s", got, want)
				}
			}
			refused(tc.wait, tc.after)
			refused(tc.wait, tc.after) // a refused request took no token: the wait is the same
			if _, err := tc.other(ctx, f); err != nil {
				t.Fatalf("the other bucket is full: %v", err)
			}
			left := tc.wait
			if left > 2*time.Millisecond {
				c.advance(left - 1500*time.Microsecond)
				refused(2*time.Millisecond, "1") // 1.5 ms, rounded up
				left = 1500 * time.Microsecond
			}
			c.advance(left - time.Nanosecond)
			refused(time.Millisecond, "1") // 1 ns, rounded up: never 0
			c.advance(time.Nanosecond)
			if resp, err := tc.op(ctx, f); err != nil || resp.Header.Get(tc.header) != "0" {
				t.Fatalf("after the advertised wait: %v, want one token", err)
			}
			refused(tc.wait, tc.after)
			if got := s.Stats(false)[group+"/"+acct]["throttled"]; got != throttled {
				t.Errorf("Stats throttled = %d, want %d", got, throttled)
			}
		})
	}
}

func TestPrincipalsHaveTheirOwnBuckets(t *testing.T) {
	_, url := serve(t, &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	ctx := context.Background()
	alice, bob := clients(t, url, "alice", true), clients(t, url, "bob", true)
	for i := range 200 {
		if _, err := putSession(acct, fmt.Sprintf("a-%d", i), sessionContent)(ctx, alice); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := putSession(acct, "a-last", sessionContent)(ctx, alice); status(err) != http.StatusTooManyRequests {
		t.Fatalf("alice's 201st write: %v, want 429", err)
	}
	resp, err := putSession(acct, "b", sessionContent)(ctx, bob)
	if err != nil || resp.Header.Get("x-ms-ratelimit-remaining-subscription-writes") != "199" {
		t.Fatalf("bob's first write: %v, want a full bucket of his own", err)
	}
}

func TestBucketIsExactUnderConcurrentRequests(t *testing.T) {
	s, url := serve(t, &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	f := clients(t, url, "local-stand-in", true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				_, err := putSession(acct, fmt.Sprintf("s-%d-%d", w, i), sessionContent)(context.Background(), f)
				mu.Lock()
				codes[status(err)]++ // 0: written
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[0] != 200 || codes[http.StatusTooManyRequests] != 120 {
		t.Errorf("320 concurrent writes: %v, want 200 written and 120 refused", codes)
	}
	if got := len(s.Sessions(group, acct)); got != 200 {
		t.Errorf("%d sessions stored, want 200", got)
	}
}

// TestRefillInRealTime waits as a client would: the advertised milliseconds, not the
// rounded-up seconds.
func TestRefillInRealTime(t *testing.T) {
	s, url := serve(t, nil)
	// Two writes, then one every 200 ms: slow enough that a write right after another
	// always finds the bucket empty.
	s.SetLimits(Limits{WriteBucket: 2, WriteRefillPerSecond: 0.05, TimeScale: 100})
	ctx := context.Background()
	f := clients(t, url, "local-stand-in", true)
	write := putSession(acct, "s", sessionContent)
	for range 2 {
		if _, err := write(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := write(ctx, f)
	if status(err) != http.StatusTooManyRequests {
		t.Fatalf("third write: %v, want 429", err)
	}
	ms, _ := strconv.Atoi(resp.Header.Get("x-ms-retry-after-ms"))
	if ms < 1 || ms > 200 {
		t.Fatalf("x-ms-retry-after-ms %d, want 1..200", ms)
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	if _, err := write(ctx, f); err != nil {
		t.Fatalf("after the advertised wait: %v", err)
	}
	// The bucket is empty again: azcore's retry policy must wait x-ms-retry-after-ms,
	// not Retry-After's second.
	start := time.Now()
	if _, err := write(ctx, clients(t, url, "local-stand-in", false)); err != nil {
		t.Fatalf("a retried write: %v", err)
	}
	if d := time.Since(start); d >= 900*time.Millisecond {
		t.Errorf("the retried write took %v: the SDK waited Retry-After, not x-ms-retry-after-ms", d)
	}
	if got := s.Stats(false)[group+"/"+acct]["throttled"]; got != 2 {
		t.Errorf("Stats throttled = %d, want 2 (the retried write was refused once)", got)
	}
}

func TestClockOffset(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration
	}{
		{"service ahead", 90 * time.Second},
		{"service behind", -2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url := serve(t, nil)
			s.SetClockOffset(group, "skewed", tc.offset)
			s.SetClockOffset(group+"-other", "", tc.offset) // a whole resource group
			s.PutWorkflow(group+"-other", "wf", armlogic.WorkflowStateEnabled)
			ctx := context.Background()
			f := clients(t, url, "local-stand-in", true)
			// within checks got against the machine's clock from..until moved by d; a
			// Date has whole seconds.
			within := func(what string, got, from, until time.Time, d time.Duration) {
				t.Helper()
				if got.Before(from.Add(d).Truncate(time.Second)) || got.After(until.Add(d)) {
					t.Errorf("%s = %v, want in [%v, %v]", what, got, from.Add(d), until.Add(d))
				}
			}
			date := func(resp *http.Response) time.Time {
				t.Helper()
				d, err := http.ParseTime(resp.Header.Get("Date"))
				if err != nil {
					t.Fatalf("Date %q: %v", resp.Header.Get("Date"), err)
				}
				return d
			}

			from := time.Now()
			plain0 := s.PutSession(group, "plain", "s", json.RawMessage(`{}`))
			resp, err := putSession("skewed", "s", sessionContent)(ctx, f)
			plain1 := s.PutSession(group, "plain", "s", json.RawMessage(`{}`))
			until := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			within("skewed changedTime", s.SessionsWithTimes(group, "skewed")["s"].Changed, from, until, tc.offset)
			within("skewed Date", date(resp), from, until, tc.offset)
			// Each account has its own strictly increasing clock: the skewed one must not
			// drag the other's changedTime along, nor be held back by it.
			within("unskewed changedTime before", plain0, from, until, 0)
			within("unskewed changedTime after", plain1, from, until, 0)
			within("ServiceNow", s.ServiceNow(group, "skewed"), from, time.Now(), tc.offset)

			for _, c := range []struct {
				what  string
				call  call
				skews bool
			}{
				{"agreements of the skewed account", listAgreements("skewed"), true},
				{"sessions of another account", getSession("plain", "s"), false},
				{"a workflow of a skewed resource group", getWorkflow(group+"-other", "wf"), true},
			} {
				from := time.Now()
				resp, err := c.call(ctx, f)
				if err != nil {
					t.Fatalf("%s: %v", c.what, err)
				}
				d := time.Duration(0)
				if c.skews {
					d = tc.offset
				}
				within(c.what+": Date", date(resp), from, time.Now(), d)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		account   string // what is cut off; "" for the whole resource group
		cut       []call
		reachable call
	}{
		{"an account's sessions", acct, []call{getSession(acct, "s")}, getSession("other", "s")},
		{"an account's agreements", acct, []call{listAgreements(acct)}, listAgreements("other")},
		{"a resource group, workflows and all", "", []call{getWorkflow(group, "wf"), getSession(acct, "s"), getSession("other", "s")}, getWorkflow(group+"-2", "wf")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url := serve(t, nil)
			for _, a := range []string{acct, "other"} {
				s.PutSession(group, a, "s", json.RawMessage(`{}`))
			}
			s.PutWorkflow(group, "wf", armlogic.WorkflowStateEnabled)
			s.PutWorkflow(group+"-2", "wf", armlogic.WorkflowStateEnabled)
			ctx := context.Background()
			f := clients(t, url, "local-stand-in", true)
			admin(t, url, "/_standin/unreachable", map[string]any{"group": group, "account": tc.account, "unreachable": true})
			for _, c := range tc.cut {
				_, err := c(ctx, f)
				var re *azcore.ResponseError
				if err == nil || errors.As(err, &re) {
					t.Fatalf("request to an unreachable account: %v, want a transport error", err)
				}
			}
			if _, err := tc.reachable(ctx, f); err != nil {
				t.Fatalf("a request elsewhere: %v", err)
			}
			admin(t, url, "/_standin/unreachable", map[string]any{"group": group, "account": tc.account, "unreachable": false})
			resp, err := tc.cut[0](ctx, f)
			if err != nil {
				t.Fatalf("once reachable: %v", err)
			}
			// The bucket is capped at 250: had a refused request taken a token, at most
			// 248 would be left.
			if got := resp.Header.Get("x-ms-ratelimit-remaining-subscription-reads"); got != "248" {
				t.Errorf("reads remaining %s, want 248 (two served, none for the unreachable ones)", got)
			}
			if got := s.Stats(false)[key(group, tc.account)]["unreachable"]; got == 0 {
				t.Errorf("Stats unreachable = 0")
			}
		})
	}
}

func TestWorkflows(t *testing.T) {
	s, url := serve(t, nil)
	s.PutWorkflow(group, "wf-x12", armlogic.WorkflowStateEnabled)
	ctx := context.Background()
	wc := clients(t, url, "local-stand-in", true).NewWorkflowsClient()
	get := func(name string) (armlogic.WorkflowState, error) {
		resp, err := wc.Get(ctx, group, name, nil)
		if err != nil {
			return "", err
		}
		return *resp.Properties.State, nil
	}
	for _, step := range []struct {
		do        func(context.Context, string, string) error
		name      string
		want      armlogic.WorkflowState
		remaining string // writes left after the step
	}{
		{func(ctx context.Context, g, n string) error { _, err := wc.Disable(ctx, g, n, nil); return err }, "wf-x12", armlogic.WorkflowStateDisabled, "199"},
		{func(ctx context.Context, g, n string) error { _, err := wc.Disable(ctx, g, n, nil); return err }, "wf-x12", armlogic.WorkflowStateDisabled, "198"},
		{func(ctx context.Context, g, n string) error { _, err := wc.Enable(ctx, g, n, nil); return err }, "wf-x12", armlogic.WorkflowStateEnabled, "197"},
	} {
		var resp *http.Response
		if err := step.do(policy.WithCaptureResponse(ctx, &resp), group, step.name); err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-ms-ratelimit-remaining-subscription-writes"); got != step.remaining {
			t.Errorf("writes remaining %s, want %s: enable and disable are writes", got, step.remaining)
		}
		if got, err := get(step.name); err != nil || got != step.want {
			t.Errorf("state through the API: %v, %v; want %v", got, err, step.want)
		}
		if got, ok := s.WorkflowState(group, step.name); !ok || got != step.want {
			t.Errorf("WorkflowState: %v, %v; want %v", got, ok, step.want)
		}
	}
	if _, err := get("missing"); status(err) != http.StatusNotFound {
		t.Errorf("get of a missing workflow: %v, want 404", err)
	}
	if _, err := wc.Enable(ctx, group, "missing", nil); status(err) != http.StatusNotFound {
		t.Errorf("enable of a missing workflow: %v, want 404", err)
	}
	var ops []string
	for _, w := range s.Writes(group, "") {
		ops = append(ops, w.Op+" "+w.Name+" "+string(w.Content))
	}
	want := []string{`workflows.disable wf-x12 {"state":"Disabled"}`, `workflows.disable wf-x12 {"state":"Disabled"}`, `workflows.enable wf-x12 {"state":"Enabled"}`}
	if !slices.Equal(ops, want) {
		t.Errorf("Writes = %q, want %q", ops, want)
	}
	if got := s.Stats(false)[group+"/"]["workflows.enable"]; got != 2 {
		t.Errorf("Stats workflows.enable = %d, want 2", got)
	}
}

func TestWritesLogContent(t *testing.T) {
	s, url := serve(t, nil)
	ctx := context.Background()
	f := clients(t, url, "local-stand-in", true)
	writes := []struct {
		name    string
		content map[string]any
	}{
		{"A-Icn", map[string]any{"ControlNumber": "7"}},
		{"B-Icn", map[string]any{"ControlNumber": "8"}},
		{"A-Icn", map[string]any{"ControlNumber": "9"}},
	}
	from := time.Now()
	for _, w := range writes {
		if _, err := putSession(acct, w.name, w.content)(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Now()
	s.PutSession(group, acct, "direct", json.RawMessage(`{}`)) // not through the API: not logged
	got := s.Writes(group, acct)
	if len(got) != len(writes) {
		t.Fatalf("%d writes logged, want %d", len(got), len(writes))
	}
	times := s.WriteTimes(group, acct)
	for i, w := range writes {
		var content map[string]any
		if err := json.Unmarshal(got[i].Content, &content); err != nil {
			t.Fatal(err)
		}
		if got[i].Op != "sessions.put" || got[i].Name != w.name || fmt.Sprint(content) != fmt.Sprint(w.content) {
			t.Errorf("write %d = %s %s %s, want sessions.put %s %v", i, got[i].Op, got[i].Name, got[i].Content, w.name, w.content)
		}
		if got[i].At.Before(from) || got[i].At.After(until) || (i > 0 && got[i].At.Before(got[i-1].At)) {
			t.Errorf("write %d at %v, want in order within [%v, %v]", i, got[i].At, from, until)
		}
		if !times[i].Equal(got[i].At) {
			t.Errorf("WriteTimes[%d] = %v, want %v", i, times[i], got[i].At)
		}
	}
}

// TestListIndex pages through an account while sessions are added under the cursor:
// the sorted index must take in new names, in order, once each.
func TestListIndex(t *testing.T) {
	s, url := serve(t, nil)
	for _, n := range []string{"s-07", "s-02", "s-09", "s-04", "s-01", "s-08", "s-03", "s-06", "s-05"} {
		s.PutSession(group, acct, n, json.RawMessage(`{}`))
	}
	s.PutSession(group, acct, "S-03", json.RawMessage(`{}`)) // the same session, other case
	pager := clients(t, url, "local-stand-in", true).NewIntegrationAccountSessionsClient().NewListPager(group, acct, &armlogic.IntegrationAccountSessionsClientListOptions{Top: to.Ptr[int32](3)})
	var got []string
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			got = append(got, *v.Name)
		}
		if len(got) == 3 {
			s.PutSession(group, acct, "s-00", json.RawMessage(`{}`)) // behind the cursor
			s.PutSession(group, acct, "s-055", json.RawMessage(`{}`))
			s.PutSession(group, acct, "s-10", json.RawMessage(`{}`))
		}
	}
	want := []string{"s-01", "s-02", "s-03", "s-04", "s-05", "s-055", "s-06", "s-07", "s-08", "s-09", "s-10"}
	if !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
}
