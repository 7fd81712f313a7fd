package hostsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Request is a caller's request to an HTTP-triggered function.
type Request struct {
	Method  string      // default GET
	URL     string      // path and query, e.g. "/api/status?verbose=1"; empty: the function's route
	Headers http.Header // as the caller sent them
	Body    []byte
}

// Response is what the caller receives from the host.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Result is the invocation behind the response; zero when the host answered
	// without invoking the handler (no route, wrong method, missing key).
	Result Result
}

// Handler serves HTTP function fn through the host at a real address, as the function
// app's would: each request goes through HTTP, its answer back to the caller as the
// host gave it; a request the host cannot pass on answers 502.
func (h *Host) Handler(fn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := h.HTTP(r.Context(), fn, Request{Method: r.Method, URL: r.URL.RequestURI(), Headers: r.Header.Clone(), Body: body})
		if err != nil && resp.StatusCode == 0 {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	})
}

// HTTP sends req to HTTP function fn through the host: routing (route prefix, route
// template, methods), keys, then the invocation with the request wrapped in
// Data.<trigger binding> (or forwarded as is, when host.json enables forwarding and
// the function is exactly httpTrigger + http output). A failed invocation answers
// 500 and its outputs are dropped; otherwise the http output becomes the response and
// Service Bus outputs are sent. When the host would answer without invoking, the
// Response holds its answer and the error wraps ErrNotFound, ErrMethodNotAllowed or
// ErrUnauthorized. Other errors: misuse, or ctx ended.
func (h *Host) HTTP(ctx context.Context, fn string, req Request) (Response, error) {
	f, err := h.app.Function(fn)
	if err != nil {
		return Response{}, err
	}
	if f.Trigger != HTTPTrigger {
		return Response{}, fmt.Errorf("hostsim: function %s has a %s, not an httpTrigger", fn, f.Trigger)
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	target := req.URL
	if target == "" {
		if strings.Contains(f.Route, "{") {
			return Response{}, fmt.Errorf("hostsim: function %s has route parameters (%s): give Request.URL", fn, f.Route)
		}
		target = "/" + strings.TrimPrefix(h.app.RoutePrefix+"/"+f.Route, "/")
	}
	u, err := url.Parse(target)
	if err != nil {
		return Response{}, fmt.Errorf("hostsim: request URL: %w", err)
	}
	notInvoked := func(status int, why error) (Response, error) {
		return Response{StatusCode: status, Header: http.Header{}}, fmt.Errorf("%w: %s %s (function %s)", why, method, u.Path, fn)
	}
	params, ok := matchRoute(h.app.RoutePrefix, f.Route, u.Path)
	if !ok || f.Disabled {
		return notInvoked(http.StatusNotFound, ErrNotFound)
	}
	if len(f.Methods) > 0 && !slices.Contains(f.Methods, method) {
		// The host's router treats the method as a route constraint: no match, 404.
		return notInvoked(http.StatusNotFound, ErrMethodNotAllowed)
	}
	query := u.Query()
	if !h.authorized(f, req.Headers, query) {
		return notInvoked(http.StatusUnauthorized, ErrUnauthorized)
	}
	if h.app.ForwardHTTP && f.HTTPOutput != "" && len(f.ServiceBusOutputs) == 0 {
		return h.forward(ctx, f, method, u, req)
	}

	publicURL := target
	if !u.IsAbs() {
		publicURL = h.opts.PublicURL + u.RequestURI()
	}
	data, metadata := h.httpPayload(f, method, publicURL, u, query, params, req)
	res, ctxErr := h.invoke(ctx, f, data, metadata)
	if ctxErr != nil {
		return Response{Result: res}, ctxErr
	}
	var resp Response
	if res.Success {
		if resp, err = httpReply(f, &res); err != nil {
			res.Success, res.Err = false, err
		}
	}
	h.applyQueueOutputs(f, &res)
	if !res.Success {
		// The host turns a failed invocation into a bare 500; outputs are dropped.
		return Response{StatusCode: http.StatusInternalServerError, Header: http.Header{}, Result: res}, nil
	}
	resp.Result = res
	return resp, nil
}

// httpPayload wraps the request as HttpRequestExtensions.GetRequestAsJObject does,
// with the HTTP trigger's binding data (Query, Headers, route values, sys) as
// Metadata.
func (h *Host) httpPayload(f *Function, method, publicURL string, u *url.URL, query url.Values, params map[string]string, req Request) (data, metadata map[string]any) {
	headers := http.Header{}
	for k, v := range req.Headers {
		headers[k] = slices.Clone(v)
	}
	// Kestrel lists the request's Host and Content-Length among its headers.
	if headers.Get("Host") == "" {
		if pu, err := url.Parse(publicURL); err == nil && pu.Host != "" {
			headers.Set("Host", pu.Host)
		}
	}
	if len(req.Body) > 0 && headers.Get("Content-Length") == "" {
		headers.Set("Content-Length", strconv.Itoa(len(req.Body)))
	}
	q := map[string]string{}
	for k, v := range query {
		q[k] = strings.Join(v, ",") // StringValues.ToString()
	}
	hdrFlat := map[string]string{}
	for k, v := range headers {
		hdrFlat[k] = strings.Join(v, ",")
	}
	if params == nil {
		params = map[string]string{}
	}
	r := map[string]any{
		"Url":        publicURL,
		"Method":     method,
		"Query":      q,
		"Headers":    headers, // name: [values]
		"Params":     params,
		"Identities": []any{}, // key-based identities are not simulated
	}
	if len(req.Body) > 0 {
		if isOctetOrMultipart(headers.Get("Content-Type")) {
			r["Body"] = base64.StdEncoding.EncodeToString(req.Body) // byte[] in a JObject
		} else {
			r["Body"] = string(req.Body)
		}
	}
	metadata = map[string]any{"Query": q, "Headers": hdrFlat, "sys": sysData(f.Name, h.opts.Now())}
	for k, v := range params {
		metadata[k] = hostValue(v)
	}
	return map[string]any{f.TriggerBinding: r}, metadata
}

func isOctetOrMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/"))
}

