package hostsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors a caller can test with errors.Is.
var (
	// ErrTimeout: the invocation outlived the per-invocation timeout.
	ErrTimeout = errors.New("hostsim: invocation timed out")
	// ErrNoMessage: DeliverOne found no deliverable message.
	ErrNoMessage = errors.New("hostsim: no message to deliver")
	// ErrNotFound: no HTTP function matches the request's route, or it is disabled.
	ErrNotFound = errors.New("hostsim: no function at this route")
	// ErrMethodNotAllowed: the route matches but the function does not accept the method.
	ErrMethodNotAllowed = errors.New("hostsim: method not allowed")
	// ErrUnauthorized: the function's authLevel needs a key the request does not carry.
	ErrUnauthorized = errors.New("hostsim: missing or wrong function key")
)

// DefaultHostVersion is what the simulator reports as the host's version.
const DefaultHostVersion = "4.1036.1.1"

// Options tune a Host. The zero value behaves as the host does.
type Options struct {
	// InvocationTimeout bounds each POST to the handler. Zero means host.json's
	// functionTimeout + 1 minute, the host's own HTTP timeout (none when unlimited).
	InvocationTimeout time.Duration
	// Client posts invocations. Default: a client of its own (no overall timeout).
	Client *http.Client
	// Now is the clock for enqueue times, expiry and sys.UtcNow. Default time.Now.
	Now func() time.Time
	// HostVersion is sent in X-Azure-Functions-HostVersion and User-Agent.
	HostVersion string
	// PublicURL is the app's address as callers see it ("Url" of a wrapped HTTP
	// request). Default http://localhost:7071, as `func start` serves.
	PublicURL string
	// FunctionKey and MasterKey, when set, are required as ?code= or x-functions-key
	// by authLevel function (either key) and admin (master key only) functions. When
	// empty, keys are not checked, as `func start` does locally.
	FunctionKey, MasterKey string
}

// Host drives a custom handler as the Functions host does. It is safe for concurrent
// use: concurrent deliveries from one queue get different messages (peek-lock).
type Host struct {
	app    *App
	opts   Options
	client *http.Client

	mu         sync.Mutex
	baseURL    string
	queues     map[string]*queue
	deliveries []DeliveryRecord
}

// New returns a host for app whose handler listens at baseURL (e.g.
// "http://127.0.0.1:PORT"). Every queue named by a trigger or output exists, with
// default options.
func New(app *App, baseURL string, opts Options) *Host {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HostVersion == "" {
		opts.HostVersion = DefaultHostVersion
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://localhost:7071"
	}
	opts.PublicURL = strings.TrimSuffix(opts.PublicURL, "/")
	client := opts.Client
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	h := &Host{app: app, opts: opts, client: client, baseURL: strings.TrimSuffix(baseURL, "/"), queues: map[string]*queue{}}
	for _, fn := range app.Functions {
		if fn.Queue != "" {
			h.queueLocked(fn.Queue)
		}
		for _, o := range fn.ServiceBusOutputs {
			h.queueLocked(o.Queue)
		}
	}
	return h
}

// App returns the indexed function app.
func (h *Host) App() *App { return h.app }

// URL returns the handler's current base URL.
func (h *Host) URL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.baseURL
}

// SetURL points the host at a restarted handler. Idle connections to the old one are
// dropped so that no invocation fails on a dead keep-alive connection.
func (h *Host) SetURL(baseURL string) {
	h.mu.Lock()
	h.baseURL = strings.TrimSuffix(baseURL, "/")
	h.mu.Unlock()
	h.client.CloseIdleConnections()
}

// Result is one invocation as the host saw it.
type Result struct {
	Function     string
	InvocationID string
	Request      []byte // the body POSTed to the handler
	Status       int    // the handler's HTTP status; 0 when no reply arrived
	ContentType  string // the reply's Content-Type
	Body         []byte // the reply as received
	// Outputs, Logs and ReturnValue are what the handler sent, when the reply could be
	// read. The host applies them only when Success.
	Outputs     map[string]json.RawMessage
	Logs        []string
	ReturnValue json.RawMessage
	// Success is whether the host counts the invocation as successful: a 2xx reply
	// that is a JSON object served as application/json, with outputs it can bind.
	Success bool
	Err     error // why it failed; nil on success
	Elapsed time.Duration
}

func (h *Host) function(name, trigger string) (*Function, error) {
	fn, err := h.app.Function(name)
	if err != nil {
		return nil, err
	}
	if fn.Trigger != trigger {
		return nil, fmt.Errorf("hostsim: function %s has a %s, not a %s", name, fn.Trigger, trigger)
	}
	if fn.Disabled {
		return nil, fmt.Errorf("hostsim: function %s is disabled: the host does not run it", name)
	}
	return fn, nil
}

func (h *Host) timeout() time.Duration {
	if h.opts.InvocationTimeout > 0 {
		return h.opts.InvocationTimeout
	}
	if h.app.FunctionTimeout > 0 {
		return h.app.FunctionTimeout + time.Minute
	}
	return 0
}

// Post sends a ready-made invocation body to function fn exactly as the host sends
// one (path, headers, timeout) and reads the reply by the host's rules, without
// applying any output. For payload variants the typed methods do not produce.
// The error is non-nil only when ctx ends; a failed invocation is Result.Err.
func (h *Host) Post(ctx context.Context, fn string, payload []byte) (Result, error) {
	f, err := h.app.Function(fn)
	if err != nil {
		return Result{}, err
	}
	return h.post(ctx, f, payload)
}

