package command

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"integration-dr/drerr"
)

func epochOf(n int64) *int64 { return &n }

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		messageID string
		want      Command
	}{
		{
			name: "a full failover command is read field by field",
			body: `{"id":"op-7","action":"failover","pair":"contoso-b2b","reason":"weu down","requestedBy":"ops@contoso.example","force":true,"dryRun":true,"expectedEpoch":4}`,
			want: Command{ID: "op-7", Action: Failover, Pair: "contoso-b2b", Reason: "weu down", RequestedBy: "ops@contoso.example", Force: true, DryRun: true, ExpectedEpoch: epochOf(4)},
		},
		{
			name: "a mirror with prune and a dry run",
			body: `{"id":"m-1","action":"mirror","pair":"contoso-b2b","prune":true,"dryRun":true,"expectedEpoch":2}`,
			want: Command{ID: "m-1", Action: Mirror, Pair: "contoso-b2b", Prune: true, DryRun: true, ExpectedEpoch: epochOf(2)},
		},
		{
			name: "a drift report",
			body: `{"id":"d-1","action":"Drift","pair":"contoso-ssis"}`,
			want: Command{ID: "d-1", Action: Drift, Pair: "contoso-ssis"},
		},
		{
			name:      "a body without id takes the message id",
			body:      `{"action":"drill","pair":"p1"}`,
			messageID: "5f2c3e1b8d7a4c0f9e6b2a1d3c4e5f60",
			want:      Command{ID: "5f2c3e1b8d7a4c0f9e6b2a1d3c4e5f60", Action: Drill, Pair: "p1"},
		},
		{
			name:      "an id in the body wins over the message id",
			body:      `{"id":"mine","action":"drill","pair":"p1"}`,
			messageID: "theirs",
			want:      Command{ID: "mine", Action: Drill, Pair: "p1"},
		},
		{
			name:      "a command wrapped in a JSON string is unwrapped once",
			body:      `"{\"action\":\"fallback\",\"pair\":\"p_2\"}"`,
			messageID: "m1",
			want:      Command{ID: "m1", Action: Fallback, Pair: "p_2"},
		},
		{
			name: "the action is read case-insensitively and kept in lower case",
			body: `{"id":"a","action":"SSIS-Failover","pair":"p"}`,
			want: Command{ID: "a", Action: SSISFailover, Pair: "p"},
		},
		{
			name: "expectedEpoch 0 is an epoch, not an absent one",
			body: `{"id":"a","action":"failover","pair":"p","expectedEpoch":0}`,
			want: Command{ID: "a", Action: Failover, Pair: "p", ExpectedEpoch: epochOf(0)},
		},
		{
			name: "an absent expectedEpoch stays absent",
			body: `{"id":"a","action":"failover","pair":"p"}`,
			want: Command{ID: "a", Action: Failover, Pair: "p"},
		},
		{
			name: "null fields read as absent",
			body: `{"id":"a","action":"attach-ir","pair":"p","reason":null,"force":null,"expectedEpoch":null}`,
			want: Command{ID: "a", Action: AttachIR, Pair: "p"},
		},
		{
			name: "confirm carries the proposed command's id as target",
			body: `{"id":"c1","action":"confirm","pair":"p","target":"alert-0123abcd"}`,
			want: Command{ID: "c1", Action: Confirm, Pair: "p", Target: "alert-0123abcd"},
		},
		{
			name: "reason may be 512 characters of any script",
			body: `{"id":"a","action":"drill","pair":"p","reason":"` + strings.Repeat("é", MaxTextLen) + `"}`,
			want: Command{ID: "a", Action: Drill, Pair: "p", Reason: strings.Repeat("é", MaxTextLen)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.body), tt.messageID)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	ok := `"action":"failover","pair":"p"`
	tests := []struct {
		name      string
		body      string
		messageID string
		op        string // the field named
		says      string // part of the message
	}{
		{"a body over 64 KiB", `{` + ok + `,"reason":"` + strings.Repeat("x", MaxBody) + `"}`, "m", "command", "limit is 65536"},
		{"a body that is not JSON", `{"action":`, "m", "command", "not JSON"},
		{"an empty body", ``, "m", "command", "not JSON"},
		{"a JSON array", `[{` + ok + `}]`, "m", "command", "an array"},
		{"a string holding a string", `"\"{}\""`, "m", "command", "a string"},
		{"a string holding no JSON", `"failover please"`, "m", "command", "does not hold JSON"},
		{"data after the object", `{` + ok + `} {}`, "m", "command", "not JSON"},
		{"an unknown field", `{` + ok + `,"region":"weu"}`, "m", "command.region", "not a command field"},
		{"a field spelled in another case", `{"Action":"failover","pair":"p"}`, "m", "command.Action", "not a command field"},
		{"a field given twice", `{` + ok + `,"action":"drill"}`, "m", "command.action", "twice"},
		{"a missing action", `{"pair":"p"}`, "m", "command.action", "is required"},
		{"prune on a failover", `{` + ok + `,"prune":true}`, "m", "command.prune", "only for mirror"},
		{"prune that is not a boolean", `{"action":"mirror","pair":"p","prune":"yes"}`, "m", "command.prune", "want true or false"},
		{"force on a mirror", `{"action":"mirror","pair":"p","force":true}`, "m", "command.force", "not for mirror"},
		{"force on a drift", `{"action":"drift","pair":"p","force":true}`, "m", "command.force", "not for drift"},
		{"an unknown action", `{"action":"explode","pair":"p"}`, "m", "command.action", `"explode" is not one of failover, fallback, drill, confirm, ssis-failover, attach-ir`},
		{"an action that is not a string", `{"action":1,"pair":"p"}`, "m", "command.action", "want a string"},
		{"a missing pair", `{"action":"failover"}`, "m", "command.pair", "is required"},
		{"a pair with a space", `{"action":"failover","pair":"a b"}`, "m", "command.pair", "not a pair name"},
		{"a pair of 64 characters", `{"action":"failover","pair":"` + strings.Repeat("p", 64) + `"}`, "m", "command.pair", "not a pair name"},
		{"an empty id", `{"id":"",` + ok + `}`, "m", "command.id", "is empty"},
		{"an id with a slash", `{"id":"a/b",` + ok + `}`, "m", "command.id", "not 1-128"},
		{"an id of 129 characters", `{"id":"` + strings.Repeat("i", 129) + `",` + ok + `}`, "m", "command.id", "not 1-128"},
		{"no id in the body and no message id", `{` + ok + `}`, "", "command.id", "is required"},
		{"no id in the body and a message id of the wrong shape", `{` + ok + `}`, "a b", "command.id", "message id"},
		{"a reason of 513 characters", `{` + ok + `,"reason":"` + strings.Repeat("r", 513) + `"}`, "m", "command.reason", "limit is 512"},
		{"a requestedBy of 513 characters", `{` + ok + `,"requestedBy":"` + strings.Repeat("r", 513) + `"}`, "m", "command.requestedBy", "limit is 512"},
		{"a force that is a string", `{` + ok + `,"force":"yes"}`, "m", "command.force", "want true or false"},
		{"a dryRun that is a number", `{` + ok + `,"dryRun":1}`, "m", "command.dryRun", "want true or false"},
		{"a negative expectedEpoch", `{` + ok + `,"expectedEpoch":-1}`, "m", "command.expectedEpoch", "not a whole number"},
		{"a fractional expectedEpoch", `{` + ok + `,"expectedEpoch":1.5}`, "m", "command.expectedEpoch", "not a whole number"},
		{"an expectedEpoch in exponent form", `{` + ok + `,"expectedEpoch":1e3}`, "m", "command.expectedEpoch", "not a whole number"},
		{"an expectedEpoch beyond int64", `{` + ok + `,"expectedEpoch":9223372036854775808}`, "m", "command.expectedEpoch", "not a whole number"},
		{"an expectedEpoch that is a string", `{` + ok + `,"expectedEpoch":"3"}`, "m", "command.expectedEpoch", "not a whole number"},
		{"a confirm without target", `{"action":"confirm","pair":"p"}`, "m", "command.target", "is required for confirm"},
		{"a confirm whose target is not an id", `{"action":"confirm","pair":"p","target":"a b"}`, "m", "command.target", "not 1-128"},
		{"a target on a failover", `{` + ok + `,"target":"x"}`, "m", "command.target", "only for confirm and cancel"},
		{"a cancel without a reason", `{"action":"cancel","pair":"p","target":"fo-1"}`, "m", "command.reason", "is required for cancel"},
		{"a cancel without target", `{"action":"cancel","pair":"p","reason":"rebuilt"}`, "m", "command.target", "is required for cancel"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body), tt.messageID)
			assertInvalid(t, err, tt.op, tt.says)
		})
	}
}

