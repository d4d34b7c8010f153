// Package samtemplate reads an AWS SAM template and resolves the intrinsic
// functions it uses, so that a local stack can be built from the same template
// that is deployed.
//
// The template is read with the yaml.v3 node API, which keeps the short-form
// intrinsic tags (!Ref, !GetAtt, !Sub, !Join, !If, ...). Resolution needs to
// know what every resource became once it exists; callers supply that as
// [Names].
//
// The Conditions section is evaluated with the parameters' defaults and the
// pseudo parameters: [Resolver.ConditionTrue] evaluates a condition,
// [Resolver.ResourceEnabled] a resource's Condition attribute, and Fn::If
// with Ref AWS::NoValue selects values as CloudFormation does.
package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resource is one entry of the template's Resources section.
type Resource struct {
	// Type is the resource type, e.g. "AWS::DynamoDB::Table".
	Type string
	// Properties is the unresolved Properties mapping; nil when the resource
	// has none.
	Properties *yaml.Node
	// Condition is the name of the condition that decides whether the
	// resource is created; empty when it always is.
	Condition string
}

// Template is a parsed SAM template.
type Template struct {
	// Parameters maps each parameter that has a Default to that default, as
	// written (a Number default 30 is "30").
	Parameters map[string]string
	// Resources maps each logical id to its resource.
	Resources map[string]Resource
	// Outputs maps each output's name to its unresolved Value.
	Outputs map[string]*yaml.Node
	// Conditions maps each condition's name to its unevaluated condition
	// function.
	Conditions map[string]*yaml.Node

	noDefault      map[string]bool // parameters declared without a Default
	globalFunction *yaml.Node      // Globals.Function, nil if absent
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template from YAML. It checks the structure the rest of the
// package relies on and the shape of every intrinsic function, and rejects
// tags that are not CloudFormation intrinsics.
func Parse(data []byte) (*Template, error) {
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return t, nil
}

// parse reads the document's top-level mapping, checks its intrinsics, reads
// its sections, and then checks what needs every section read: that no name
// is both a parameter and a resource, and the conditions.
func parse(data []byte) (*Template, error) {
	root, err := topLevel(data)
	if err != nil {
		return nil, err
	}
	if err := checkIntrinsics(root); err != nil {
		return nil, err
	}
	sections, err := entries(root, "top level")
	if err != nil {
		return nil, err
	}
	t := &Template{
		Parameters: map[string]string{},
		Resources:  map[string]Resource{},
		Outputs:    map[string]*yaml.Node{},
		Conditions: map[string]*yaml.Node{},
		noDefault:  map[string]bool{},
	}
	if err := t.parseSections(sections); err != nil {
		return nil, err
	}
	if err := t.checkNames(); err != nil {
		return nil, err
	}
	if err := t.checkConditions(root); err != nil {
		return nil, err
	}
	return t, nil
}

// topLevel unmarshals data, which must be one YAML document whose top level
// is a mapping, and returns that mapping.
func topLevel(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("empty document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: top level is %s, want a mapping", root.Line, kindName(root))
	}
	return root, nil
}

// sectionParsers read the top-level sections the package uses; the others
// (AWSTemplateFormatVersion, Transform, Description, ...) are ignored.
var sectionParsers = map[string]func(*Template, *yaml.Node) error{
	"Parameters": (*Template).parseParameters,
	"Resources":  (*Template).parseResources,
	"Outputs":    (*Template).parseOutputs,
	"Globals":    (*Template).parseGlobals,
	"Conditions": (*Template).parseConditions,
}

// parseSections reads sections in document order, stopping at the first
// error; a template without a Resources section is an error once they are
// all read.
func (t *Template) parseSections(sections []entry) error {
	haveResources := false
	for _, s := range sections {
		parse, ok := sectionParsers[s.key]
		if !ok {
			continue
		}
		haveResources = haveResources || s.key == "Resources"
		if err := parse(t, s.value); err != nil {
			return err
		}
	}
	if !haveResources {
		return errors.New("no Resources section")
	}
	return nil
}

// checkNames refuses a logical id that is also a parameter's name, with or
// without a Default: a Ref to it would be ambiguous.
func (t *Template) checkNames() error {
	for name := range t.Resources {
		if _, ok := t.Parameters[name]; ok || t.noDefault[name] {
			return fmt.Errorf("%s is both a parameter and a resource", name)
		}
	}
	return nil
}