func (h *Host) authorized(f *Function, hdr http.Header, query url.Values) bool {
	if f.AuthLevel == "anonymous" || (h.opts.FunctionKey == "" && h.opts.MasterKey == "") {
		return true
	}
	key := query.Get("code")
	if key == "" {
		key = hdr.Get("X-Functions-Key")
	}
	if key == "" {
		return false
	}
	if h.opts.MasterKey != "" && key == h.opts.MasterKey {
		return true
	}
	return f.AuthLevel == "function" && h.opts.FunctionKey != "" && key == h.opts.FunctionKey
}

// forward sends the caller's request to the handler unchanged (at its own path), as
// the host does for forwarded functions, and returns the handler's answer verbatim.
func (h *Host) forward(ctx context.Context, f *Function, method string, u *url.URL, req Request) (Response, error) {
	res := Result{Function: f.Name, InvocationID: newGUID(), Request: bytes.Clone(req.Body)}
	ictx, cancel := ctx, context.CancelFunc(func() {})
	if t := h.timeout(); t > 0 {
		ictx, cancel = context.WithTimeout(ctx, t)
	}
	defer cancel()
	hr, err := http.NewRequestWithContext(ictx, method, h.URL()+u.EscapedPath()+queryPart(u), bytes.NewReader(req.Body))
	if err != nil {
		return Response{}, fmt.Errorf("hostsim: %w", err)
	}
	for k, v := range req.Headers {
		hr.Header[k] = slices.Clone(v)
	}
	h.hostHeaders(hr.Header, res.InvocationID)
	resp, err := h.client.Do(hr)
	if err == nil {
		res.Status = resp.StatusCode
		res.ContentType = resp.Header.Get("Content-Type")
		res.Body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return Response{Result: res}, ctx.Err()
		}
		res.Err = fmt.Errorf("hostsim: forward to %s: %w", f.Name, err)
		return Response{StatusCode: http.StatusInternalServerError, Header: http.Header{}, Result: res}, nil
	}
	res.Success = true // any answer is the response; its status is the caller's business
	return Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: res.Body, Result: res}, nil
}

