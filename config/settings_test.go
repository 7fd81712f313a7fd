package config

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// envConstants reads every constant named Env* in the non-test Go files of dir, with
// its value. A value is a string literal or a constant of another package of this
// module (EnvAlertRules = alert.Setting), read the same way.
func envConstants(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, expr := range constSpecs(t, dir) {
		if !strings.HasPrefix(name, "Env") {
			continue
		}
		out[name] = constValue(t, dir, expr)
	}
	return out
}

// constSpecs returns the constant declarations of a package directory by name.
func constSpecs(t *testing.T, dir string) map[string]ast.Expr {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	out := map[string]ast.Expr{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, path, nil, goparser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						out[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	return out
}

func constValue(t *testing.T, dir string, expr ast.Expr) string {
	t.Helper()
	switch e := expr.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(e.Value)
		if err != nil {
			t.Fatalf("%s: %v", e.Value, err)
		}
		return s
	case *ast.Ident:
		return constValue(t, dir, constSpecs(t, dir)[e.Name])
	case *ast.SelectorExpr:
		pkg := e.X.(*ast.Ident).Name // a package of this module, named as its folder
		other := filepath.Join(dir, "..", pkg)
		if _, err := os.Stat(other); err != nil {
			t.Fatalf("constant %s.%s: no package folder %s", pkg, e.Sel.Name, other)
		}
		v, ok := constSpecs(t, other)[e.Sel.Name]
		if !ok {
			t.Fatalf("no constant %s in %s", e.Sel.Name, other)
		}
		return constValue(t, other, v)
	}
	t.Fatalf("constant value %T is not read by this test", expr)
	return ""
}

func TestSettingsListsEveryEnvConstant(t *testing.T) {
	listed := map[string]Setting{}
	for _, s := range Settings() {
		if _, dup := listed[s.Name]; dup {
			t.Errorf("%s is listed twice", s.Name)
		}
		listed[s.Name] = s
	}
	for _, dir := range []string{".", filepath.Join("..", "app")} {
		consts := envConstants(t, dir)
		if len(consts) == 0 {
			t.Fatalf("no Env* constants found in %s", dir)
		}
		for name, value := range consts {
			if _, ok := listed[value]; !ok {
				t.Errorf("%s.%s = %q is not in Settings()", filepath.Base(filepath.Clean(dir)), name, value)
			}
		}
	}
	// The stand-in's setting is read by the app package, which imports this one.
	if app := envConstants(t, filepath.Join("..", "app")); app["EnvSQLStandin"] != EnvSQLStandin {
		t.Errorf("app.EnvSQLStandin is %q, config.EnvSQLStandin %q", app["EnvSQLStandin"], EnvSQLStandin)
	}
}

func TestSettingsAreConsistent(t *testing.T) {
	for _, s := range Settings() {
		t.Run(s.Name, func(t *testing.T) {
			if s.RequiredIn&^s.SetIn != 0 {
				t.Errorf("required in %b but set only in %b", s.RequiredIn, s.SetIn)
			}
			if s.ReadBy == 0 || s.SetIn == 0 {
				t.Errorf("no reader (%b) or no place (%b)", s.ReadBy, s.SetIn)
			}
			if s.Default != "" && s.RequiredIn != 0 && s.RequiredIn&SetByPlatform == 0 && s.Deployed == "" {
				t.Errorf("required, yet has a default %q", s.Default)
			}
			if s.Deployed != "" && s.SetIn&(SetInAzure|SetByPlatform) == 0 {
				t.Errorf("a deployed value %q, but a deployment never sets it", s.Deployed)
			}
			if s.SetIn&SetByPlatform != 0 && s.SetIn&SetInAzure != 0 {
				t.Error("set by the platform and by the deployment")
			}
		})
	}
}

func TestSettingsDefaultsAreLoadsDefaults(t *testing.T) {
	// Setting every default explicitly must load exactly as leaving it unset.
	base := env(nil)
	with := map[string]string{}
	for _, s := range Settings() {
		if s.Default != "" {
			with[s.Name] = s.Default
		}
	}
	if len(with) < 10 {
		t.Fatalf("only %d defaults", len(with))
	}
	c1, err := Load(base)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Load(func(k string) string {
		if v, ok := with[k]; ok {
			return v
		}
		return base(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Budget != c2.Budget || c1.Engine != c2.Engine || c1.State != c2.State || c1.Azure != c2.Azure {
		t.Fatalf("defaults differ:\n%+v %+v %+v %+v\n%+v %+v %+v %+v", c1.Budget, c1.Engine, c1.State, c1.Azure, c2.Budget, c2.Engine, c2.State, c2.Azure)
	}
}

func TestServiceBusConnectionIsTheNamespaceSettingsPrefix(t *testing.T) {
	if got := ServiceBusConnection(); got != "ServiceBusConnection" || got+suffixNamespace != EnvServiceBusNS {
		t.Fatalf("ServiceBusConnection() = %q", got)
	}
	for _, s := range Settings() {
		if strings.HasPrefix(s.Name, ServiceBusConnection()+"__") && s.ReadBy&ReadByBinding == 0 {
			t.Errorf("%s is a Service Bus connection setting not read by a binding", s.Name)
		}
	}
}