func assertInvalid(t *testing.T, err error, op, says string) {
	t.Helper()
	var e *drerr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *drerr.Error", err)
	}
	if e.Code != drerr.Invalid || e.Op != op || !strings.Contains(err.Error(), says) {
		t.Fatalf("error = %s %q: %q, want invalid %q containing %q", e.Code, e.Op, err, op, says)
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
	}{
		{"a bare command", Command{ID: "a", Action: Drill, Pair: "p"}},
		{"every field set", Command{ID: "a.b:c", Action: Failover, Pair: "p", Reason: "<why> & how", RequestedBy: "me", Force: true, DryRun: true, ExpectedEpoch: epochOf(9)}},
		{"epoch 0", Command{ID: "a", Action: Fallback, Pair: "p", ExpectedEpoch: epochOf(0)}},
		{"a confirm", Command{ID: "a", Action: Confirm, Pair: "p", Target: "t"}},
		{"a forced cancel", Command{ID: "a", Action: Cancel, Pair: "p", Target: "t", Reason: "the old region was rebuilt", Force: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" decodes to itself", func(t *testing.T) {
			got, err := Decode(tt.cmd.Encode(), "")
			if err != nil {
				t.Fatalf("Decode(Encode()): %v", err)
			}
			if !reflect.DeepEqual(got, tt.cmd) {
				t.Fatalf("round trip = %+v, want %+v", got, tt.cmd)
			}
		})
	}
}

