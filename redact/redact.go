// Package redact masks what looks like a credential in text that an operator or a
// machine will read: the Status endpoint and page, drctl's output, the journal as
// shown, and the logs. Secrets are not meant to reach any of them, but free text
// arrives from outside (an alert's description, an SDK's error quoting a connection
// string or a signed URL), so every surface masks it here, in one place, rather than
// trusting every producer upstream.
package redact

import (
	"regexp"
)

// Mask is what a secret is replaced with.
const Mask = "[redacted]"

// The patterns. Each keeps what names the secret ("AccountKey=", "Bearer ") so that
// the text still says what was there.
var (
	// name=value in connection strings, query strings and form bodies.
	assignment = regexp.MustCompile(`(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig|code|client_secret|clientSecret|password|pwd|access_token|refresh_token|id_token|token|apikey|api_key)=([^;&\s"'<>,]+)`)
	// "name": "value" in JSON someone pasted into a field.
	quoted = regexp.MustCompile(`(?i)("(?:AccountKey|SharedAccessKey|sig|client_secret|clientSecret|password|access_token|refresh_token|id_token|apiKey|api_key)"\s*:\s*")([^"]*)(")`)
	bearer = regexp.MustCompile(`(?i)\b(bearer)\s+[a-z0-9\-._~+/]+=*`)
	// A JWT: three base64url parts, the first a JSON header ("eyJ" is `{"`).
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*`)
	// A storage account key standing alone: 64 bytes, base64, 88 characters.
	accountKey = regexp.MustCompile(`(^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{86}==)`)
	// An Entra ID client secret as the portal makes them: "xxxNQ~" then 31-34 more.
	clientSecret = regexp.MustCompile(`\b[A-Za-z0-9_\-.]{3}[0-9]Q~[A-Za-z0-9_\-.~]{31,34}`)
)

// String returns s with every credential-shaped part replaced by Mask. Masking
// masked text changes nothing.
func String(s string) string {
	if s == "" {
		return s
	}
	s = jwt.ReplaceAllString(s, Mask)
	s = assignment.ReplaceAllString(s, "${1}="+Mask)
	s = quoted.ReplaceAllString(s, "${1}"+Mask+"${3}")
	s = bearer.ReplaceAllString(s, "${1} "+Mask)
	s = accountKey.ReplaceAllString(s, "${1}"+Mask)
	s = clientSecret.ReplaceAllString(s, Mask)
	return s
}

// Strings masks each of list; nil stays nil, and list itself is not changed.
func Strings(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = String(s)
	}
	return out
}

// Contains says whether s holds anything String would mask.
func Contains(s string) bool { return String(s) != s }

// Error is err's message, masked; "" for nil.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}

// maskedError is an error whose message is masked; errors.Is and As still see the
// original.
type maskedError struct{ err error }

func (e maskedError) Error() string { return String(e.err.Error()) }
func (e maskedError) Unwrap() error { return e.err }

// Err wraps err so that its message comes out masked wherever it is printed.
func Err(err error) error {
	if err == nil {
		return nil
	}
	return maskedError{err}
}