// invoke encodes data and metadata as the host's envelope and posts it.
func (h *Host) invoke(ctx context.Context, fn *Function, data, metadata map[string]any) (Result, error) {
	payload, err := marshal(map[string]any{"Data": data, "Metadata": metadata})
	if err != nil {
		return Result{}, fmt.Errorf("hostsim: encode invocation: %w", err)
	}
	return h.post(ctx, fn, payload)
}

func (h *Host) post(ctx context.Context, fn *Function, payload []byte) (Result, error) {
	res := Result{Function: fn.Name, InvocationID: newGUID(), Request: payload}
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()

	ictx, cancel := ctx, context.CancelFunc(func() {})
	if t := h.timeout(); t > 0 {
		ictx, cancel = context.WithTimeout(ctx, t)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(ictx, http.MethodPost, h.URL()+"/"+fn.Name, bytes.NewReader(payload))
	if err != nil {
		return res, fmt.Errorf("hostsim: %w", err)
	}
	h.hostHeaders(req.Header, res.InvocationID)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")

	resp, err := h.client.Do(req)
	if err == nil {
		res.Status = resp.StatusCode
		res.ContentType = resp.Header.Get("Content-Type")
		res.Body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			res.Err = ctx.Err()
			return res, ctx.Err() // the caller gave up, not the handler
		}
		if errors.Is(err, context.DeadlineExceeded) {
			res.Err = fmt.Errorf("%w after %s: %w", ErrTimeout, h.timeout(), err)
		} else {
			// Connection refused or reset, handler killed mid-invocation: the
			// host's HttpClient throws and the invocation fails.
			res.Err = fmt.Errorf("hostsim: invoke %s: %w", fn.Name, err)
		}
		return res, nil
	}
	res.Err = readReply(&res)
	res.Success = res.Err == nil
	return res, nil
}

// hostHeaders sets what the host adds to every request it sends the handler.
func (h *Host) hostHeaders(hdr http.Header, invocationID string) {
	hdr.Set("X-Azure-Functions-HostVersion", h.opts.HostVersion)
	hdr.Set("X-Azure-Functions-InvocationId", invocationID)
	hdr.Set("User-Agent", "Azure-Functions-Host/"+h.opts.HostVersion)
}

// readReply applies the host's rules to a reply: EnsureSuccessStatusCode, then
// ReadAsAsync<HttpScriptInvocationResult>, which needs a JSON media type and a JSON
// object.
func readReply(res *Result) error {
	if res.Status < 200 || res.Status > 299 {
		return fmt.Errorf("hostsim: handler answered %d: the host fails the invocation and drops its outputs and logs (body %s)", res.Status, snippet(res.Body))
	}
	// Parse what is there even when the media type is wrong: useful when debugging.
	perr := parseReplyBody(res)
	mt, _, err := mime.ParseMediaType(res.ContentType)
	if err != nil || (mt != "application/json" && mt != "text/json") {
		return fmt.Errorf("hostsim: reply Content-Type %q is not application/json: the host cannot read it (Go's sniffing says text/plain unless the handler sets it)", res.ContentType)
	}
	return perr
}

func parseReplyBody(res *Result) error {
	trimmed := bytes.TrimSpace(res.Body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("hostsim: reply is not a JSON object: %s", snippet(res.Body))
	}
	var r struct {
		Outputs     map[string]json.RawMessage `json:"Outputs"`
		Logs        []json.RawMessage          `json:"Logs"`
		ReturnValue json.RawMessage            `json:"ReturnValue"`
	}
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return fmt.Errorf("hostsim: reply is not of the host's shape: %w", err)
	}
	res.Outputs = map[string]json.RawMessage{}
	for k, v := range r.Outputs {
		if !isNull(v) { // a null output is no output
			res.Outputs[k] = v
		}
	}
	for _, l := range r.Logs {
		var s string
		if json.Unmarshal(l, &s) != nil {
			s = string(l) // Json.NET turns a number into its text
		}
		res.Logs = append(res.Logs, s)
	}
	if !isNull(r.ReturnValue) {
		res.ReturnValue = r.ReturnValue
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func snippet(b []byte) string {
	const max = 300
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

// output returns the value the handler gave binding name: "$return" is the
// ReturnValue, anything else an entry of Outputs (matched exactly, as the host does).
func (r *Result) output(name string) (json.RawMessage, bool) {
	if name == "$return" {
		return r.ReturnValue, r.ReturnValue != nil
	}
	v, ok := r.Outputs[name]
	return v, ok
}

// queueSends collects the Service Bus messages a successful reply asks for.
func queueSends(fn *Function, res *Result) (map[string][]Message, error) {
	sends := map[string][]Message{}
	for _, o := range fn.ServiceBusOutputs {
		raw, ok := res.output(o.Name)
		if !ok {
			continue
		}
		msgs, err := outputMessages(raw, o.DataType == "binary")
		if err != nil {
			return nil, fmt.Errorf("hostsim: output %s: %w", o.Name, err)
		}
		sends[o.Queue] = append(sends[o.Queue], msgs...)
	}
	return sends, nil
}
