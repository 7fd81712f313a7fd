package infra

// A reader of the Bicep this repository writes, not of Bicep in general: no Bicep
// compiler can run here, so infra_test.go reads the files with this and compares what
// they declare with what the code reads.
//
// It understands:
//   - comments (// and /* */) and decorators (@name(...), kept as text);
//   - declarations at the start of a line: targetScope, using, param, var, resource,
//     module, output (import, type, func and metadata are skipped), and resource
//     declarations nested in a resource's body;
//   - `resource s 'Type@version' [existing] = [if (cond)] value` and
//     `module s 'path' = [if (cond)] value`;
//   - values: objects and arrays (one item a line, or on one line with commas),
//     for-expressions ([for x in xs: body], [for (x, i) in xs: if (c) body]), strings
//     ('…' with \ escapes and ${…} interpolation, '''…''' multi-line), and anything else
//     as an expression kept as its source text.
//
// It evaluates nothing: checks compare expressions as trimmed source text and follow
// names (a module's parameter to the argument main.bicep passes, an output to its
// value) one step at a time.

import (
	"fmt"
	"strings"
	"unicode"
)

type nodeKind int

const (
	exprNode nodeKind = iota
	stringNode
	objectNode
	arrayNode
	forNode
)

type node struct {
	kind nodeKind
	text string // the value's source text, trimmed
	// stringNode: the content between the quotes, escapes undone, ${…} kept as written.
	str    string
	interp bool
	fields []field // objectNode, in order
	items  []*node // arrayNode
	// forNode: [for <forVars> in <forSource>: if (<forCond>) <body>]
	forVars, forSource, forCond string
	body                        *node
	nested                      []*decl // objectNode of a resource body: nested resources
}

type field struct {
	key   string
	value *node
}

type decl struct {
	keyword    string // param, var, resource, module, output, targetScope, using
	name       string // symbolic name; the path for using
	typ        string // param/output type, resource type (without @version), module path
	existing   bool
	cond       string // if (cond) of a resource or module
	value      *node  // default, value, or body (a forNode for a loop)
	decorators []string
	parent     *decl // the resource a nested resource is declared in
}

type bicepFile struct {
	path  string
	decls []*decl
}

// get follows object keys; nil when one is missing or a value is not an object.
func (n *node) get(keys ...string) *node {
	for _, k := range keys {
		if n == nil {
			return nil
		}
		if n.kind == forNode {
			n = n.body
		}
		if n == nil || n.kind != objectNode {
			return nil
		}
		var next *node
		for _, f := range n.fields {
			if f.key == k {
				next = f.value
			}
		}
		n = next
	}
	return n
}

// lit is a plain string literal's content, or "" for anything else.
func (n *node) lit() string {
	if n == nil || n.kind != stringNode || n.interp {
		return ""
	}
	return n.str
}

// src is the value's source text ("" for nil).
func (n *node) src() string {
	if n == nil {
		return ""
	}
	return n.text
}

// stringItems returns an array's plain string items.
func (n *node) stringItems() []string {
	if n == nil || n.kind != arrayNode {
		return nil
	}
	var out []string
	for _, it := range n.items {
		if s := it.lit(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// body is a resource or module's object body, through a loop.
func (d *decl) body() *node {
	if d.value != nil && d.value.kind == forNode {
		return d.value.body
	}
	return d.value
}

// fullType is a resource's type with its parents' for a nested declaration.
func (d *decl) fullType() string {
	if d.parent != nil && !strings.Contains(d.typ, "/") {
		return d.parent.fullType() + "/" + d.typ
	}
	return d.typ
}

// all returns every declaration, nested resources included.
func (f *bicepFile) all() []*decl {
	var out []*decl
	var walk func(ds []*decl)
	walk = func(ds []*decl) {
		for _, d := range ds {
			out = append(out, d)
			if b := d.body(); b != nil {
				walk(b.nested)
			}
		}
	}
	walk(f.decls)
	return out
}

// find returns the declaration of keyword and name, or nil.
func (f *bicepFile) find(keyword, name string) *decl {
	for _, d := range f.all() {
		if d.keyword == keyword && d.name == name {
			return d
		}
	}
	return nil
}

// of returns every declaration of a keyword.
func (f *bicepFile) of(keyword string) []*decl {
	var out []*decl
	for _, d := range f.all() {
		if d.keyword == keyword {
			out = append(out, d)
		}
	}
	return out
}

// resourcesOf returns the resources of a type (without @version), nested included.
func (f *bicepFile) resourcesOf(typ string) []*decl {
	var out []*decl
	for _, d := range f.of("resource") {
		if strings.EqualFold(d.fullType(), typ) {
			out = append(out, d)
		}
	}
	return out
}

func (f *bicepFile) targetScope() string {
	if d := f.find("targetScope", "targetScope"); d != nil {
		return d.value.lit()
	}
	return "resourceGroup"
}

// parseBicep reads a .bicep or .bicepparam file.
func parseBicep(path, src string) (f *bicepFile, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", path, r)
		}
	}()
	p := &bicepParser{s: src, path: path}
	f = &bicepFile{path: path}
	var decorators []string
	for {
		p.space(true)
		if p.eof() {
			break
		}
		if p.peek() == '@' {
			decorators = append(decorators, p.decorator())
			continue
		}
		d := p.decl(nil)
		if d != nil {
			d.decorators, decorators = decorators, nil
			f.decls = append(f.decls, d)
		}
	}
	return f, nil
}

type bicepParser struct {
	s    string
	i    int
	path string
}

func (p *bicepParser) eof() bool { return p.i >= len(p.s) }

func (p *bicepParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *bicepParser) fail(format string, args ...any) {
	line := 1 + strings.Count(p.s[:min(p.i, len(p.s))], "\n")
	panic(fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...)))
}

