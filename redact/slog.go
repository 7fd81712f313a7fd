package redact

import (
	"encoding/json"
	"io"
	"log/slog"
)

// ReplaceAttr masks a log attribute's value (and the message, which slog passes as
// an attribute too): strings, errors, string lists, and anything else whose JSON
// holds a secret (then logged as its masked JSON text). Chain it into a handler's
// HandlerOptions.ReplaceAttr.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); Contains(s) {
			a.Value = slog.StringValue(String(s))
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			a.Value = slog.StringValue(Error(x))
		case []string:
			a.Value = slog.AnyValue(Strings(x))
		default:
			if b, err := json.Marshal(x); err == nil && Contains(string(b)) {
				a.Value = slog.StringValue(String(string(b)))
			}
		}
	}
	return a
}

// JSONHandler is slog's JSON handler with every attribute and message masked.
// opts.ReplaceAttr, if any, runs first.
func JSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	o := slog.HandlerOptions{}
	if opts != nil {
		o = *opts
	}
	next := o.ReplaceAttr
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if next != nil {
			a = next(groups, a)
		}
		return ReplaceAttr(groups, a)
	}
	return slog.NewJSONHandler(w, &o)
}
