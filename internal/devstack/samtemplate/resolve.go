package samtemplate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Physical is what a logical id resolves to once its resource exists.
type Physical struct {
	// Ref is the value of !Ref on the logical id.
	Ref string
	// Attrs holds the values of !GetAtt on the logical id, by attribute name.
	Attrs map[string]string
}

// Names maps logical ids to what they resolve to.
type Names map[string]Physical

// Pseudo holds the values of the pseudo parameters that depend on the stack.
type Pseudo struct {
	// Region is the value of AWS::Region.
	Region string
	// AccountID is the value of AWS::AccountId.
	AccountID string
	// StackName is the value of AWS::StackName.
	StackName string
}

// Partition returns the value of AWS::Partition for the region.
func (p Pseudo) Partition() string {
	switch {
	case strings.HasPrefix(p.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(p.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// URLSuffix returns the value of AWS::URLSuffix for the region.
func (p Pseudo) URLSuffix() string {
	if strings.HasPrefix(p.Region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// value returns the value of the pseudo parameter name ("AWS::Region").
func (p Pseudo) value(name string) (string, error) {
	var v string
	switch name {
	case "AWS::Region":
		v = p.Region
	case "AWS::AccountId":
		v = p.AccountID
	case "AWS::StackName":
		v = p.StackName
	case "AWS::Partition":
		v = p.Partition()
	case "AWS::URLSuffix":
		v = p.URLSuffix()
	default:
		return "", fmt.Errorf("unsupported pseudo parameter %s", name)
	}
	if v == "" {
		return "", fmt.Errorf("pseudo parameter %s is not set", name)
	}
	return v, nil
}

// Resolver resolves intrinsic functions in nodes of Template.
type Resolver struct {
	// Template supplies parameter defaults and logical ids.
	Template *Template
	// Names supplies what resources resolve to.
	Names Names
	// Pseudo supplies the pseudo parameters.
	Pseudo Pseudo
}

// Bounds on one Resolve call, so that aliases cannot make it expand a small
// document exponentially or recurse forever.
const (
	maxSteps = 1 << 20
	maxDepth = 1000
)

// Resolve resolves every intrinsic function in n and returns its value as
// plain Go data: map[string]any for mappings, []any for sequences, and string,
// int, float64, bool or nil for scalars. Intrinsics resolve to strings.
// It supports Ref, Fn::GetAtt, Fn::Sub, Fn::Join and Fn::If, in short and
// long form; Fn::If evaluates its condition with [Resolver.ConditionTrue].
// Ref AWS::NoValue removes the mapping key or sequence item that holds it,
// as in CloudFormation; when n itself is AWS::NoValue (or an Fn::If that
// selects it), Resolve returns nil, which callers treat as an absent value.
func (r *Resolver) Resolve(n *yaml.Node) (any, error) {
	s := &resolution{Resolver: r}
	p, present, err := s.prune(n)
	if err != nil || !present {
		return nil, err
	}
	return s.resolve(p)
}

// ResolveString resolves n and returns it as a string. Numbers and booleans
// are formatted, as CloudFormation does where it expects a string; sequences,
// mappings, null and AWS::NoValue are an error.
func (r *Resolver) ResolveString(n *yaml.Node) (string, error) {
	s := &resolution{Resolver: r}
	p, present, err := s.prune(n)
	if err != nil {
		return "", err
	}
	if !present {
		return "", fmt.Errorf("line %d: got AWS::NoValue, want a string", line(n))
	}
	v, err := s.resolve(p)
	if err != nil {
		return "", err
	}
	str, err := toString(v)
	if err != nil {
		return "", fmt.Errorf("line %d: %w", line(n), err)
	}
	return str, nil
}

// resolution is the state of one Resolve call.
type resolution struct {
	*Resolver
	steps int
	depth int

	conds       map[string]bool // conditions evaluated so far
	evaluating  []string        // conditions being evaluated, outermost first
	inCondition int             // > 0 while resolving the values of Fn::Equals
}

// enter counts a step into the document; leave must follow.
func (s *resolution) enter() error {
	if s.steps++; s.steps > maxSteps {
		return errors.New("document too large to resolve")
	}
	if s.depth++; s.depth > maxDepth {
		s.depth--
		return errors.New("document nested too deeply (recursive alias?)")
	}
	return nil
}

func (s *resolution) leave() { s.depth-- }

// resolve resolves n, in which prune has left no Fn::If or AWS::NoValue: an
// intrinsic is called, a scalar decoded, and a sequence or mapping resolved
// item by item. Every node counts as one step (enter), which bounds the work
// a recursive alias can cause.
func (s *resolution) resolve(n *yaml.Node) (any, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if n == nil {
		return nil, errors.New("missing value")
	}
	n = deref(n)
	fn, arg, ok, err := intrinsic(n)
	if err != nil {
		return nil, err
	}
	if ok {
		v, err := s.call(fn, arg)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n.Line, fn, err)
		}
		return v, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return scalar(n)
	case yaml.SequenceNode:
		return s.resolveSequence(n)
	case yaml.MappingNode:
		return s.resolveMapping(n)
	}
	return nil, fmt.Errorf("line %d: unexpected %s", n.Line, kindName(n))
}

// resolveSequence resolves the items of the sequence n, in order, into a
// []any. It returns any, not []any, so that an error comes with an untyped
// nil value, as from resolve's other cases.
func (s *resolution) resolveSequence(n *yaml.Node) (any, error) {
	out := make([]any, 0, len(n.Content))
	for _, c := range n.Content {
		v, err := s.resolve(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// resolveMapping resolves the values of the mapping n, in document order,
// into a map[string]any; its keys must be plain and unique (entries). It
// returns any for the same reason as resolveSequence.
func (s *resolution) resolveMapping(n *yaml.Node) (any, error) {
	es, err := entries(n, "mapping")
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(es))
	for _, e := range es {
		v, err := s.resolve(e.value)
		if err != nil {
			return nil, err
		}
		out[e.key] = v
	}
	return out, nil
}

func (s *resolution) resolveString(n *yaml.Node) (string, error) {
	v, err := s.resolve(n)
	if err != nil {
		return "", err
	}
	return toString(v)
}

// call evaluates the intrinsic fn on its argument arg, whose shape
// checkShape has accepted.
func (s *resolution) call(fn string, arg *yaml.Node) (any, error) {
	if err := checkShape(fn, arg); err != nil {
		return nil, err
	}
	switch fn {
	case "Ref":
		return s.ref(arg.Value)
	case "Fn::GetAtt":
		id, attr := getAttArgs(arg)
		return s.getAtt(id, attr)
	case "Fn::Sub":
		return s.sub(arg)
	case "Fn::Join":
		return s.join(arg)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		return nil, errors.New("condition functions belong in Conditions; choose a value with Fn::If")
	}
	return nil, errors.New("unsupported intrinsic function")
}

// ref resolves a Ref to name.
func (s *resolution) ref(name string) (string, error) {
	if strings.HasPrefix(name, "AWS::") {
		return s.Pseudo.value(name)
	}
	if s.Template != nil {
		if v, ok := s.Template.Parameters[name]; ok {
			return v, nil
		}
		if s.Template.noDefault[name] {
			return "", fmt.Errorf("parameter %s has no Default", name)
		}
	}
	if s.inCondition > 0 {
		return "", s.resourceInCondition(name)
	}
	if p, ok := s.Names[name]; ok {
		return p.Ref, nil
	}
	if s.Template != nil {
		if _, ok := s.Template.Resources[name]; ok {
			return "", s.unnamed(name)
		}
	}
	return "", fmt.Errorf("unknown name %s", name)
}

// getAtt resolves a GetAtt of attr on id.
func (s *resolution) getAtt(id, attr string) (string, error) {
	if s.inCondition > 0 {
		return "", s.resourceInCondition(id)
	}
	if p, ok := s.Names[id]; ok {
		if v, ok := p.Attrs[attr]; ok {
			return v, nil
		}
		return "", fmt.Errorf("%s has no attribute %s", id, attr)
	}
	if s.Template != nil {
		if _, ok := s.Template.Resources[id]; ok {
			return "", s.unnamed(id)
		}
		if _, ok := s.Template.Parameters[id]; ok || s.Template.noDefault[id] {
			return "", fmt.Errorf("%s is a parameter, which has no attributes", id)
		}
	}
	return "", fmt.Errorf("unknown resource %s", id)
}

// resourceInCondition is the error for a condition that refers to name,
// which is not a parameter: CloudFormation evaluates conditions before it
// creates anything.
func (s *resolution) resourceInCondition(name string) error {
	if s.Template != nil {
		if _, ok := s.Template.Resources[name]; ok {
			return fmt.Errorf("a condition cannot refer to resource %s", name)
		}
	}
	return fmt.Errorf("unknown name %s", name)
}

// unnamed explains why the resource id has no entry in Names.
func (s *resolution) unnamed(id string) error {
	if c := s.Template.Resources[id].Condition; c != "" {
		if on, err := s.conditionNamed(c); err == nil && !on {
			return fmt.Errorf("resource %s is not created: its condition %s is false", id, c)
		}
	}
	return fmt.Errorf("resource %s has no physical name yet", id)
}

// sub evaluates Fn::Sub on arg, a string or a [string, variables] pair.
func (s *resolution) sub(arg *yaml.Node) (string, error) {
	tmpl := arg
	var vars map[string]string
	if arg.Kind == yaml.SequenceNode {
		tmpl = deref(arg.Content[0])
		es, err := entries(arg.Content[1], "Fn::Sub variables")
		if err != nil {
			return "", err
		}
		vars = make(map[string]string, len(es))
		for _, e := range es {
			v, err := s.resolveString(e.value)
			if err != nil {
				return "", fmt.Errorf("variable %s: %w", e.key, err)
			}
			vars[e.key] = v
		}
	}
	return s.substitute(tmpl.Value, vars)
}

// substitute replaces the ${...} placeholders in text.
func (s *resolution) substitute(text string, vars map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		rest := text[i+2:]
		if strings.HasPrefix(rest, "!") { // ${!Literal} stands for ${Literal}
			b.WriteString("${")
			text = rest[1:]
			continue
		}
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", text[i:])
		}
		name := strings.TrimSpace(rest[:j])
		v, err := s.variable(name, vars)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", name, err)
		}
		b.WriteString(v)
		text = rest[j+1:]
	}
}

// variable resolves the name of one ${name} placeholder.
func (s *resolution) variable(name string, vars map[string]string) (string, error) {
	if v, ok := vars[name]; ok {
		return v, nil
	}
	switch {
	case name == "":
		return "", errors.New("empty variable name")
	case strings.HasPrefix(name, "AWS::"):
		return s.Pseudo.value(name)
	case strings.Contains(name, "."):
		id, attr, _ := strings.Cut(name, ".")
		if id == "" || attr == "" {
			return "", fmt.Errorf("malformed attribute reference %q", name)
		}
		return s.getAtt(id, attr)
	}
	return s.ref(name)
}

// join evaluates Fn::Join on arg, a [delimiter, list] pair.
func (s *resolution) join(arg *yaml.Node) (string, error) {
	delim := deref(arg.Content[0]).Value
	v, err := s.resolve(arg.Content[1])
	if err != nil {
		return "", err
	}
	list, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("second argument is %T, want a list", v)
	}
	parts := make([]string, len(list))
	for i, item := range list {
		if parts[i], err = toString(item); err != nil {
			return "", fmt.Errorf("item %d: %w", i, err)
		}
	}
	return strings.Join(parts, delim), nil
}

// scalar decodes a plain scalar node.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return n.Value, nil
}

// toString converts a resolved scalar to a string.
func toString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int, int64, uint64, bool:
		return fmt.Sprint(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case nil:
		return "", errors.New("got null, want a string")
	}
	return "", fmt.Errorf("got %s, want a string", describe(v))
}

// toInt converts a resolved scalar (a number or a numeric string) to an int.
func toInt(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		if v >= math.MinInt && v <= math.MaxInt {
			return int(v), nil
		}
	case uint64:
		if v <= math.MaxInt {
			return int(v), nil
		}
	case float64:
		if v == math.Trunc(v) && v >= math.MinInt32 && v <= math.MaxInt32 {
			return int(v), nil
		}
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("got %q, want an integer", v)
		}
		return i, nil
	}
	return 0, fmt.Errorf("got %s, want an integer", describe(v))
}

// toBool converts a resolved scalar (a boolean or "true"/"false") to a bool.
func toBool(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, fmt.Errorf("got %q, want a boolean", v)
	}
	return false, fmt.Errorf("got %s, want a boolean", describe(v))
}

// describe names the type of a resolved value for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", v)
	}
}

// line returns n's line, or 0 for nil.
func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}