func (p *bicepParser) has(prefix string) bool { return strings.HasPrefix(p.s[p.i:], prefix) }

// space skips blanks and comments; newlines too when lines is set.
func (p *bicepParser) space(lines bool) {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '\n' && lines:
			p.i++
		case p.has("//"):
			for !p.eof() && p.peek() != '\n' {
				p.i++
			}
		case p.has("/*"):
			end := strings.Index(p.s[p.i+2:], "*/")
			if end < 0 {
				p.fail("unterminated comment")
			}
			p.i += end + 4
		default:
			return
		}
	}
}

func (p *bicepParser) ident() string {
	start := p.i
	for !p.eof() {
		r := rune(p.peek())
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *bicepParser) expect(c byte) {
	p.space(false)
	if p.peek() != c {
		p.fail("expected %q, found %q", c, p.peek())
	}
	p.i++
}

func (p *bicepParser) decorator() string {
	start := p.i
	p.i++ // @
	p.ident()
	if p.peek() == '(' {
		p.i = matchEnd(p.s, p.i)
	}
	return p.s[start:p.i]
}

// decl reads one declaration at p.i; parent is set for nested resources.
func (p *bicepParser) decl(parent *decl) *decl {
	kw := p.ident()
	if kw == "" {
		p.fail("expected a declaration, found %q", p.peek())
	}
	p.space(false)
	d := &decl{keyword: kw, parent: parent}
	switch kw {
	case "targetScope":
		d.name = kw
		p.expect('=')
		d.value = p.value()
	case "using":
		d.value = p.value()
		d.name = d.value.lit()
	case "param", "var", "output":
		d.name = p.ident()
		p.space(false)
		if p.peek() != '=' {
			start := p.i
			for !p.eof() && p.peek() != '=' && p.peek() != '\n' {
				if p.peek() == '\'' {
					p.i = stringEnd(p.s, p.i)
					continue
				}
				p.i++
			}
			d.typ = strings.TrimSpace(p.s[start:p.i])
		}
		if p.peek() == '=' {
			p.i++
			d.value = p.value()
		}
	case "resource", "module":
		d.name = p.ident()
		p.space(false)
		if p.peek() != '\'' {
			p.fail("%s %s: expected a quoted type or path", kw, d.name)
		}
		end := stringEnd(p.s, p.i)
		d.typ = stringValue(p.s[p.i:end]).str
		p.i = end
		if at := strings.IndexByte(d.typ, '@'); kw == "resource" && at >= 0 {
			d.typ = d.typ[:at]
		}
		p.space(false)
		if p.has("existing") {
			d.existing = true
			p.i += len("existing")
		}
		p.expect('=')
		p.space(true)
		if p.has("if") && !isIdentByte(p.s, p.i+2) {
			p.i += 2
			p.space(false)
			end := matchEnd(p.s, p.i)
			d.cond = strings.TrimSpace(p.s[p.i+1 : end-1])
			p.i = end
		}
		d.value = p.value()
		if b := d.body(); b != nil {
			for _, n := range b.nested {
				n.parent = d
			}
		}
	case "import", "type", "func", "metadata", "extension":
		p.i = exprEnd(p.s, p.i)
		return nil
	default:
		p.fail("unknown declaration %q", kw)
	}
	return d
}

func isIdentByte(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r := rune(s[i])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// value reads one value starting at p.i (after blanks, newlines included).
func (p *bicepParser) value() *node {
	p.space(true)
	start := p.i
	end := exprEnd(p.s, start)
	text := strings.TrimSpace(p.s[start:end])
	if text == "" {
		p.fail("expected a value")
	}
	whole := func(closeAt int) bool { return strings.TrimSpace(p.s[closeAt:end]) == "" }
	var n *node
	switch c := p.peek(); {
	case c == '{' && whole(matchEnd(p.s, start)):
		n = p.object()
	case c == '[' && whole(matchEnd(p.s, start)):
		n = p.array()
	case c == '\'' && whole(stringEnd(p.s, start)):
		n = stringValue(p.s[start:stringEnd(p.s, start)])
	default:
		n = &node{kind: exprNode}
	}
	n.text = text
	p.i = end
	return n
}

func (p *bicepParser) object() *node {
	n := &node{kind: objectNode}
	p.i++ // {
	for {
		p.skipSeparators()
		if p.eof() {
			p.fail("unterminated object")
		}
		switch {
		case p.peek() == '}':
			p.i++
			return n
		case p.peek() == '@':
			p.decorator()
			continue
		case p.has("resource ") || p.has("resource\t"):
			n.nested = append(n.nested, p.decl(nil))
			continue
		}
		var key string
		if p.peek() == '\'' {
			end := stringEnd(p.s, p.i)
			key = stringValue(p.s[p.i:end]).str
			p.i = end
		} else {
			key = p.ident()
			if key == "" {
				p.fail("expected a key, found %q", p.peek())
			}
		}
		p.expect(':')
		n.fields = append(n.fields, field{key: key, value: p.value()})
	}
}

func (p *bicepParser) array() *node {
	p.i++ // [
	p.skipSeparators()
	if p.has("for ") || p.has("for(") {
		n := &node{kind: forNode}
		p.i += 3
		in := indexTopLevel(p.s, p.i, " in ")
		n.forVars = strings.TrimSpace(p.s[p.i:in])
		p.i = in + len(" in ")
		colon := indexTopLevel(p.s, p.i, ":")
		n.forSource = strings.TrimSpace(p.s[p.i:colon])
		p.i = colon + 1
		p.space(true)
		if p.has("if") && !isIdentByte(p.s, p.i+2) {
			p.i += 2
			p.space(false)
			end := matchEnd(p.s, p.i)
			n.forCond = strings.TrimSpace(p.s[p.i+1 : end-1])
			p.i = end
		}
		n.body = p.value()
		p.skipSeparators()
		p.expect(']')
		return n
	}
	n := &node{kind: arrayNode}
	for {
		p.skipSeparators()
		if p.eof() {
			p.fail("unterminated array")
		}
		if p.peek() == ']' {
			p.i++
			return n
		}
		n.items = append(n.items, p.value())
	}
}

func (p *bicepParser) skipSeparators() {
	for {
		p.space(true)
		if p.peek() != ',' {
			return
		}
		p.i++
	}
}

// stringValue reads a whole string literal.
func stringValue(lit string) *node {
	n := &node{kind: stringNode}
	if strings.HasPrefix(lit, "'''") {
		n.str = strings.TrimSuffix(strings.TrimPrefix(lit, "'''"), "'''")
		return n
	}
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(body[i])
			}
		case c == '$' && i+1 < len(body) && body[i+1] == '{':
			end := matchEnd(body, i+1)
			b.WriteString(body[i:end])
			n.interp = true
			i = end - 1
		default:
			b.WriteByte(c)
		}
	}
	n.str = b.String()
	return n
}

