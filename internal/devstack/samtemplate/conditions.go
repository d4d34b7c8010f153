package samtemplate

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// conditionFunctions are the intrinsics a condition is made of.
var conditionFunctions = []string{"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"}

// parseConditions reads the Conditions section. Names are checked once the
// whole template is read, by checkConditions.
func (t *Template) parseConditions(n *yaml.Node) error {
	conds, err := entries(n, "Conditions")
	if err != nil {
		return err
	}
	for _, c := range conds {
		t.Conditions[c.key] = c.value
	}
	return nil
}

// checkConditions checks that every condition is a condition function, that
// every condition name used in root (by a resource's Condition, Fn::If or a
// condition) is defined, and that no condition depends on itself.
func (t *Template) checkConditions(root *yaml.Node) error {
	for _, id := range sortedKeys(t.Resources) {
		if c := t.Resources[id].Condition; c != "" && t.Conditions[c] == nil {
			return fmt.Errorf("resource %s: unknown condition %s", id, c)
		}
	}
	if _, err := t.knownConditions(root); err != nil {
		return err
	}
	graph := make(map[string][]string, len(t.Conditions))
	for _, name := range sortedKeys(t.Conditions) {
		n := deref(t.Conditions[name])
		if !isCondition(n) {
			return fmt.Errorf("line %d: condition %s is %s, want a condition function", n.Line, name, kindName(n))
		}
		uses, err := t.knownConditions(n)
		if err != nil {
			return err
		}
		graph[name] = uses
	}
	return checkCycles(graph)
}

// knownConditions returns the condition names used under n, and an error
// for the first that is not defined.
func (t *Template) knownConditions(n *yaml.Node) ([]string, error) {
	refs, err := conditionRefs(n)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		if t.Conditions[r.name] == nil {
			return nil, fmt.Errorf("line %d: %s: unknown condition %s", r.line, r.fn, r.name)
		}
		names = append(names, r.name)
	}
	return names, nil
}

// conditionRef is a use of a condition's name.
type conditionRef struct {
	name, fn string
	line     int
}

// conditionRefs returns the condition names used under n: by Fn::If, by
// Condition (short form anywhere, long form {Condition: name} where a
// condition is expected) and by n itself if it is a long-form Condition.
func conditionRefs(n *yaml.Node) ([]conditionRef, error) {
	var refs []conditionRef
	if name, ok := longConditionRef(n); ok {
		refs = append(refs, conditionRef{name: name, fn: "Condition", line: deref(n).Line})
	}
	err := walkIntrinsics(n, func(fn string, arg *yaml.Node, line int) error {
		switch fn {
		case "Fn::If":
			refs = append(refs, conditionRef{name: deref(arg.Content[0]).Value, fn: fn, line: line})
		case "Condition":
			refs = append(refs, conditionRef{name: arg.Value, fn: fn, line: line})
		case "Fn::Not", "Fn::And", "Fn::Or":
			for _, c := range arg.Content {
				if name, ok := longConditionRef(c); ok {
					refs = append(refs, conditionRef{name: name, fn: fn, line: deref(c).Line})
				}
			}
		}
		return nil
	})
	return refs, err
}

// longConditionRef reports whether n is the long form {Condition: name} and
// returns the name.
func longConditionRef(n *yaml.Node) (string, bool) {
	n = deref(n)
	if n == nil || !plainMapping(n) || len(n.Content) != 2 {
		return "", false
	}
	if k := deref(n.Content[0]); !plainScalar(k) || k.Value != "Condition" || !plainName(n.Content[1]) {
		return "", false
	}
	return deref(n.Content[1]).Value, true
}

// isCondition reports whether n is a condition function.
func isCondition(n *yaml.Node) bool {
	if _, ok := longConditionRef(n); ok {
		return true
	}
	fn, _, ok, _ := intrinsic(deref(n))
	return ok && slices.Contains(conditionFunctions, fn)
}