func queryPart(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// httpReply turns the http output into the caller's response, as
// GetHttpOutputBindingResponse and HttpBinding.CreateResult do.
func httpReply(f *Function, res *Result) (Response, error) {
	resp := Response{StatusCode: http.StatusOK, Header: http.Header{}}
	if f.HTTPOutput == "" {
		return resp, nil // no http output binding: an empty 200
	}
	raw, ok := res.output(f.HTTPOutput)
	if !ok {
		// The host binds an empty object, which is then written as the body.
		resp.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp.Body = []byte("{}")
		return resp, nil
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] == '"' { // the host parses the output's text, so a string may hold the object
		var s string
		_ = json.Unmarshal(raw, &s)
		raw = bytes.TrimSpace([]byte(s))
	}
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return resp, fmt.Errorf("hostsim: output %s: %s is not an object with statusCode, body and headers", f.HTTPOutput, snippet(raw))
	}
	field := func(name string) (json.RawMessage, bool) {
		for k, v := range obj {
			if strings.EqualFold(k, name) && !isNull(v) {
				return bytes.TrimSpace(v), true
			}
		}
		return nil, false
	}
	if sc, ok := field("statusCode"); ok {
		// StatusCode is read as a string; int.TryParse must accept it or it is 200.
		// ("status" is not read: the host always sets StatusCode, even to null.)
		text := string(sc)
		var s string
		if json.Unmarshal(sc, &s) == nil {
			text = s
		}
		if n, err := strconv.Atoi(strings.TrimSpace(text)); err == nil {
			resp.StatusCode = n
		}
	}
	if hv, ok := field("headers"); ok {
		var hdrs map[string]json.RawMessage
		if err := json.Unmarshal(hv, &hdrs); err != nil {
			return resp, fmt.Errorf("hostsim: output %s: headers: %w", f.HTTPOutput, err)
		}
		for k, v := range hdrs {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(bytes.TrimSpace(v))
			}
			resp.Header.Add(k, s)
		}
	}
	body, ok := field("body")
	switch {
	case !ok:
		// A null body with status 200 becomes 204 (ASP.NET's no-content formatter).
		if resp.StatusCode == http.StatusOK {
			resp.StatusCode = http.StatusNoContent
		}
	case body[0] == '"':
		var s string
		_ = json.Unmarshal(body, &s)
		resp.Body = []byte(s)
		if resp.Header.Get("Content-Type") == "" {
			resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, body); err != nil {
			return resp, fmt.Errorf("hostsim: output %s: body: %w", f.HTTPOutput, err)
		}
		resp.Body = buf.Bytes()
		if resp.Header.Get("Content-Type") == "" {
			resp.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	return resp, nil
}

// checkRoute accepts the route templates the simulator can match: literal segments
// and whole-segment parameters {name}, {name?}, {name:constraint}, {*rest}.
func checkRoute(route string) error {
	for seg := range strings.SplitSeq(route, "/") {
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") || strings.Count(seg, "{") != 1 {
			return fmt.Errorf("route %q: segment %q: only whole-segment parameters are simulated", route, seg)
		}
	}
	return nil
}

// matchRoute matches a request path against routePrefix/route, case-insensitively
// for literals, and returns the route values. Constraints are not checked.
func matchRoute(prefix, route, path string) (map[string]string, bool) {
	tmpl := strings.Trim(strings.Trim(prefix, "/")+"/"+route, "/")
	ts := strings.Split(tmpl, "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) == 1 && ps[0] == "" {
		ps = nil
	}
	params := map[string]string{}
	for i, t := range ts {
		if !strings.HasPrefix(t, "{") {
			if i >= len(ps) || !strings.EqualFold(t, ps[i]) {
				return nil, false
			}
			continue
		}
		name := strings.Trim(t, "{}")
		optional := strings.HasSuffix(name, "?")
		name = strings.TrimSuffix(name, "?")
		catchAll := strings.HasPrefix(name, "*")
		name = strings.TrimLeft(name, "*")
		name, _, _ = strings.Cut(name, ":")
		name, def, hasDef := strings.Cut(name, "=")
		switch {
		case catchAll:
			if i < len(ps) {
				params[name] = strings.Join(ps[i:], "/")
			}
			return params, true
		case i < len(ps):
			params[name] = ps[i]
		case optional:
		case hasDef:
			params[name] = def
		default:
			return nil, false
		}
	}
	if len(ps) > len(ts) {
		return nil, false
	}
	return params, true
}
