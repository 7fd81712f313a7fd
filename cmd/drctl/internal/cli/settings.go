package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"integration-dr/config"
)

// Settings drctl reads beside the app's own (config.Env*).
const (
	// EnvServiceBusConnectionString is a connection string for the command queue's
	// namespace, for an operator without an Entra ID role on it. It holds a key: it is
	// read from here or --sb-connection-string and never printed.
	EnvServiceBusConnectionString = "DR_SERVICEBUS_CONNECTION_STRING"
	// DefaultSettingsFile is read when --settings is not given, if it exists: the
	// Functions tools' file, so that drctl sees what the local handler sees.
	DefaultSettingsFile = "local.settings.json"
)

// dummyPort satisfies config.Load's check of FUNCTIONS_CUSTOMHANDLER_PORT, which the
// Functions host sets for the handler it starts. drctl serves nothing and never
// listens on it; without a value the app's configuration would not validate.
const dummyPort = "7071"

// settingFlag binds a command-line flag to an app setting.
type settingFlag struct {
	flag, setting, usage string
}

// settingFlags are the settings drctl takes as flags; every other setting comes from
// the environment or the settings file.
func settingFlags() []settingFlag {
	return []settingFlag{
		{"topology", config.EnvTopology, "the pairs, as DR_TOPOLOGY (JSON, or @file to read it from a file)"},
		{"storage", config.EnvStorage, "Table Storage connection string, as AzureWebJobsStorage (UseDevelopmentStorage=true: Azurite); it holds a key: prefer the environment variable"},
		{"table-service-url", config.EnvTableURL, "Table Storage endpoint reached with your identity, as AzureWebJobsStorage__tableServiceUri"},
		{"table", config.EnvTable, "table of checkpoints and journal, as DR_STATE_TABLE"},
		{"arm-endpoint", config.EnvARMEndpoint, "Azure Resource Manager endpoint, as DR_ARM_ENDPOINT"},
		{"credential", config.EnvCredential, "default, managedidentity or local-static-token, as DR_CREDENTIAL"},
		{"client-id", config.EnvClientID, "user-assigned managed identity, as AZURE_CLIENT_ID"},
		{"queue", config.EnvCommandQueue, "command queue, as DR_COMMAND_QUEUE"},
		{"sb-namespace", config.EnvServiceBusNS, "Service Bus namespace (<ns>.servicebus.windows.net), as ServiceBusConnection__fullyQualifiedNamespace"},
		{"sb-connection-string", EnvServiceBusConnectionString, "Service Bus connection string instead of the namespace and your identity; prefer the environment variable " + EnvServiceBusConnectionString + ", which no process listing shows"},
	}
}

// globalFlags are the root command's persistent flags.
type globalFlags struct {
	settings string
	values   map[string]*string // setting → flag value
	verbose  bool
}

func (g *globalFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&g.settings, "settings", "", "settings file whose Values are read (default ./"+DefaultSettingsFile+" if it exists)")
	g.values = map[string]*string{}
	for _, s := range settingFlags() {
		g.values[s.setting] = fs.String(s.flag, "", s.usage)
	}
	fs.BoolVar(&g.verbose, "verbose", false, "log what the app does (JSON on stderr)")
}

// layered looks a setting up; the first that has a value wins: the flags, then a
// settings file the operator named (--settings: what was asked for explicitly beats
// what the shell happens to hold), then the environment, then the default
// ./local.settings.json (as the Functions tools, which let the environment override
// it). The environment fills what a named file does not set.
func layered(flags, env func(string) string, file map[string]string, explicitFile bool) func(string) string {
	return func(name string) string {
		if v := flags(name); v != "" {
			return v
		}
		if v := file[name]; v != "" && explicitFile {
			return v
		}
		if v := env(name); v != "" {
			return v
		}
		if v := file[name]; v != "" {
			return v
		}
		if name == config.EnvPort {
			return dummyPort
		}
		return ""
	}
}

// readSettingsFile reads the Values of a local.settings.json. explicit: the operator
// named the file, so it must exist; otherwise a missing default file is no error.
func readSettingsFile(read func(string) ([]byte, error), path string, explicit bool) (map[string]string, error) {
	raw, err := read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return nil, nil
	case err != nil:
		return nil, usagef("settings file %s: %v", path, unwrapPath(err))
	}
	var f struct {
		IsEncrypted bool                       `json:"IsEncrypted"`
		Values      map[string]json.RawMessage `json:"Values"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil {
		return nil, usagef("settings file %s is not JSON with a \"Values\" object: %v", path, err)
	}
	if f.IsEncrypted {
		return nil, usagef("settings file %s is encrypted: decrypt it first (func settings decrypt)", path)
	}
	out := map[string]string{}
	for k, v := range f.Values {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, usagef("settings file %s: Values.%s: %v", path, k, err)
			}
			out[k] = s
		case v[0] == 't' || v[0] == 'f' || v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			// The Functions tools want strings, but a number or a boolean means itself.
			if _, err := strconv.ParseFloat(string(v), 64); err != nil && string(v) != "true" && string(v) != "false" {
				return nil, usagef("settings file %s: Values.%s is not a string", path, k)
			}
			out[k] = string(v)
		default:
			return nil, usagef("settings file %s: Values.%s is not a string", path, k)
		}
	}
	return out, nil
}

// flagValues reads the setting flags that were given; a value "@file" is read from
// the file (a topology is long JSON).
func flagValues(read func(string) ([]byte, error), values map[string]*string) (map[string]string, error) {
	out := map[string]string{}
	for setting, v := range values {
		if v == nil || *v == "" {
			continue
		}
		val := *v
		if path, ok := strings.CutPrefix(val, "@"); ok {
			raw, err := read(path)
			if err != nil {
				return nil, usagef("%s: %v", setting, unwrapPath(err))
			}
			val = strings.TrimSpace(string(raw))
		}
		out[setting] = val
	}
	return out, nil
}

// unwrapPath drops the *fs.PathError's repetition of the path and operation.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w", pe.Err)
	}
	return err
}
