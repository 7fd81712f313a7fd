// Package lro turns ARM long-running operations into resume tokens that a later
// invocation, or another process, can poll once and forget: never blocking on an
// operation that takes minutes.
package lro

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

// A token is "<verb>:<SDK token>". Only the Begin call an SDK token came from can
// resume it, and the SDK token says which only in an undocumented field, so the
// caller's verb rides in front of it.

// Started turns a freshly begun operation into a resume token: "" when the first answer
// was final (after surfacing a failure in it), else "<verb>:<SDK token>".
func Started[T any](ctx context.Context, op, verb string, p *runtime.Poller[T], err error) (string, error) {
	if err != nil {
		return "", azerr.Wrap(op, err)
	}
	if p.Done() {
		if _, err := p.Result(ctx); err != nil {
			return "", azerr.Wrap(op, err)
		}
		return "", nil
	}
	tok, err := p.ResumeToken()
	if err != nil {
		return "", drerr.E(drerr.Internal, op, err)
	}
	return verb + ":" + tok, nil
}

// PollOnce looks once at a poller rebuilt from a token. err is the rebuild's: the SDK
// reads the token without a request, so its failure means the token is bad.
func PollOnce[T any](ctx context.Context, op string, p *runtime.Poller[T], err error) (bool, error) {
	if err != nil {
		return false, drerr.Errorf(drerr.Invalid, op, "cannot resume from the token: %v", err)
	}
	if _, err := p.Poll(ctx); err != nil {
		return p.Done(), azerr.Wrap(op, err)
	}
	if !p.Done() {
		return false, nil
	}
	if _, err := p.Result(ctx); err != nil {
		return true, azerr.Wrap(op, err)
	}
	return true, nil
}

// SplitToken parses "<verb>:<SDK token>" for one of verbs, and checks that every URL
// the SDK token would poll is on endpoint: a token read back from a journal must not
// send our credential anywhere else.
func SplitToken(op, token string, endpoint *url.URL, verbs ...string) (verb, sdk string, err error) {
	verb, sdk, ok := strings.Cut(token, ":")
	if !ok || !slices.Contains(verbs, verb) {
		return "", "", drerr.Errorf(drerr.Invalid, op, "resume token does not start with one of %s followed by ':'", strings.Join(verbs, ", "))
	}
	var wrapper struct {
		Token map[string]any `json:"token"`
	}
	if err := json.Unmarshal([]byte(sdk), &wrapper); err != nil || wrapper.Token == nil {
		return "", "", drerr.Errorf(drerr.Invalid, op, "resume token is not an SDK poller token")
	}
	for k, v := range wrapper.Token {
		s, isString := v.(string)
		if !strings.HasSuffix(strings.ToLower(k), "url") || !isString || s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || !strings.EqualFold(u.Scheme, endpoint.Scheme) || !strings.EqualFold(u.Host, endpoint.Host) {
			return "", "", drerr.Errorf(drerr.Invalid, op, "resume token polls %q, not a URL on %s", s, endpoint.Host)
		}
	}
	return verb, sdk, nil
}