// checkCycles reports a condition that depends on itself; graph maps each
// condition to the conditions it uses.
func checkCycles(graph map[string][]string) error {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			cycle := append(slices.Clone(path[slices.Index(path, name):]), name)
			return fmt.Errorf("condition cycle: %s", strings.Join(cycle, " -> "))
		}
		state[name] = visiting
		path = append(path, name)
		for _, next := range graph[name] {
			if err := visit(next); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, name := range sortedKeys(graph) {
		if err := visit(name); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ConditionTrue evaluates the condition name of the template's Conditions
// section. Conditions may use parameters (with their defaults) and pseudo
// parameters, not resources. Every operand of Fn::And and Fn::Or is
// evaluated, so that an error is reported whatever the values.
func (r *Resolver) ConditionTrue(name string) (bool, error) {
	s := &resolution{Resolver: r}
	return s.conditionNamed(name)
}

// ResourceEnabled reports whether the resource id is created: it has no
// Condition, or its condition is true.
func (r *Resolver) ResourceEnabled(id string) (bool, error) {
	if r.Template == nil {
		return false, fmt.Errorf("unknown resource %s", id)
	}
	res, ok := r.Template.Resources[id]
	if !ok {
		return false, fmt.Errorf("unknown resource %s", id)
	}
	if res.Condition == "" {
		return true, nil
	}
	on, err := r.ConditionTrue(res.Condition)
	if err != nil {
		return false, fmt.Errorf("resource %s: %w", id, err)
	}
	return on, nil
}

// conditionNamed evaluates the named condition, once per resolution.
func (s *resolution) conditionNamed(name string) (bool, error) {
	if v, ok := s.conds[name]; ok {
		return v, nil
	}
	if i := slices.Index(s.evaluating, name); i >= 0 {
		cycle := append(slices.Clone(s.evaluating[i:]), name)
		return false, fmt.Errorf("condition cycle: %s", strings.Join(cycle, " -> "))
	}
	var n *yaml.Node
	if s.Template != nil {
		n = s.Template.Conditions[name]
	}
	if n == nil {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	s.evaluating = append(s.evaluating, name)
	v, err := s.condition(n)
	s.evaluating = s.evaluating[:len(s.evaluating)-1]
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	if s.conds == nil {
		s.conds = map[string]bool{}
	}
	s.conds[name] = v
	return v, nil
}

// condition evaluates the condition function n.
func (s *resolution) condition(n *yaml.Node) (bool, error) {
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	n = deref(n)
	if name, ok := longConditionRef(n); ok {
		return s.conditionNamed(name)
	}
	fn, arg, ok, err := intrinsic(n)
	if err != nil {
		return false, err
	}
	if !ok || !slices.Contains(conditionFunctions, fn) {
		return false, fmt.Errorf("line %d: %s is not a condition function", n.Line, describeNode(n, fn))
	}
	if err := checkShape(fn, arg); err != nil {
		return false, fmt.Errorf("line %d: %s: %w", n.Line, fn, err)
	}
	var v bool
	switch fn {
	case "Condition":
		return s.conditionNamed(arg.Value)
	case "Fn::Equals":
		v, err = s.equals(arg)
	case "Fn::Not":
		v, err = s.condition(arg.Content[0])
		v = !v
	case "Fn::And", "Fn::Or":
		v, err = s.combine(fn, arg)
	}
	if err != nil {
		return false, fmt.Errorf("line %d: %s: %w", n.Line, fn, err)
	}
	return v, nil
}

// describeNode names what stands where a condition function should.
func describeNode(n *yaml.Node, fn string) string {
	if fn != "" {
		return fn
	}
	return kindName(n)
}

// equals evaluates Fn::Equals: both values resolve to strings, which must be
// identical (numbers and booleans compare as their text, as in
// CloudFormation, so 5 equals "5").
func (s *resolution) equals(arg *yaml.Node) (bool, error) {
	s.inCondition++
	defer func() { s.inCondition-- }()
	var vals [2]string
	for i, c := range arg.Content {
		v, err := s.resolve(c)
		if err != nil {
			return false, err
		}
		if vals[i], err = toString(v); err != nil {
			return false, fmt.Errorf("value %d: %w", i+1, err)
		}
	}
	return vals[0] == vals[1], nil
}

// combine evaluates Fn::And or Fn::Or; every operand is evaluated.
func (s *resolution) combine(fn string, arg *yaml.Node) (bool, error) {
	and := fn == "Fn::And"
	result := and
	for _, c := range arg.Content {
		v, err := s.condition(c)
		if err != nil {
			return false, err
		}
		if and {
			result = result && v
		} else {
			result = result || v
		}
	}
	return result, nil
}

// ifBranch returns the branch of an Fn::If that its condition selects.
func (s *resolution) ifBranch(arg *yaml.Node) (*yaml.Node, error) {
	if err := checkShape("Fn::If", arg); err != nil {
		return nil, err
	}
	on, err := s.conditionNamed(deref(arg.Content[0]).Value)
	if err != nil {
		return nil, err
	}
	if on {
		return arg.Content[1], nil
	}
	return arg.Content[2], nil
}

// prune returns n with every Fn::If replaced by the branch its condition
// selects, and every Ref AWS::NoValue removed: from a mapping with its key,
// from a sequence as an element. present is false when n itself is (or
// selects) AWS::NoValue. Nodes that hold neither are returned as they are,
// not copied.
func (s *resolution) prune(n *yaml.Node) (out *yaml.Node, present bool, err error) {
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	if n == nil {
		return nil, false, errors.New("missing value")
	}
	d := deref(n)
	fn, arg, ok, err := intrinsic(d)
	if err != nil {
		return nil, false, err
	}
	switch {
	case ok && fn == "Ref" && plainScalar(arg) && arg.Value == "AWS::NoValue":
		return nil, false, nil
	case ok && fn == "Fn::If":
		branch, err := s.ifBranch(arg)
		if err != nil {
			return nil, false, fmt.Errorf("line %d: Fn::If: %w", d.Line, err)
		}
		return s.prune(branch)
	}
	content, changed, err := s.pruneContent(d)
	if err != nil {
		return nil, false, err
	}
	if ok && !isCustomTag(d.Tag) && len(content) == 0 {
		return nil, false, fmt.Errorf("line %d: %s: argument is AWS::NoValue", d.Line, fn)
	}
	if !changed {
		return n, true, nil
	}
	c := *d
	c.Content = content
	return &c, true, nil
}

// pruneContent prunes the values of a mapping or the items of a sequence.
func (s *resolution) pruneContent(n *yaml.Node) ([]*yaml.Node, bool, error) {
	width := 1
	switch n.Kind {
	case yaml.MappingNode:
		width = 2
	case yaml.SequenceNode:
	default:
		return n.Content, false, nil
	}
	if len(n.Content)%width != 0 { // malformed; left for entries to report
		return n.Content, false, nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	changed := false
	for i := 0; i+width <= len(n.Content); i += width {
		v := n.Content[i+width-1]
		p, present, err := s.prune(v)
		if err != nil {
			return nil, false, err
		}
		changed = changed || !present || p != v
		if present {
			out = append(out, n.Content[i:i+width-1]...)
			out = append(out, p)
		}
	}
	return out, changed, nil
}
