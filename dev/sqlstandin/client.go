package sqlstandin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"integration-dr/drerr"
	"integration-dr/mssql"
	"integration-dr/ssis"
)

var _ ssis.Database = (*Client)(nil)

// Client is SSISDB at one host of a stand-in Server, with mssql.DB's semantics and
// error codes.
type Client struct {
	base string // scheme://ip:port[/prefix], no trailing slash
	host string // the SQL endpoint host, without a port
	kind mssql.Kind
	http *http.Client
}

// NewClient returns a client of the SSISDB at host (what mssql.Config.Server holds:
// a host name, with or without ":port") on a server of kind, served by the stand-in
// at baseURL. baseURL must be plain HTTP to a loopback IP address: the client is only
// ever for a stand-in on this machine, and carries no credentials.
func NewClient(baseURL, host string, kind mssql.Kind) (*Client, error) {
	const op = "open SSISDB stand-in"
	if kind != mssql.ManagedInstance && kind != mssql.SQLDatabase {
		return nil, drerr.Errorf(drerr.Invalid, op, "unknown server kind %v", kind)
	}
	h, _, err := mssql.SplitServer(host)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	base, err := loopbackBase(baseURL)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // loopback only: never through a proxy from the environment
	return &Client{
		base: base, host: h, kind: kind,
		// A safety net for a caller without a deadline; running out is Unavailable
		// (the server did not answer), unlike the caller's own deadline.
		http: &http.Client{Transport: t, Timeout: time.Minute},
	}, nil
}

// loopbackBase checks baseURL and returns it without a trailing slash. Errors do
// not echo it.
func loopbackBase(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", errors.New("stand-in URL does not parse")
	}
	if u.Scheme != "http" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", errors.New("stand-in URL must be http://<loopback ip>:<port>, without user, query or fragment")
	}
	// Only a literal IP: a name could resolve anywhere.
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return "", errors.New("stand-in URL must name a loopback IP address")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Role reads SSISDB's geo-replication role through mssql.RoleOf: no row is
// mssql.RoleNone, rows that disagree or an unknown value are mssql.RoleUnknown with
// an error.
func (c *Client) Role(ctx context.Context) (mssql.Role, error) {
	const op = "read SSISDB replication role"
	var reply roleReply
	if err := c.do(ctx, op, http.MethodGet, "/role", nil, &reply); err != nil {
		return mssql.RoleUnknown, err
	}
	return mssql.RoleOf(reply.Rows)
}

// Schedules returns the schedules with the given ids or names through
// mssql.SelectSchedules, with a drerr.NotFound naming any that are missing. On SQL
// Database it fails as drerr.Invalid wrapping mssql.ErrNoAgent without asking.
func (c *Client) Schedules(ctx context.Context, ids []int, names []string) ([]mssql.Schedule, error) {
	const op = "read SQL Agent schedules"
	if err := mssql.RequireAgent(c.kind, op); err != nil {
		return nil, err
	}
	var reply schedulesReply
	if err := c.do(ctx, op, http.MethodGet, "/schedules", nil, &reply); err != nil {
		return nil, err
	}
	var all []mssql.Schedule
	for _, r := range reply.Rows {
		all = append(all, mssql.Schedule(r))
	}
	return mssql.SelectSchedules(all, ids, names)
}

// SetScheduleEnabled enables or disables schedule id: drerr.NotFound when there is
// none; on SQL Database drerr.Invalid wrapping mssql.ErrNoAgent without asking.
func (c *Client) SetScheduleEnabled(ctx context.Context, id int, enabled bool) error {
	op := fmt.Sprintf("set SQL Agent schedule %d enabled=%t", id, enabled)
	if err := mssql.RequireAgent(c.kind, op); err != nil {
		return err
	}
	return c.do(ctx, op, http.MethodPost, "/schedules/"+strconv.Itoa(id), enabledBody{Enabled: &enabled}, nil)
}

// FailoverIntegrationRuntime attaches SSISDB to data factory dataFactory's
// integration runtime irName; empty names are drerr.Invalid without asking.
func (c *Client) FailoverIntegrationRuntime(ctx context.Context, dataFactory, irName string) error {
	op := fmt.Sprintf("attach SSISDB to integration runtime %s/%s", dataFactory, irName)
	if dataFactory == "" || irName == "" {
		return drerr.Errorf(drerr.Invalid, op, "data factory and integration runtime names are required")
	}
	return c.do(ctx, op, http.MethodPost, "/failover-integration-runtime", failoverBody{DataFactory: dataFactory, IntegrationRuntime: irName}, nil)
}

// do sends one request and decodes a 2xx answer into out (when not nil). Errors are
// classified as mssql.DB classifies the driver's: our own deadline or cancellation
// is Interrupted, an error the server raised goes by its number
// (mssql.ErrorNumberCode), a connection refused or closed without an answer is
// Unreachable, and a 5xx or an answer cut short is Unavailable.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return drerr.E(drerr.Internal, op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/"+url.PathEscape(c.host)+path, body)
	if err != nil {
		return drerr.E(drerr.Internal, op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transport(ctx, op, err)
	}
	defer func() { _ = resp.Body.Close() }() // read below; its read error is the one that counts
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return drerr.E(drerr.Interrupted, op, err)
		}
		return drerr.E(drerr.Unavailable, op, err) // it answered, then failed
	}
	if resp.StatusCode/100 != 2 {
		return drerr.E(statusCode(resp.StatusCode, data), op, answerError(resp.Status, data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		// The answer came whole but is not the protocol: a bug on one side.
		return drerr.E(drerr.Internal, op, fmt.Errorf("stand-in answer: %w", err))
	}
	return nil
}

// transport classifies an exchange that got no answer: ours when our context ended;
// Unavailable when the client's own time limit ran out (the server may be slow, not
// gone); Unreachable otherwise: the connection was refused, or closed without an
// answer, as the stand-in does for a host whose region is down.
func (c *Client) transport(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return drerr.E(drerr.Interrupted, op, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return drerr.E(drerr.Unavailable, op, err)
	}
	return drerr.E(drerr.Unreachable, op, err)
}

// statusCode is the code of an error answer: by SQL error number when the server
// raised one, else 404 NotFound, 502 (no such host) Unreachable, other 5xx
// Unavailable, and anything else Internal (the stand-in refused a request this
// client should never send).
func statusCode(status int, data []byte) drerr.Code {
	var e errorReply
	if json.Unmarshal(data, &e) == nil && e.Error.Number != 0 {
		return mssql.ErrorNumberCode(e.Error.Number)
	}
	switch {
	case status == http.StatusNotFound:
		return drerr.NotFound
	case status == http.StatusBadGateway:
		// The stand-in's answer for a host it does not serve: a real client could
		// not have opened a connection to it.
		return drerr.Unreachable
	case status >= 500:
		return drerr.Unavailable
	}
	return drerr.Internal
}

func answerError(status string, data []byte) error {
	var e errorReply
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return &e.Error
	}
	return fmt.Errorf("stand-in answered %s", status)
}
