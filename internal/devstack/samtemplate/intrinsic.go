package samtemplate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shortForms maps the YAML tags of CloudFormation's short-form intrinsics to
// their long-form names. Ref, Fn::GetAtt, Fn::Sub, Fn::Join and Fn::If
// resolve, and the condition functions (Fn::Equals, Fn::Not, Fn::And, Fn::Or
// and Condition) evaluate in the Conditions section; the others parse, and
// resolving them is an error.
var shortForms = map[string]string{
	"!Ref":          "Ref",
	"!GetAtt":       "Fn::GetAtt",
	"!Sub":          "Fn::Sub",
	"!Join":         "Fn::Join",
	"!Base64":       "Fn::Base64",
	"!Cidr":         "Fn::Cidr",
	"!FindInMap":    "Fn::FindInMap",
	"!GetAZs":       "Fn::GetAZs",
	"!ImportValue":  "Fn::ImportValue",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!Transform":    "Fn::Transform",
	"!And":          "Fn::And",
	"!Equals":       "Fn::Equals",
	"!If":           "Fn::If",
	"!Not":          "Fn::Not",
	"!Or":           "Fn::Or",
	"!Condition":    "Condition",
	"!ToJsonString": "Fn::ToJsonString",
	"!Length":       "Fn::Length",
}

// isCustomTag reports whether tag is a local tag such as "!Ref", as opposed
// to a YAML core tag ("!!str") or the non-specific tag "!".
func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") && tag != "!"
}

