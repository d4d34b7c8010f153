package samtemplate

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// conditionTemplate is the template the condition tests evaluate.
const conditionTemplate = `
Parameters:
  Env: {Type: String, Default: dev}
  Days: {Type: Number, Default: 30}
  Flag: {Type: String, Default: "true"}
  Empty: {Type: String, Default: ""}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  IsProd: {"Fn::Equals": [prod, !Ref Env]}
  NotProd: !Not [!Condition IsProd]
  LongNot: {"Fn::Not": [{Condition: IsDev}]}
  DevAndNotProd: !And [!Condition IsDev, {Condition: NotProd}]
  DevAndProd: !And [{Condition: IsDev}, !Condition IsProd]
  DevOrProd: !Or [!Condition IsProd, !Condition IsDev]
  NeitherOr: {"Fn::Or": [!Condition IsProd, !Equals [a, b]]}
  Chained: !Condition DevAndNotProd
  DaysNumber: !Equals [!Ref Days, 30]
  FlagBool: !Equals [!Ref Flag, true]
  IsEmpty: !Equals [!Ref Empty, ""]
  InRegion: !Equals [!Sub "${AWS::Region}-${Env}", eu-central-1-dev]
  CaseMatters: !Equals [!Ref Env, DEV]
Resources:
  Table: {Type: "AWS::DynamoDB::Table"}
  ProdOnly: {Type: "AWS::S3::Bucket", Condition: IsProd}
  DevOnly: {Type: "AWS::S3::Bucket", Condition: IsDev}
`

var conditionPseudo = Pseudo{Region: "eu-central-1", AccountID: "123456789012", StackName: "stack"}

func conditionResolver(t *testing.T) *Resolver {
	t.Helper()
	tmpl, err := Parse([]byte(conditionTemplate))
	if err != nil {
		t.Fatal(err)
	}
	names := Names{
		"Table":   {Ref: "stack-Table", Attrs: map[string]string{"Arn": "arn:table"}},
		"DevOnly": {Ref: "stack-devonly", Attrs: map[string]string{"Arn": "arn:devonly"}},
	}
	return &Resolver{Template: tmpl, Names: names, Pseudo: conditionPseudo}
}

func TestParseConditions(t *testing.T) {
	r := conditionResolver(t)
	got := map[string]string{}
	for id, res := range r.Template.Resources {
		got[id] = res.Condition
	}
	if diff := cmp.Diff(map[string]string{"Table": "", "ProdOnly": "IsProd", "DevOnly": "IsDev"}, got); diff != "" {
		t.Errorf("resource conditions (-want +got):\n%s", diff)
	}
	if n := len(r.Template.Conditions); n != 14 {
		t.Errorf("got %d conditions, want 14", n)
	}
}

func TestConditionTrue(t *testing.T) {
	r := conditionResolver(t)
	want := map[string]bool{
		"IsDev": true, "IsProd": false, "NotProd": true, "LongNot": false,
		"DevAndNotProd": true, "DevAndProd": false, "DevOrProd": true, "NeitherOr": false,
		"Chained": true, "DaysNumber": true, "FlagBool": true, "IsEmpty": true, "InRegion": true,
		"CaseMatters": false,
	}
	got := map[string]bool{}
	for name := range r.Template.Conditions {
		v, err := r.ConditionTrue(name)
		if err != nil {
			t.Fatalf("ConditionTrue(%s): %v", name, err)
		}
		got[name] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConditionTrue (-want +got):\n%s", diff)
	}
}

func TestResourceEnabled(t *testing.T) {
	r := conditionResolver(t)
	tests := []struct {
		id      string
		want    bool
		wantErr string
	}{
		{id: "Table", want: true},
		{id: "DevOnly", want: true},
		{id: "ProdOnly", want: false},
		{id: "Nope", wantErr: "unknown resource Nope"},
	}
	for _, tt := range tests {
		got, err := r.ResourceEnabled(tt.id)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ResourceEnabled(%s) = %v, %v; want error %q", tt.id, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResourceEnabled(%s) = %v, %v; want %v", tt.id, got, err, tt.want)
		}
	}
}