func TestEncodeOmitsWhatIsAbsent(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(Command{ID: "a", Action: Drill, Pair: "p"}.Encode(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"expectedEpoch", "target", "force", "dryRun", "reason", "requestedBy"} {
		if _, ok := m[k]; ok {
			t.Errorf("Encode wrote %q for a command without it", k)
		}
	}
}

func TestValidate(t *testing.T) {
	known := func(p string) bool { return strings.EqualFold(p, "contoso-b2b") }
	tests := []struct {
		name  string
		cmd   Command
		known func(string) bool
		op    string // "" when valid
	}{
		{"a command for a configured pair is valid", Command{ID: "a", Action: Failover, Pair: "contoso-b2b"}, known, ""},
		{"a command for an unknown pair is refused", Command{ID: "a", Action: Failover, Pair: "fabrikam"}, known, "command.pair"},
		{"no pair list skips the membership check", Command{ID: "a", Action: Failover, Pair: "fabrikam"}, nil, ""},
		{"an action built in upper case is refused", Command{ID: "a", Action: "FAILOVER", Pair: "contoso-b2b"}, known, "command.action"},
		{"a command built without id is refused", Command{Action: Drill, Pair: "contoso-b2b"}, known, "command.id"},
		{"a negative epoch built in code is refused", Command{ID: "a", Action: Drill, Pair: "contoso-b2b", ExpectedEpoch: epochOf(-2)}, known, "command.expectedEpoch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cmd.Validate(tt.known)
			if tt.op == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			assertInvalid(t, err, tt.op, "")
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"action":"failover","pair":"contoso-b2b","reason":"primary region outage drill","requestedBy":"ops@contoso.example"}`), "5f2c3e1b8d7a4c0f9e6b2a1d3c4e5f60")
	f.Add([]byte(`"{\"id\":\"x\",\"action\":\"Confirm\",\"pair\":\"p\",\"target\":\"alert-1\"}"`), "")
	f.Add([]byte(`{"id":"a","action":"drill","pair":"p","expectedEpoch":0,"force":false,"dryRun":true}`), "m")
	f.Add([]byte(`{"action":"drill","pair":"p","action":"x"}`), "m")
	f.Add([]byte(`[1,2]`), "")
	f.Fuzz(func(t *testing.T, body []byte, messageID string) {
		c, err := Decode(body, messageID)
		if err != nil {
			if !drerr.Is(err, drerr.Invalid) {
				t.Fatalf("Decode error is not invalid: %v", err)
			}
			return
		}
		if err := c.Validate(nil); err != nil {
			t.Fatalf("decoded command does not validate: %v", err)
		}
		again, err := Decode(c.Encode(), "")
		if err != nil {
			t.Fatalf("re-encoded command %s does not decode: %v", c.Encode(), err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip = %+v, want %+v", again, c)
		}
	})
}