// intrinsic reports whether n is an intrinsic function call, in short form
// (a tagged node) or long form (a mapping with the single key "Ref" or
// "Fn::..."). It returns the long-form name and the argument node; for the
// short form the argument is a copy of n without its tag. An unknown tag is an
// error.
func intrinsic(n *yaml.Node) (fn string, arg *yaml.Node, ok bool, err error) {
	if isCustomTag(n.Tag) {
		fn, known := shortForms[n.Tag]
		if !known {
			return "", nil, false, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		c := *n
		c.Tag = ""
		c.Style &^= yaml.TaggedStyle
		return fn, &c, true, nil
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := deref(n.Content[0])
		if k.Kind == yaml.ScalarNode && !isCustomTag(k.Tag) && (k.Value == "Ref" || strings.HasPrefix(k.Value, "Fn::")) {
			return k.Value, deref(n.Content[1]), true, nil
		}
	}
	return "", nil, false, nil
}

// checkShape checks the argument of a supported intrinsic function against
// the shape argumentShapes gives it; any other function is unsupported.
func checkShape(fn string, arg *yaml.Node) error {
	check, ok := argumentShapes[fn]
	if !ok {
		return errors.New("unsupported intrinsic function")
	}
	return check(deref(arg))
}

// argumentShapes check the argument of each supported intrinsic function,
// alias already followed; their errors say what the argument must be.
var argumentShapes = map[string]func(arg *yaml.Node) error{
	"Ref":        refShape,
	"Fn::GetAtt": getAttShape,
	"Fn::Sub":    subShape,
	"Fn::Join":   joinShape,
	"Fn::If":     ifShape,
	"Fn::Equals": listShape(2, 2, "argument must be [value, value]"),
	"Fn::Not":    listShape(1, 1, "argument must be [condition]"),
	"Fn::And":    listShape(2, 10, "argument must be a list of 2 to 10 conditions"),
	"Fn::Or":     listShape(2, 10, "argument must be a list of 2 to 10 conditions"),
	"Condition":  conditionShape,
}

// refShape accepts the argument of Ref: a plain, non-empty name.
func refShape(arg *yaml.Node) error {
	if arg.Kind != yaml.ScalarNode || isCustomTag(arg.Tag) || arg.Value == "" {
		return fmt.Errorf("argument is %s, want a name", kindName(arg))
	}
	return nil
}

// getAttShape accepts the two forms of Fn::GetAtt's argument:
// "LogicalId.Attribute" and [LogicalId, Attribute].
func getAttShape(arg *yaml.Node) error {
	switch arg.Kind {
	case yaml.ScalarNode:
		id, attr, ok := strings.Cut(arg.Value, ".")
		if !ok || id == "" || attr == "" {
			return fmt.Errorf("argument %q is not LogicalId.Attribute", arg.Value)
		}
	case yaml.SequenceNode:
		if len(arg.Content) != 2 || !plainName(arg.Content[0]) || !plainName(arg.Content[1]) {
			return errors.New("argument must be [LogicalId, Attribute]")
		}
	default:
		return fmt.Errorf("argument is %s, want LogicalId.Attribute", kindName(arg))
	}
	return nil
}

// subShape accepts the two forms of Fn::Sub's argument: a plain string, and
// [string, {variables}].
func subShape(arg *yaml.Node) error {
	switch arg.Kind {
	case yaml.ScalarNode:
		if isCustomTag(arg.Tag) {
			return fmt.Errorf("argument is %s, want a string", kindName(arg))
		}
	case yaml.SequenceNode:
		if len(arg.Content) != 2 || !plainScalar(arg.Content[0]) || !plainMapping(arg.Content[1]) {
			return errors.New("argument must be a string or [string, {variables}]")
		}
	default:
		return fmt.Errorf("argument is %s, want a string", kindName(arg))
	}
	return nil
}

// joinShape accepts Fn::Join's [delimiter, [values]], where the values may
// also be an intrinsic that yields the list, but not a plain scalar.
func joinShape(arg *yaml.Node) error {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 || !plainScalar(arg.Content[0]) {
		return errors.New("argument must be [delimiter, [values]]")
	}
	if l := deref(arg.Content[1]); l.Kind == yaml.ScalarNode && !isCustomTag(l.Tag) {
		return errors.New("argument must be [delimiter, [values]]")
	}
	return nil
}

// ifShape accepts Fn::If's [condition name, value if true, value if false].
func ifShape(arg *yaml.Node) error {
	if !plainSequence(arg, 3, 3) || !plainName(arg.Content[0]) {
		return errors.New("argument must be [condition name, value if true, value if false]")
	}
	return nil
}

// listShape returns a check that accepts a plain list of min to max items,
// as the condition functions take, and otherwise fails with msg.
func listShape(min, max int, msg string) func(*yaml.Node) error {
	return func(arg *yaml.Node) error {
		if !plainSequence(arg, min, max) {
			return errors.New(msg)
		}
		return nil
	}
}

// conditionShape accepts the argument of Condition: a condition's name.
func conditionShape(arg *yaml.Node) error {
	if !plainName(arg) {
		return fmt.Errorf("argument is %s, want a condition name", kindName(arg))
	}
	return nil
}

// getAttArgs splits the argument of an Fn::GetAtt that checkShape accepted.
func getAttArgs(arg *yaml.Node) (id, attr string) {
	arg = deref(arg)
	if arg.Kind == yaml.SequenceNode {
		return deref(arg.Content[0]).Value, deref(arg.Content[1]).Value
	}
	id, attr, _ = strings.Cut(arg.Value, ".")
	return id, attr
}

func plainScalar(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && !isCustomTag(n.Tag)
}

func plainName(n *yaml.Node) bool {
	return plainScalar(n) && deref(n).Value != ""
}

// plainSequence reports whether n is an untagged sequence of min to max
// items.
func plainSequence(n *yaml.Node, min, max int) bool {
	n = deref(n)
	return n.Kind == yaml.SequenceNode && !isCustomTag(n.Tag) && len(n.Content) >= min && len(n.Content) <= max
}

func plainMapping(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.MappingNode && !isCustomTag(n.Tag)
}

// checkedShapes are the intrinsics whose arguments checkIntrinsics checks.
var checkedShapes = []string{
	"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join",
	"Fn::If", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition",
}

// checkIntrinsics walks the document and checks that every tag is a known
// intrinsic and every supported intrinsic has a well-formed argument. It
// does not follow aliases; their anchors are checked where they are defined.
func checkIntrinsics(n *yaml.Node) error {
	return walkIntrinsics(n, func(fn string, arg *yaml.Node, at int) error {
		if !slices.Contains(checkedShapes, fn) {
			return nil
		}
		if err := checkShape(fn, arg); err != nil {
			return fmt.Errorf("line %d: %s: %w", at, fn, err)
		}
		return nil
	})
}

// walkIntrinsics calls visit with every intrinsic function call under n, its
// argument and its line, outermost first. It does not follow aliases.
func walkIntrinsics(n *yaml.Node, visit func(fn string, arg *yaml.Node, line int) error) error {
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	fn, arg, ok, err := intrinsic(n)
	if err != nil {
		return err
	}
	if ok {
		if err := visit(fn, arg, n.Line); err != nil {
			return err
		}
		n = arg
	}
	for _, c := range n.Content {
		if err := walkIntrinsics(c, visit); err != nil {
			return err
		}
	}
	return nil
}
