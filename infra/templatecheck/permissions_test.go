package templatecheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// starActions are the only actions a statement may grant on Resource "*":
// AWS offers no resource-level permission for them (Service Authorization
// Reference), and template.yaml says so where each is granted.
var starActions = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}

// statement is one statement of an identity policy, with where it stands.
type statement struct {
	where string
	body  map[string]any
}

// identityStatements returns every statement of the template's roles and
// managed policies.
func identityStatements(c *cfn) []statement {
	var out []statement
	for _, id := range c.ofType("AWS::IAM::Role") {
		for _, p := range list(c.Resources[id].Properties["Policies"]) {
			for _, s := range list(path(p, "PolicyDocument", "Statement")) {
				out = append(out, statement{id, s.(map[string]any)})
			}
		}
	}
	for _, id := range c.ofType("AWS::IAM::ManagedPolicy") {
		for _, s := range list(path(c.Resources[id].Properties, "PolicyDocument", "Statement")) {
			out = append(out, statement{id, s.(map[string]any)})
		}
	}
	return out
}

func TestEveryFunctionRunsAsItsOwnRole(t *testing.T) {
	c := deployed(t)
	roles := c.functionRoles(t)
	seen := map[string]string{}
	for fn, role := range roles {
		if other, ok := seen[role]; ok {
			t.Errorf("%s and %s share the role %s: each function gets exactly its own permissions", fn, other, role)
		}
		seen[role] = fn
		props := c.Resources[role].Properties
		want := []any{
			map[string]any{"Ref": "TracingPolicy"},
			map[string]any{"Fn::If": []any{"UseCustomerKey", map[string]any{"Ref": "CustomerKeyUsePolicy"}, map[string]any{"Ref": "AWS::NoValue"}}},
		}
		if diff := cmp.Diff(want, props["ManagedPolicyArns"]); diff != "" {
			t.Errorf("%s: ManagedPolicyArns, this template's own policies only (-want +got):\n%s", role, diff)
		}
		trust := list(path(props, "AssumeRolePolicyDocument", "Statement"))
		want = []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}
		if diff := cmp.Diff(want, trust); diff != "" {
			t.Errorf("%s: trust policy (-want +got):\n%s", role, diff)
		}
	}
	if got := len(roles); got != len(c.ofType("AWS::Lambda::Function")) || got == 0 {
		t.Errorf("%d functions with a role of their own, want every one of %d", got, len(c.ofType("AWS::Lambda::Function")))
	}
}

func TestNoStatementGrantsEverything(t *testing.T) {
	for _, s := range identityStatements(deployed(t)) {
		actions := strs(s.body["Action"])
		if s.body["NotAction"] != nil || s.body["NotResource"] != nil {
			t.Errorf("%s: NotAction/NotResource grant more than they name: %v", s.where, s.body)
		}
		for _, a := range actions {
			if a == "*" || strings.HasSuffix(a, ":*") {
				t.Errorf("%s: action %q: name the actions the code calls", s.where, a)
			}
		}
		if !slices.Contains(strs(s.body["Resource"]), "*") {
			continue
		}
		for _, a := range actions {
			if !slices.Contains(starActions, a) {
				t.Errorf("%s: %s on Resource \"*\": scope it to the resources the function uses", s.where, a)
			}
		}
	}
}

// TestStarExceptionsAreCommented reads template.yaml itself: every
// Resource "*" has its reason written beside it.
func TestStarExceptionsAreCommented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	star := regexp.MustCompile(`Resource: "\*"`)
	n := 0
	for i, l := range lines {
		if !star.MatchString(l) {
			continue
		}
		n++
		context := strings.Join(lines[max(0, i-4):i+1], "\n")
		if !strings.Contains(context, "#") {
			t.Errorf("template.yaml:%d: Resource \"*\" without a comment saying why", i+1)
		}
	}
	if n == 0 {
		t.Error(`no Resource "*" found: the X-Ray exception at least should be there`)
	}
}

// TestEventSourcesAreScoped checks that each function may poll only the
// queues and streams its event source mappings read.
func TestEventSourcesAreScoped(t *testing.T) {
	c := deployed(t)
	roles := c.functionRoles(t)
	for _, id := range c.ofType("AWS::Lambda::EventSourceMapping") {
		p := c.Resources[id].Properties
		fn := ref(p["FunctionName"])
		src, attr := getAtt(p["EventSourceArn"])
		action := map[string]string{"Arn": "sqs:ReceiveMessage", "StreamArn": "dynamodb:GetRecords"}[attr]
		if !roleGrants(c, roles[fn], action, src, attr) {
			t.Errorf("%s: %s's role does not grant %s on %s.%s", id, fn, action, src, attr)
		}
	}
}

// roleGrants reports whether role has a statement granting action on
// !GetAtt id.attr.
func roleGrants(c *cfn, role, action, id, attr string) bool {
	for _, s := range identityStatements(c) {
		if s.where != role || !slices.Contains(strs(s.body["Action"]), action) {
			continue
		}
		for _, r := range list(s.body["Resource"]) {
			if rid, rattr := getAtt(r); rid == id && rattr == attr {
				return true
			}
		}
	}
	return false
}

func TestCustomerManagedKeyIsOptionalAndNarrow(t *testing.T) {
	c := deployed(t)
	key := c.Resources["CustomerKey"]
	if key.Condition != "UseCustomerKey" || key.DeletionPolicy != "Retain" {
		t.Errorf("CustomerKey: Condition %q, DeletionPolicy %q; want UseCustomerKey, Retain", key.Condition, key.DeletionPolicy)
	}
	ifKey := func(v any) bool {
		l, _ := path(v, "Fn::If").([]any)
		return len(l) == 3 && l[0] == "UseCustomerKey" && ref(l[2]) == "AWS::NoValue"
	}
	uses := map[string]any{
		"RequestsTable": path(c.Resources["RequestsTable"].Properties, "SSESpecification", "KMSMasterKeyId"),
		"PepperSecret":  c.Resources["PepperSecret"].Properties["KmsKeyId"],
		"ReportsBucket": path(list(path(c.Resources["ReportsBucket"].Properties, "BucketEncryption", "ServerSideEncryptionConfiguration"))[0], "ServerSideEncryptionByDefault", "KMSMasterKeyID"),
	}
	for id, v := range uses {
		if !ifKey(v) {
			t.Errorf("%s: key is %v, want !If [UseCustomerKey, <CustomerKey>, !Ref AWS::NoValue]", id, v)
		}
	}
	for _, s := range list(path(key.Properties, "KeyPolicy", "Statement")) {
		st := s.(map[string]any)
		if !slices.Contains(strs(st["Action"]), "kms:Decrypt") {
			continue
		}
		if path(st, "Condition", "ArnLike", "aws:PrincipalArn") == nil || path(st, "Condition", "StringEquals", "kms:ViaService") == nil {
			t.Errorf("CustomerKey: %v grants kms:Decrypt beyond the stack's roles through the three services", st["Sid"])
		}
	}
}
