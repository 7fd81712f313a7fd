package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The --json schema, written down here apart from the code that produces it: scripts
// depend on these keys. checkSchema decodes a document strictly into these types (no
// unknown key anywhere) and checks that every key they name is present (none is
// optional: an absent value is null or [], never a missing key).

type schemaStatus struct {
	Generated  time.Time         `json:"generated"`
	Streams    []schemaStream    `json:"streams"`
	Readiness  []schemaReadiness `json:"readiness"`
	Pending    []schemaOperation `json:"pending"`
	Operations []schemaOperation `json:"operations"`
	SSIS       []schemaSSIS      `json:"ssis"`
	Problems   []string          `json:"problems"`
}

type schemaStream struct {
	Pair                string     `json:"pair"`
	ActiveRegion        string     `json:"activeRegion"`
	Epoch               int64      `json:"epoch"`
	Direction           string     `json:"direction"`
	Watermark           *time.Time `json:"watermark"`
	LagSeconds          float64    `json:"lagSeconds"`
	SinceSuccessSeconds float64    `json:"sinceSuccessSeconds"`
	LastRun             *time.Time `json:"lastRun"`
	LastWrites          int64      `json:"lastWrites"`
	LastListed          int64      `json:"lastListed"`
	LastError           string     `json:"lastError"`
	Scan                string     `json:"scan"`
	ScanListed          int64      `json:"scanListed"`
	Reconciling         bool       `json:"reconciling"`
	ReconcileListed     int64      `json:"reconcileListed"`
	LastReconciled      *time.Time `json:"lastReconciled"`
	Runs                int64      `json:"runs"`
	Writes              int64      `json:"writes"`
	RunInProgress       bool       `json:"runInProgress"`
}

type schemaOperation struct {
	ID                string       `json:"id"`
	Pair              string       `json:"pair"`
	Action            string       `json:"action"`
	Status            string       `json:"status"`
	DryRun            bool         `json:"dryRun"`
	Force             bool         `json:"force"`
	Target            string       `json:"target"`
	Side              string       `json:"side"`
	Reason            string       `json:"reason"`
	RequestedBy       string       `json:"requestedBy"`
	AlertID           string       `json:"alertId"`
	AlertRule         string       `json:"alertRule"`
	Created           time.Time    `json:"created"`
	Updated           time.Time    `json:"updated"`
	Done              *time.Time   `json:"done"`
	RTOSeconds        *float64     `json:"rtoSeconds"`
	LagAtStartSeconds float64      `json:"lagAtStartSeconds"`
	EpochBefore       int64        `json:"epochBefore"`
	EpochAfter        int64        `json:"epochAfter"`
	Error             string       `json:"error"`
	Steps             []schemaStep `json:"steps"`
}

type schemaStep struct {
	Name    string     `json:"name"`
	Status  string     `json:"status"`
	Started *time.Time `json:"started"`
	Ended   *time.Time `json:"ended"`
	Outcome string     `json:"outcome"`
	Changes []string   `json:"changes"`
}

type schemaReadiness struct {
	Pair   string        `json:"pair"`
	At     time.Time     `json:"at"`
	From   string        `json:"from"`
	To     string        `json:"to"`
	Ready  bool          `json:"ready"`
	Checks []schemaCheck `json:"checks"`
	Bumps  []string      `json:"bumps"`
	Notes  []string      `json:"notes"`
}

type schemaCheck struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Why     string `json:"why"`
}

type schemaSSIS struct {
	Pair         string           `json:"pair"`
	ReconciledAt *time.Time       `json:"reconciledAt"`
	Converged    bool             `json:"converged"`
	Unknown      string           `json:"unknown"`
	Serving      string           `json:"serving"`
	Sides        []schemaSSISSide `json:"sides"`
	InFlight     []string         `json:"inFlight"`
	Changes      []string         `json:"changes"`
	Problems     []string         `json:"problems"`
	Reading      []string         `json:"reading"`
}

