package redact_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"integration-dr/redact"
)

const (
	devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	aJWT   = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"
	secret = "abc8Q~Zy3xW_vU9tS.rQpOnMlKjIhGfEdCbA0123"
)

func TestStringMasksEveryShapeOfSecret(t *testing.T) {
	tests := []struct {
		name, in string
		gone     []string // must not survive
		kept     []string // must survive
	}{
		{"a storage connection string keeps its account name", "DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=" + devKey + ";EndpointSuffix=core.windows.net",
			[]string{devKey, "Eby8vdM02"}, []string{"AccountName=contoso", "AccountKey=[redacted]"}},
		{"a bare account key", "the key is " + devKey + " (rotate it)", []string{devKey}, []string{"the key is [redacted] (rotate it)"}},
		{"a Service Bus connection string", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0LWtleS12YWx1ZQ=",
			[]string{"c2VjcmV0LWtleS12YWx1ZQ"}, []string{"SharedAccessKeyName=RootManageSharedAccessKey", "SharedAccessKey=[redacted]"}},
		{"a SAS URL keeps its path", "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-01-01&sig=AbC%2Bdef%3D&sp=r failed",
			[]string{"AbC%2Bdef"}, []string{"https://acct.blob.core.windows.net/c/b?sv=2022-11-02", "sig=[redacted]&sp=r failed"}},
		{"a JWT alone", "token " + aJWT + " expired", []string{aJWT, "eyJzdWIi"}, []string{"token [redacted] expired"}},
		{"a bearer token", "Authorization: Bearer abc.def-ghi_jkl", []string{"abc.def-ghi_jkl"}, []string{"Bearer [redacted]"}},
		{"a bearer JWT", "authorization: bearer " + aJWT, []string{aJWT}, []string{"bearer [redacted]"}},
		{"a client secret as a form field", "grant_type=client_credentials&client_id=1234&client_secret=s3cr3t-value", []string{"s3cr3t-value"}, []string{"client_id=1234", "client_secret=[redacted]"}},
		{"a client secret in JSON", `{"clientId":"1234","clientSecret":"s3cr3t-value"}`, []string{"s3cr3t-value"}, []string{`"clientSecret":"[redacted]"`}},
		{"an Entra client secret alone", "secret " + secret + " leaked", []string{secret}, []string{"secret [redacted] leaked"}},
		{"a function key in a URL", "https://app.azurewebsites.net/api/AlertIntake?code=AbCdEf123==", []string{"AbCdEf123"}, []string{"code=[redacted]"}},
		{"ordinary text is left alone", "failover of contoso-b2b: X12-ICN 1104 -> 2104; epoch 3", nil, []string{"failover of contoso-b2b: X12-ICN 1104 -> 2104; epoch 3"}},
		{"a resource ID is left alone", "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Logic/integrationAccounts/ia-weu", nil, []string{"/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Logic/integrationAccounts/ia-weu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact.String(tt.in)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q survived in %q", g, got)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%q lost from %q", k, got)
				}
			}
			if again := redact.String(got); again != got {
				t.Errorf("masking again changed %q to %q", got, again)
			}
		})
	}
}

func TestErrKeepsTheChainAndMasksTheMessage(t *testing.T) {
	base := errors.New("AccountKey=" + devKey)
	err := redact.Err(base)
	if strings.Contains(err.Error(), devKey) || !errors.Is(err, base) {
		t.Errorf("err %q, is base: %t", err, errors.Is(err, base))
	}
	if redact.Err(nil) != nil || redact.Error(nil) != "" {
		t.Error("nil is not nil")
	}
}

func TestTheLogHandlerMasksMessagesAttributesErrorsAndValues(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redact.JSONHandler(&buf, nil))
	log.Info("alert says sig=abcdef", "text", "AccountKey="+devKey, "err", errors.New("bearer "+aJWT),
		"problems", []string{"code=xyz123"}, slog.Group("g", "note", secret), "value", map[string]string{"a": "SharedAccessKey=zzz"})
	out := buf.String()
	for _, s := range []string{"abcdef", devKey, aJWT, "xyz123", secret, "zzz"} {
		if strings.Contains(out, s) {
			t.Errorf("%q in the log line %s", s, out)
		}
	}
	if !strings.Contains(out, `"msg":"alert says sig=[redacted]"`) {
		t.Errorf("the message lost its shape: %s", out)
	}
}