// TestConditionErrors covers errors found when a condition is evaluated.
// Parse rejects most of these templates, so the conditions are set after it.
func TestConditionErrors(t *testing.T) {
	tests := []struct {
		name       string
		conditions map[string]string
		eval, want string
	}{
		{"unknown", nil, "Nope", "unknown condition Nope"},
		{"cycle", map[string]string{"A": "!Condition B", "B": "!Not [{Condition: A}]"}, "A", "condition cycle: A -> B -> A"},
		{"self", map[string]string{"A": "!And [!Condition IsDev, !Condition A]"}, "A", "condition cycle: A -> A"},
		{"literal", map[string]string{"A": "true"}, "A", "condition A: line 1: a scalar is not a condition function"},
		{"other intrinsic", map[string]string{"A": "!Ref Env"}, "A", "line 1: Ref is not a condition function"},
		{"operand not a condition", map[string]string{"A": "!Not [x]"}, "A", "Fn::Not: line 1: a scalar is not a condition function"},
		{"if in condition", map[string]string{"A": "!Not [!If [IsDev, !Condition IsDev, !Condition IsProd]]"}, "A", "Fn::If is not a condition function"},
		{"ref to resource", map[string]string{"A": "!Equals [!Ref Table, x]"}, "A", "a condition cannot refer to resource Table"},
		{"getatt", map[string]string{"A": "!Equals [!GetAtt Table.Arn, x]"}, "A", "a condition cannot refer to resource Table"},
		{"sub of resource", map[string]string{"A": `!Equals [!Sub "${Table}", x]`}, "A", "a condition cannot refer to resource Table"},
		{"unknown name", map[string]string{"A": "!Equals [!Ref Nope, x]"}, "A", "Ref: unknown name Nope"},
		{"list value", map[string]string{"A": "!Equals [[a], a]"}, "A", "Fn::Equals: value 1: got a list, want a string"},
		{"equals arity", map[string]string{"A": "!Equals [a]"}, "A", "Fn::Equals: argument must be [value, value]"},
		{"error in a false or", map[string]string{"A": "!Or [!Condition IsDev, !Condition Nope]"}, "A", "unknown condition Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := conditionResolver(t)
			for name, src := range tt.conditions {
				r.Template.Conditions[name] = node(t, src)
			}
			got, err := r.ConditionTrue(tt.eval)
			if err == nil {
				t.Fatalf("ConditionTrue(%s) = %v, want an error containing %q", tt.eval, got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ConditionTrue error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestResolveConditional(t *testing.T) {
	tests := []struct {
		name, src string
		want      any
	}{
		{"if true", `!If [IsDev, a, b]`, "a"},
		{"if false", `!If [IsProd, a, b]`, "b"},
		{"long if", `{"Fn::If": [NotProd, !Ref Env, b]}`, "dev"},
		{"if of a mapping", `!If [IsDev, {A: !Ref Table}, [x]]`, map[string]any{"A": "stack-Table"}},
		{"nested if", `!If [IsProd, a, !If [IsDev, b, c]]`, "b"},
		{"novalue drops the key", `{KMSMasterKeyId: !If [IsProd, key, !Ref AWS::NoValue], SSEEnabled: true}`, map[string]any{"SSEEnabled": true}},
		{"long novalue", `{A: {Ref: AWS::NoValue}, B: x}`, map[string]any{"B": "x"}},
		{"novalue drops the item", `[a, !If [IsProd, b, !Ref AWS::NoValue], c, !Ref AWS::NoValue]`, []any{"a", "c"}},
		{"novalue kept when true", `{K: !If [IsDev, key, !Ref AWS::NoValue]}`, map[string]any{"K": "key"}},
		{"top-level novalue", `!Ref AWS::NoValue`, nil},
		{"top-level if novalue", `!If [IsProd, a, !Ref AWS::NoValue]`, nil},
		{"join without the dropped item", `!Join [",", [a, !If [IsProd, b, !Ref AWS::NoValue], c]]`, "a,c"},
		{"sub variable from if", `!Sub ["${A}-x", {A: !If [IsDev, d, p]}]`, "d-x"},
		{"join of an if list", `!Join ["-", !If [IsDev, [a, b], [c]]]`, "a-b"},
		{"condition ref in an unused branch", `!If [IsDev, !Ref DevOnly, !Ref ProdOnly]`, "stack-devonly"},
		{"everything empty", `{A: [!Ref AWS::NoValue]}`, map[string]any{"A": []any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := conditionResolver(t)
			got, err := r.Resolve(node(t, tt.src))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveConditionalErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown condition", `!If [Nope, a, b]`, "line 1: Fn::If: unknown condition Nope"},
		{"if arity", `!If [IsDev, a]`, "Fn::If: argument must be [condition name, value if true, value if false]"},
		{"if condition not a name", `!If [[IsDev], a, b]`, "Fn::If: argument must be"},
		{"equals in properties", `!Equals [a, a]`, "Fn::Equals: condition functions belong in Conditions"},
		{"condition in properties", `{A: !Condition IsDev}`, "Condition: condition functions belong in Conditions"},
		{"ref to a disabled resource", `!Ref ProdOnly`, "resource ProdOnly is not created: its condition IsProd is false"},
		{"getatt of a disabled resource", `!GetAtt ProdOnly.Arn`, "resource ProdOnly is not created: its condition IsProd is false"},
		{"chosen branch fails", `!If [IsDev, !Ref Nope, b]`, "Ref: unknown name Nope"},
		{"intrinsic of novalue", `{"Fn::Sub": !Ref AWS::NoValue}`, "Fn::Sub: argument is AWS::NoValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := conditionResolver(t)
			got, err := r.Resolve(node(t, tt.src))
			if err == nil {
				t.Fatalf("Resolve = %v, want an error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Resolve error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestResolveStringNoValue(t *testing.T) {
	r := conditionResolver(t)
	got, err := r.ResolveString(node(t, `!If [IsProd, a, !Ref AWS::NoValue]`))
	if err == nil || !strings.Contains(err.Error(), "got AWS::NoValue, want a string") {
		t.Errorf("ResolveString = %q, %v; want an AWS::NoValue error", got, err)
	}
	if got, err := r.ResolveString(node(t, `!If [IsDev, 5, b]`)); err != nil || got != "5" {
		t.Errorf("ResolveString = %q, %v; want 5", got, err)
	}
}

func TestParseConditionErrors(t *testing.T) {
	const params = "Parameters: {P: {Default: x}}\n"
	runParseErrors(t, []parseErrorCase{
		{"resource with unknown condition", "Resources: {A: {Type: T, Condition: Nope}}\n", "resource A: unknown condition Nope"},
		{"resource condition not a name", "Conditions: {C: !Equals [a, a]}\nResources: {A: {Type: T, Condition: [C]}}\n", "resource A: Condition is a sequence, want a condition name"},
		{"tagged resource condition", "Conditions: {C: !Equals [a, a]}\nResources: {A: {Type: T, Condition: !Ref C}}\n", "Condition is tagged !Ref"},
		{"conditions not a mapping", "Conditions: [a]\nResources: {}\n", "Conditions is a sequence, want a mapping"},
		{"if with unknown condition", "Resources: {A: {Type: T, Properties: {X: !If [Nope, a, b]}}}\n", "line 1: Fn::If: unknown condition Nope"},
		{"if in outputs with unknown condition", "Resources: {}\nOutputs: {O: {Value: {'Fn::If': [Nope, a, b]}}}\n", "Fn::If: unknown condition Nope"},
		{"condition with unknown condition", "Conditions: {A: !Not [!Condition Nope]}\nResources: {}\n", "line 1: Condition: unknown condition Nope"},
		{"long condition with unknown condition", "Conditions: {A: !And [{Condition: Nope}, !Equals [a, a]]}\nResources: {}\n", "Fn::And: unknown condition Nope"},
		{"top-level long condition unknown", "Conditions: {A: {Condition: Nope}}\nResources: {}\n", "Condition: unknown condition Nope"},
		{"cycle", "Conditions:\n  A: !Not [!Condition B]\n  B: !Or [{Condition: C}, !Equals [a, b]]\n  C: !Condition A\nResources: {}\n", "condition cycle: A -> B -> C -> A"},
		{"self cycle", "Conditions: {A: !Not [{Condition: A}]}\nResources: {}\n", "condition cycle: A -> A"},
		{"condition not a function", "Conditions: {A: true}\nResources: {}\n", "condition A is a scalar, want a condition function"},
		{"condition is a ref", params + "Conditions: {A: !Ref P}\nResources: {}\n", "condition A is tagged !Ref, want a condition function"},
		{"if arity", "Resources: {A: {Type: T, Properties: {X: !If [C, a]}}}\n", "Fn::If: argument must be [condition name, value if true, value if false]"},
		{"long if arity", "Resources: {A: {Type: T, Properties: {X: {'Fn::If': [C, a, b, c]}}}}\n", "Fn::If: argument must be"},
		{"if name tagged", "Resources: {A: {Type: T, Properties: {X: !If [!Ref C, a, b]}}}\n", "Fn::If: argument must be"},
		{"equals arity", "Conditions: {A: !Equals [a]}\nResources: {}\n", "Fn::Equals: argument must be [value, value]"},
		{"equals of a scalar", "Conditions: {A: !Equals a}\nResources: {}\n", "Fn::Equals: argument must be [value, value]"},
		{"not arity", "Conditions: {A: !Not [!Equals [a, a], !Equals [a, a]]}\nResources: {}\n", "Fn::Not: argument must be [condition]"},
		{"and of one", "Conditions: {A: !And [!Equals [a, a]]}\nResources: {}\n", "Fn::And: argument must be a list of 2 to 10 conditions"},
		{"or of eleven", "Conditions: {A: !Or [" + strings.Repeat("!Equals [a, a], ", 10) + "!Equals [a, a]]}\nResources: {}\n", "Fn::Or: argument must be a list of 2 to 10 conditions"},
		{"condition of a list", "Conditions: {A: !Equals [a, a], B: !Not [!Condition [A]]}\nResources: {}\n", "Condition: argument is a sequence, want a condition name"},
	})
}

func TestFunctionsConditions(t *testing.T) {
	src := `
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Globals:
  Function:
    Timeout: !If [IsProd, 30, 10]
    Environment:
      Variables:
        KEY: !If [IsProd, !Ref Q, !Ref AWS::NoValue]
        STAGE: !If [IsProd, production, development]
Resources:
  Q: {Type: "AWS::SQS::Queue"}
  Alarmer:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties: {Events: {E: {Type: Nope}}}
  F:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: !If [IsProd, 1024, !Ref AWS::NoValue]
      Events:
        Nightly: !If [IsProd, {Type: Schedule, Properties: {Schedule: "rate(1 day)"}}, !Ref AWS::NoValue]
        Queue:
          Type: SQS
          Properties:
            Queue: !If [IsProd, !GetAtt Missing.Arn, !GetAtt Q.Arn]
            Enabled: !If [IsProd, true, false]
`
	tmpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Functions(Names{"Q": {Ref: "q"}}, Pseudo{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Function{{
		LogicalID: "F", Timeout: 10 * time.Second, MemorySize: DefaultMemorySize,
		Environment: map[string]string{"STAGE": "development"},
		Events:      []Event{{Name: "Queue", Type: "SQS", QueueLogicalID: "Q", BatchSize: 10}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Functions (-want +got):\n%s", diff)
	}
}
