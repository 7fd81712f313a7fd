package hostsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Trigger types the simulator drives.
const (
	TimerTrigger      = "timerTrigger"
	ServiceBusTrigger = "serviceBusTrigger"
	HTTPTrigger       = "httpTrigger"
)

// defaultServiceBusConnection is the setting the Service Bus extension (5.x) reads
// when a binding names no connection.
const defaultServiceBusConnection = "AzureWebJobsServiceBus"

// App is a function app as the host sees it after indexing functions/ and host.json.
type App struct {
	Dir       string               // the folder holding one folder per function
	Functions map[string]*Function // by folder name (the name the host POSTs to)

	FunctionTimeout time.Duration // host.json functionTimeout; 0 means unlimited ("-1")
	RoutePrefix     string        // host.json extensions.http.routePrefix (default "api")
	ForwardHTTP     bool          // host.json customHandler.enableForwardingHttpRequest
	// AutoComplete is extensions.serviceBus.autoCompleteMessages (default true). A custom
	// handler cannot settle messages itself, so with false nothing completes them.
	AutoComplete bool
}

// Function is one functions/<Name>/function.json after %SETTING% resolution.
type Function struct {
	Name           string
	Trigger        string // TimerTrigger, ServiceBusTrigger or HTTPTrigger
	TriggerBinding string // the trigger binding's name: the key in Data
	DataType       string // the trigger's dataType ("", "string", "binary")
	Disabled       bool   // "disabled": true, or the AzureWebJobs.<Name>.Disabled setting

	// Timer trigger.
	Schedule   string
	UseMonitor bool // as configured (default true); see Host.Timer for sub-minute schedules

	// Service Bus trigger.
	Queue      string
	Connection string // setting name (prefix) of the namespace connection

	// HTTP trigger.
	Route     string   // without the route prefix; defaults to the function name
	Methods   []string // upper case; empty means any method
	AuthLevel string   // anonymous, function or admin

	// Outputs.
	HTTPOutput        string        // name of the "http" output binding ("$return" allowed); "" if none
	ServiceBusOutputs []QueueOutput // "serviceBus" output bindings

	schedule *schedule
}

// QueueOutput is a Service Bus output binding.
type QueueOutput struct {
	Name       string // key in the reply's Outputs ("$return": the ReturnValue)
	Queue      string
	Connection string
	DataType   string
}

