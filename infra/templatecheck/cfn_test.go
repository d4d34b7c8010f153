package templatecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
)

// The repository root, from this package's directory.
const root = "../.."

// cfn is a CloudFormation template as JSON data.
type cfn struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Resources  map[string]resource
}

type resource struct {
	Type           string
	Condition      string
	DeletionPolicy string
	Properties     map[string]any
}

var (
	translateOnce sync.Once
	translated    *cfn
	translateErr  error
)

// deployed returns template.yaml as CloudFormation runs it: translated by the
// pinned SAM translator in the project's virtualenv (make venv).
func deployed(t *testing.T) *cfn {
	t.Helper()
	translateOnce.Do(func() { translated, translateErr = translate() })
	if translateErr != nil {
		t.Fatal(translateErr)
	}
	return translated
}

func translate() (*cfn, error) {
	python := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("the SAM translator needs the project's virtualenv: run `make venv` (%v)", err)
	}
	cmd := exec.Command(python, "translate.py", filepath.Join(root, "template.yaml"))
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("translate template.yaml: %v\n%s", err, stderr.String())
	}
	var c cfn
	if err := json.Unmarshal(out, &c); err != nil {
		return nil, fmt.Errorf("translated template: %v", err)
	}
	return &c, nil
}

// ofType returns the logical ids of the resources of type typ, sorted.
func (c *cfn) ofType(typ string) []string {
	var ids []string
	for id, r := range c.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// functionRoles maps each Lambda function to the role it runs as.
func (c *cfn) functionRoles(t *testing.T) map[string]string {
	t.Helper()
	roles := map[string]string{}
	for _, fn := range c.ofType("AWS::Lambda::Function") {
		id, attr := getAtt(c.Resources[fn].Properties["Role"])
		if attr != "Arn" || c.Resources[id].Type != "AWS::IAM::Role" {
			t.Errorf("%s: Role is %v, want !GetAtt <a role of this template>.Arn", fn, c.Resources[fn].Properties["Role"])
			continue
		}
		roles[fn] = id
	}
	return roles
}

// ref returns the name v refers to when v is {"Ref": name}.
func ref(v any) string {
	m, _ := v.(map[string]any)
	if len(m) != 1 {
		return ""
	}
	s, _ := m["Ref"].(string)
	return s
}

// getAtt returns the logical id and attribute of {"Fn::GetAtt": [id, attr]}.
func getAtt(v any) (id, attr string) {
	m, _ := v.(map[string]any)
	l, _ := m["Fn::GetAtt"].([]any)
	if len(m) != 1 || len(l) != 2 {
		return "", ""
	}
	id, _ = l[0].(string)
	attr, _ = l[1].(string)
	return id, attr
}

// list returns v as a list: a single value is a list of one.
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// strs returns the strings of v (a string or a list).
func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// path walks nested mappings by key.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