func (t *Template) parseParameters(n *yaml.Node) error {
	params, err := entries(n, "Parameters")
	if err != nil {
		return err
	}
	for _, p := range params {
		fields, err := entries(p.value, "parameter "+p.key)
		if err != nil {
			return err
		}
		t.noDefault[p.key] = true
		for _, f := range fields {
			if f.key != "Default" {
				continue
			}
			v := deref(f.value)
			if v.Kind != yaml.ScalarNode || isCustomTag(v.Tag) {
				return fmt.Errorf("line %d: parameter %s: Default is %s, want a plain scalar", v.Line, p.key, kindName(v))
			}
			delete(t.noDefault, p.key)
			t.Parameters[p.key] = v.Value
		}
	}
	return nil
}

func (t *Template) parseResources(n *yaml.Node) error {
	resources, err := entries(n, "Resources")
	if err != nil {
		return err
	}
	for _, r := range resources {
		if strings.HasPrefix(r.key, "AWS::") {
			return fmt.Errorf("line %d: resource %s: logical id is reserved", r.value.Line, r.key)
		}
		fields, err := entries(r.value, "resource "+r.key)
		if err != nil {
			return err
		}
		var res Resource
		for _, f := range fields {
			v := deref(f.value)
			switch f.key {
			case "Type":
				if v.Kind != yaml.ScalarNode || isCustomTag(v.Tag) || v.Value == "" {
					return fmt.Errorf("line %d: resource %s: Type is %s, want a type name", v.Line, r.key, kindName(v))
				}
				res.Type = v.Value
			case "Properties":
				if v.Kind != yaml.MappingNode {
					return fmt.Errorf("line %d: resource %s: Properties is %s, want a mapping", v.Line, r.key, kindName(v))
				}
				res.Properties = v
			case "Condition":
				if !plainName(v) {
					return fmt.Errorf("line %d: resource %s: Condition is %s, want a condition name", v.Line, r.key, kindName(v))
				}
				res.Condition = v.Value
			}
		}
		if res.Type == "" {
			return fmt.Errorf("line %d: resource %s has no Type", r.value.Line, r.key)
		}
		t.Resources[r.key] = res
	}
	return nil
}

func (t *Template) parseOutputs(n *yaml.Node) error {
	outputs, err := entries(n, "Outputs")
	if err != nil {
		return err
	}
	for _, o := range outputs {
		fields, err := entries(o.value, "output "+o.key)
		if err != nil {
			return err
		}
		for _, f := range fields {
			if f.key == "Value" {
				t.Outputs[o.key] = f.value
			}
		}
		if t.Outputs[o.key] == nil {
			return fmt.Errorf("line %d: output %s has no Value", o.value.Line, o.key)
		}
	}
	return nil
}

func (t *Template) parseGlobals(n *yaml.Node) error {
	globals, err := entries(n, "Globals")
	if err != nil {
		return err
	}
	for _, g := range globals {
		if g.key != "Function" {
			continue
		}
		v := deref(g.value)
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: Globals.Function is %s, want a mapping", v.Line, kindName(v))
		}
		t.globalFunction = v
	}
	return nil
}

// ResourcesOfType returns the logical ids of the resources of type typ, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// entry is one key and value of a mapping node.
type entry struct {
	key   string
	value *yaml.Node
}

// entries returns the entries of the mapping n in document order. what names
// n in errors. Keys must be plain scalars and unique.
func entries(n *yaml.Node, what string) ([]entry, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s is %s, want a mapping", n.Line, what, kindName(n))
	}
	if len(n.Content)%2 != 0 {
		return nil, fmt.Errorf("line %d: %s: malformed mapping", n.Line, what)
	}
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode || isCustomTag(k.Tag) {
			return nil, fmt.Errorf("line %d: %s: key is %s, want a plain scalar", k.Line, what, kindName(k))
		}
		if seen[k.Value] {
			return nil, fmt.Errorf("line %d: %s: duplicate key %q", k.Line, what, k.Value)
		}
		seen[k.Value] = true
		out = append(out, entry{key: k.Value, value: n.Content[i+1]})
	}
	return out, nil
}

// field returns the value of key in the mapping m, or nil if m is nil, not a
// mapping, or has no such key.
func field(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := deref(m.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// kindName describes a node's kind for error messages.
func kindName(n *yaml.Node) string {
	if n == nil {
		return "missing"
	}
	if isCustomTag(n.Tag) {
		return "tagged " + n.Tag
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "empty"
}