// Function returns the named function, or an error naming what exists.
func (a *App) Function(name string) (*Function, error) {
	if f, ok := a.Functions[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("hostsim: no function %q (have %s)", name, strings.Join(a.Names(), ", "))
}

// Names lists the functions, sorted.
func (a *App) Names() []string {
	names := make([]string, 0, len(a.Functions))
	for n := range a.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load indexes functionsDir as the host does at start-up: every
// <functionsDir>/<Name>/function.json, with %SETTING% placeholders resolved from
// settings (the app settings; the process environment is not consulted, so tests stay
// deterministic). host.json is read from functionsDir or, in the repository layout,
// its parent. What the host would refuse to index is an error naming the function.
func Load(functionsDir string, settings map[string]string) (*App, error) {
	app := &App{Dir: functionsDir, Functions: map[string]*Function{}, FunctionTimeout: 5 * time.Minute, RoutePrefix: "api", AutoComplete: true}
	if err := app.readHostJSON(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(functionsDir)
	if err != nil {
		return nil, fmt.Errorf("hostsim: read functions folder: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(functionsDir, e.Name(), "function.json")
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the host skips folders without function.json
		}
		if err != nil {
			return nil, fmt.Errorf("hostsim: function %s: %w", e.Name(), err)
		}
		fn, err := parseFunction(e.Name(), raw, settings)
		if err != nil {
			return nil, fmt.Errorf("hostsim: function %s: %w", e.Name(), err)
		}
		app.Functions[fn.Name] = fn
	}
	if len(app.Functions) == 0 {
		return nil, fmt.Errorf("hostsim: no function.json under %s", functionsDir)
	}
	return app, nil
}

type hostJSON struct {
	Version         string  `json:"version"`
	FunctionTimeout *string `json:"functionTimeout"`
	CustomHandler   struct {
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
		ServiceBus struct {
			AutoCompleteMessages *bool `json:"autoCompleteMessages"`
		} `json:"serviceBus"`
	} `json:"extensions"`
}

func (a *App) readHostJSON() error {
	var raw []byte
	for _, dir := range []string{a.Dir, filepath.Dir(filepath.Clean(a.Dir))} {
		b, err := os.ReadFile(filepath.Join(dir, "host.json"))
		if err == nil {
			raw = b
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hostsim: host.json: %w", err)
		}
	}
	if raw == nil {
		return nil // defaults
	}
	var h hostJSON
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("hostsim: host.json: %w", err)
	}
	if h.Version != "2.0" {
		return fmt.Errorf("hostsim: host.json: version %q: the Functions v4 host requires \"2.0\"", h.Version)
	}
	if h.FunctionTimeout != nil {
		t := strings.TrimSpace(*h.FunctionTimeout)
		if t == "-1" {
			a.FunctionTimeout = 0
		} else if d, ok := parseTimeSpan(t); ok && d > 0 {
			a.FunctionTimeout = d
		} else {
			return fmt.Errorf("hostsim: host.json: functionTimeout %q is not a positive TimeSpan or -1", t)
		}
	}
	a.ForwardHTTP = h.CustomHandler.EnableForwardingHTTPRequest
	if p := h.Extensions.HTTP.RoutePrefix; p != nil {
		a.RoutePrefix = strings.Trim(*p, "/")
	}
	if c := h.Extensions.ServiceBus.AutoCompleteMessages; c != nil {
		a.AutoComplete = *c
	}
	return nil
}

// binding is one entry of function.json's bindings, with case-insensitive lookup:
// the host reads binding properties regardless of case.
type binding map[string]any

func (b binding) str(key string) string {
	for k, v := range b {
		if strings.EqualFold(k, key) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

func (b binding) boolean(key string, def bool) (bool, error) {
	for k, v := range b {
		if strings.EqualFold(k, key) {
			switch v := v.(type) {
			case bool:
				return v, nil
			case string:
				switch strings.ToLower(v) {
				case "true":
					return true, nil
				case "false":
					return false, nil
				}
			}
			return false, fmt.Errorf("%s must be true or false, not %v", key, v)
		}
	}
	return def, nil
}

var (
	placeholder = regexp.MustCompile(`%([^%]+)%`)
	bindingName = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*|\$return)$`)
	httpMethods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "TRACE"}
)

// resolve replaces every %NAME% in every string property with the setting's value,
// as the host's name resolver does.
func resolve(b binding, settings map[string]string) error {
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the same missing setting every time
	for _, k := range keys {
		s, ok := b[k].(string)
		if !ok {
			continue
		}
		var missing []string
		b[k] = placeholder.ReplaceAllStringFunc(s, func(m string) string {
			name := m[1 : len(m)-1]
			val, ok := settings[name]
			if !ok {
				missing = append(missing, name)
			}
			return val
		})
		if len(missing) > 0 {
			return fmt.Errorf("binding %q property %s: app setting %q is not set", b.str("name"), k, missing[0])
		}
	}
	return nil
}

func parseFunction(name string, raw []byte, settings map[string]string) (*Function, error) {
	var doc struct {
		Bindings []binding `json:"bindings"`
		Disabled any       `json:"disabled"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("function.json: %w", err)
	}
	fn := &Function{Name: name, UseMonitor: true}
	switch d := doc.Disabled.(type) {
	case bool:
		fn.Disabled = d
	case string: // the host also accepts a setting name here
		fn.Disabled = strings.EqualFold(d, "true") || strings.EqualFold(settings[d], "true")
	}
	if strings.EqualFold(settings["AzureWebJobs."+name+".Disabled"], "true") {
		fn.Disabled = true
	}
	if len(doc.Bindings) == 0 {
		return nil, errors.New("function.json has no bindings")
	}
	seen := map[string]bool{}
	for _, b := range doc.Bindings {
		if err := resolve(b, settings); err != nil {
			return nil, err
		}
		bname, btype, dir := b.str("name"), b.str("type"), strings.ToLower(b.str("direction"))
		if !bindingName.MatchString(bname) {
			return nil, fmt.Errorf("binding name %q is invalid", bname)
		}
		if seen[strings.ToLower(bname)] {
			return nil, fmt.Errorf("multiple bindings with name %q: binding names must be unique", bname)
		}
		seen[strings.ToLower(bname)] = true
		if btype == "" {
			return nil, fmt.Errorf("binding %q has no type", bname)
		}
		if dir != "in" && dir != "out" && dir != "inout" {
			return nil, fmt.Errorf("binding %q: direction %q must be in, out or inout", bname, b.str("direction"))
		}
		isTrigger := strings.HasSuffix(strings.ToLower(btype), "trigger")
		switch {
		case isTrigger:
			if dir != "in" {
				return nil, fmt.Errorf("trigger binding %q must have direction in", bname)
			}
			if fn.Trigger != "" {
				return nil, fmt.Errorf("more than one trigger binding (%s and %s)", fn.TriggerBinding, bname)
			}
			if err := fn.setTrigger(b, settings); err != nil {
				return nil, fmt.Errorf("trigger %q: %w", bname, err)
			}
		case dir == "out" && strings.EqualFold(btype, "http"):
			if fn.HTTPOutput != "" {
				return nil, fmt.Errorf("more than one http output binding (%s and %s)", fn.HTTPOutput, bname)
			}
			fn.HTTPOutput = bname
		case dir == "out" && strings.EqualFold(btype, "serviceBus"):
			out, err := queueOutput(b, settings)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", bname, err)
			}
			fn.ServiceBusOutputs = append(fn.ServiceBusOutputs, out)
		default:
			return nil, fmt.Errorf("binding %q: hostsim does not simulate %s bindings with direction %s", bname, btype, dir)
		}
	}
	if fn.Trigger == "" {
		return nil, errors.New("no trigger binding: a function must have exactly one trigger input binding")
	}
	if fn.HTTPOutput != "" && fn.Trigger != HTTPTrigger {
		return nil, fmt.Errorf("http output binding %q needs an httpTrigger", fn.HTTPOutput)
	}
	return fn, nil
}

func (fn *Function) setTrigger(b binding, settings map[string]string) error {
	fn.TriggerBinding = b.str("name")
	fn.DataType = strings.ToLower(b.str("dataType"))
	switch t := b.str("type"); {
	case strings.EqualFold(t, TimerTrigger):
		fn.Trigger = TimerTrigger
		fn.Schedule = b.str("schedule")
		if fn.Schedule == "" {
			return errors.New("timerTrigger needs a schedule")
		}
		s, err := parseSchedule(fn.Schedule)
		if err != nil {
			return err
		}
		fn.schedule = s
		if fn.UseMonitor, err = b.boolean("useMonitor", true); err != nil {
			return err
		}
		if _, err := b.boolean("runOnStartup", false); err != nil {
			return err
		}
	case strings.EqualFold(t, ServiceBusTrigger):
		fn.Trigger = ServiceBusTrigger
		fn.Queue = b.str("queueName")
		if fn.Queue == "" {
			if b.str("topicName") != "" {
				return errors.New("topic subscriptions are not simulated: use queueName")
			}
			return errors.New("serviceBusTrigger needs queueName (or topicName and subscriptionName)")
		}
		conn, err := connection(b, settings)
		if err != nil {
			return err
		}
		fn.Connection = conn
	case strings.EqualFold(t, HTTPTrigger):
		fn.Trigger = HTTPTrigger
		fn.AuthLevel = strings.ToLower(b.str("authLevel"))
		if fn.AuthLevel == "" {
			fn.AuthLevel = "function"
		}
		if !slices.Contains([]string{"anonymous", "function", "admin"}, fn.AuthLevel) {
			return fmt.Errorf("authLevel %q must be anonymous, function or admin", fn.AuthLevel)
		}
		fn.Route = strings.Trim(b.str("route"), "/")
		if fn.Route == "" {
			fn.Route = fn.Name
		}
		if err := checkRoute(fn.Route); err != nil {
			return err
		}
		for k, v := range b {
			if !strings.EqualFold(k, "methods") || v == nil {
				continue
			}
			list, ok := v.([]any)
			if !ok {
				return errors.New("methods must be an array of strings")
			}
			for _, m := range list {
				s, _ := m.(string)
				s = strings.ToUpper(s)
				if !slices.Contains(httpMethods, s) {
					return fmt.Errorf("method %v is not an HTTP method", m)
				}
				fn.Methods = append(fn.Methods, s)
			}
		}
	default:
		return fmt.Errorf("hostsim does not simulate %s triggers", t)
	}
	return nil
}

func queueOutput(b binding, settings map[string]string) (QueueOutput, error) {
	out := QueueOutput{Name: b.str("name"), Queue: b.str("queueName"), DataType: strings.ToLower(b.str("dataType"))}
	if out.Queue == "" {
		if b.str("topicName") != "" {
			return out, errors.New("topic outputs are not simulated: use queueName")
		}
		return out, errors.New("serviceBus output needs queueName (or topicName)")
	}
	conn, err := connection(b, settings)
	out.Connection = conn
	return out, err
}

// connection returns the binding's connection setting name and checks that the app
// settings define it, either as a connection string or as an identity-based prefix
// (<name>__fullyQualifiedNamespace): without either the host cannot start the listener.
func connection(b binding, settings map[string]string) (string, error) {
	name := b.str("connection")
	if name == "" {
		name = defaultServiceBusConnection
	}
	if settings[name] != "" || settings[name+"__fullyQualifiedNamespace"] != "" {
		return name, nil
	}
	return name, fmt.Errorf("connection setting %q is not set (neither %s nor %s__fullyQualifiedNamespace)", name, name, name)
}
