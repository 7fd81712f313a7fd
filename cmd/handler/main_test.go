package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A setting refused at start-up is named, and whatever secret it holds is not
// echoed into the log.
func TestAStartUpErrorDoesNotEchoASecret(t *testing.T) {
	const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"alert rules naming a rule with a key in it", map[string]string{
			"DR_ALERT_RULES": `{"rules":[{"rule":"ia-down;AccountKey=` + key + `","pair":"nope","action":"failover","mode":"auto"}]}`,
		}, "DR_ALERT_RULES"},
		{"alert rules that are not JSON, around a key", map[string]string{"DR_ALERT_RULES": "AccountKey=" + key}, "DR_ALERT_RULES"},
		{"a storage setting that is a connection string with a bad table name", map[string]string{
			"DR_STATE_TABLE": "bad name;AccountKey=" + key,
		}, "DR_STATE_TABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"FUNCTIONS_CUSTOMHANDLER_PORT": "0",
				"AzureWebJobsStorage":          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + key + ";TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			var buf bytes.Buffer
			log := newLogger(&buf)
			err := run(context.Background(), log, func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("the handler started with a bad setting")
			}
			log.Error("handler stopped", "err", err)
			if out := buf.String(); strings.Contains(out, key) || strings.Contains(out, key[:20]) || !strings.Contains(out, tt.want) {
				t.Errorf("log:\n%s", out)
			}
		})
	}
}
