package handlers

import (
	"encoding/json"
	"testing"
)

func TestWantsHTMLFollowsTheAcceptHeadersPreferences(t *testing.T) {
	tests := []struct {
		accept []string
		query  string
		want   bool
	}{
		{nil, "", false},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}, "", true}, // a browser
		{[]string{"text/html,application/xhtml+xml,*/*;q=0.8"}, "", true},
		{[]string{"text/html"}, "", true},
		{[]string{"TEXT/HTML; charset=utf-8"}, "", true},
		{[]string{"*/*"}, "", false}, // curl
		{[]string{"application/json"}, "", false},
		{[]string{"application/json, text/html;q=0.1"}, "", false},
		{[]string{"application/json, text/html;q=0"}, "", false},
		{[]string{"text/html;q=0"}, "", false},
		{[]string{"text/html;q=0, */*"}, "", false},
		{[]string{"text/html;q=0.9, application/json;q=0.5"}, "", true},
		{[]string{"text/html;q=0.5, */*;q=0.9"}, "", false},
		{[]string{"text/*, application/json;q=0.8"}, "", true},
		{[]string{"text/html;q=0.5, application/*;q=0.4"}, "", true},
		{[]string{"application/json;q=0.2", "text/html;q=0.3"}, "", true}, // two header lines
		{[]string{"text/html;q=abc"}, "", false},
		{[]string{"text/html;q=2"}, "", false},
		{[]string{"garbage;;;, , text/html"}, "", true},
		{[]string{"application/json"}, "html", true},
		{[]string{"application/json"}, "HTML", true},
	}
	for _, tt := range tests {
		req, _ := json.Marshal(map[string]any{"Headers": map[string][]string{"Accept": tt.accept}, "Query": map[string]string{"format": tt.query}})
		inv := Invocation{Data: map[string]json.RawMessage{bindRequest: req}}
		if got := wantsHTML(inv); got != tt.want {
			t.Errorf("Accept %q, ?format=%s: wantsHTML = %v, want %v", tt.accept, tt.query, got, tt.want)
		}
	}
}