// stringEnd returns the index after the string literal starting at s[i].
func stringEnd(s string, i int) int {
	if strings.HasPrefix(s[i:], "'''") {
		end := strings.Index(s[i+3:], "'''")
		if end < 0 {
			panic("unterminated multi-line string")
		}
		return i + 3 + end + 3
	}
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\':
			j++
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			j = matchEnd(s, j+1) - 1
		case s[j] == '\'':
			return j + 1
		case s[j] == '\n':
			panic("unterminated string")
		}
	}
	panic("unterminated string")
}

// matchEnd returns the index after the bracket closing the one at s[i].
func matchEnd(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\'':
			j = stringEnd(s, j) - 1
		case strings.HasPrefix(s[j:], "//"):
			for j < len(s) && s[j] != '\n' {
				j++
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	panic(fmt.Sprintf("unbalanced bracket at %d", i))
}

// exprEnd returns where the value starting at s[i] ends: at a newline, a comma, a
// comment or an unmatched closing bracket outside any bracket.
func exprEnd(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '\'':
			j = stringEnd(s, j) - 1
		case strings.HasPrefix(s[j:], "//"):
			if depth == 0 {
				return j
			}
			for j < len(s) && s[j] != '\n' {
				j++
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			if depth == 0 {
				return j
			}
			depth--
		case (c == '\n' || c == ',') && depth == 0:
			return j
		}
	}
	return len(s)
}

// indexTopLevel finds sep at bracket depth 0 outside strings, from i.
func indexTopLevel(s string, i int, sep string) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\'':
			j = stringEnd(s, j) - 1
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth == 0 && strings.HasPrefix(s[j:], sep):
			return j
		}
	}
	panic(fmt.Sprintf("no %q after %d", sep, i))
}