type schemaSSISSide struct {
	Side         string `json:"side"`
	Role         string `json:"role"`
	Serves       bool   `json:"serves"`
	Runtime      string `json:"runtime"`
	RuntimeState string `json:"runtimeState"`
	RuntimeWant  string `json:"runtimeWant"`
	InFlight     string `json:"inFlight"`
	Triggers     []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"triggers"`
	Schedules []struct {
		ID      int    `json:"id"`
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
	} `json:"schedules"`
	Agent string `json:"agent"`
}

type schemaPlan struct {
	Operation schemaOperation `json:"operation"`
	Then      []struct {
		Step   string `json:"step"`
		Change string `json:"change"`
	} `json:"then"`
}

type schemaCheckpoint struct {
	Pair                string     `json:"pair"`
	Stored              bool       `json:"stored"`
	ActiveRegion        string     `json:"activeRegion"`
	Epoch               int64      `json:"epoch"`
	CheckpointEpoch     int64      `json:"checkpointEpoch"`
	Watermark           *time.Time `json:"watermark"`
	LagSeconds          float64    `json:"lagSeconds"`
	ClockOffsetSeconds  float64    `json:"clockOffsetSeconds"`
	Scan                schemaScan `json:"scan"`
	Reconcile           schemaScan `json:"reconcile"`
	LastReconciled      *time.Time `json:"lastReconciled"`
	LastHealed          int64      `json:"lastHealed"`
	LastRun             *time.Time `json:"lastRun"`
	LastDurationSeconds float64    `json:"lastDurationSeconds"`
	LastWrites          int64      `json:"lastWrites"`
	LastListed          int64      `json:"lastListed"`
	LastError           string     `json:"lastError"`
	LastSuccess         *time.Time `json:"lastSuccess"`
	LeaseOwner          string     `json:"leaseOwner"`
	LeaseUntil          *time.Time `json:"leaseUntil"`
	LeaseHeld           bool       `json:"leaseHeld"`
	Runs                int64      `json:"runs"`
	Writes              int64      `json:"writes"`
	FutureStamped       int64      `json:"futureStamped"`
	OverlapMemory       int        `json:"overlapMemory"`
	ObservedRates       int        `json:"observedRates"`
}

type schemaScan struct {
	Kind     string     `json:"kind"`
	Since    *time.Time `json:"since"`
	Listed   int64      `json:"listed"`
	Writes   int64      `json:"writes"`
	Resuming bool       `json:"resuming"`
}

type schemaQueued struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Pair   string `json:"pair"`
	Queue  string `json:"queue"`
	Queued bool   `json:"queued"`
}

type schemaDeadLetter struct {
	SequenceNumber int64      `json:"sequenceNumber"`
	MessageID      string     `json:"messageId"`
	ID             string     `json:"id"`
	Action         string     `json:"action"`
	Pair           string     `json:"pair"`
	Reason         string     `json:"reason"`
	Description    string     `json:"description"`
	EnqueuedTime   *time.Time `json:"enqueuedTime"`
	DeliveryCount  uint32     `json:"deliveryCount"`
}

// checkSchema decodes doc strictly into a new T and checks that every key T names is
// present, at every depth; it returns the decoded value.
func checkSchema[T any](t testing.TB, what, doc string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not of the schema: %v\n%s", what, err, doc)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON document on stdout", what)
	}
	var raw any
	d := json.NewDecoder(bytes.NewReader([]byte(doc)))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if missing := missingKeys(reflect.TypeFor[T](), raw, "$"); len(missing) > 0 {
		t.Fatalf("%s: keys missing: %s\n%s", what, strings.Join(missing, ", "), doc)
	}
	return v
}

// missingKeys lists the keys typ names that raw lacks, recursively.
func missingKeys(typ reflect.Type, raw any, path string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	var out []string
	switch typ.Kind() {
	case reflect.Slice:
		list, _ := raw.([]any)
		for i, e := range list {
			out = append(out, missingKeys(typ.Elem(), e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Struct:
		if typ == reflect.TypeFor[time.Time]() {
			return nil
		}
		obj, ok := raw.(map[string]any)
		if !ok {
			if raw != nil {
				out = append(out, path+" (not an object)")
			}
			return out
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if key == "" || key == "-" {
				continue
			}
			val, ok := obj[key]
			if !ok {
				out = append(out, path+"."+key)
				continue
			}
			out = append(out, missingKeys(f.Type, val, path+"."+key)...)
		}
	}
	return out
}

// fakeT records a failure instead of failing the test, and stops the check there.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic(f)
}

func TestTheSchemaCheckerRefusesAnUnknownAndAMissingKey(t *testing.T) {
	type doc struct {
		A int `json:"a"`
		B []struct {
			C string `json:"c"`
		} `json:"b"`
	}
	refused := func(s string) (failed bool) {
		ft := &fakeT{TB: t}
		defer func() {
			if r := recover(); r != nil && r != ft {
				panic(r)
			}
			failed = ft.failed
		}()
		checkSchema[doc](ft, "doc", s)
		return false
	}
	if refused(`{"a":1,"b":[{"c":"x"}]}`) {
		t.Error("a document of the schema was refused")
	}
	if !refused(`{"a":1,"b":[{"c":"x","d":2}]}`) {
		t.Error("an unknown nested key was accepted")
	}
	if !refused(`{"a":1,"b":[{}]}`) {
		t.Error("a missing nested key was accepted")
	}
	if !refused(`{"a":1}`) {
		t.Error("a missing list was accepted")
	}
}
