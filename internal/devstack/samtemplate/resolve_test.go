package samtemplate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// resolveTemplate is the template the resolver tests resolve against.
const resolveTemplate = `
Parameters:
  Env: {Type: String, Default: dev}
  Days: {Type: Number, Default: 30}
  Secret: {Type: String}
Resources:
  Table: {Type: "AWS::DynamoDB::Table"}
  Queue: {Type: "AWS::SQS::Queue"}
  Pending: {Type: "AWS::S3::Bucket"}
`

func resolveNames() Names {
	return Names{
		"Table": {Ref: "stack-Table", Attrs: map[string]string{"Arn": "arn:aws:dynamodb:eu-central-1:123456789012:table/stack-Table"}},
		"Queue": {Ref: "https://sqs/stack-Queue", Attrs: map[string]string{"Arn": "arn:aws:sqs:eu-central-1:123456789012:stack-Queue", "QueueName": "stack-Queue"}},
	}
}

// node parses src as a single YAML node.
func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("yaml %q: %v", src, err)
	}
	return doc.Content[0]
}

func TestResolve(t *testing.T) {
	tmpl, err := Parse([]byte(resolveTemplate))
	if err != nil {
		t.Fatal(err)
	}
	pseudo := Pseudo{Region: "eu-central-1", AccountID: "123456789012", StackName: "stack"}
	tests := []struct {
		name   string
		src    string
		pseudo *Pseudo // nil: pseudo
		want   any
	}{
		{"plain string", `hello`, nil, "hello"},
		{"plain scalars", `{s: x, i: 5, f: 1.5, b: true, n: null, q: "5"}`, nil,
			map[string]any{"s": "x", "i": 5, "f": 1.5, "b": true, "n": nil, "q": "5"}},
		{"list", `[a, 1]`, nil, []any{"a", 1}},
		{"ref parameter", `!Ref Env`, nil, "dev"},
		{"ref number parameter", `!Ref Days`, nil, "30"},
		{"long ref", `{Ref: Env}`, nil, "dev"},
		{"ref resource", `!Ref Table`, nil, "stack-Table"},
		{"ref region", `!Ref AWS::Region`, nil, "eu-central-1"},
		{"ref account", `!Ref AWS::AccountId`, nil, "123456789012"},
		{"ref stack", `!Ref AWS::StackName`, nil, "stack"},
		{"ref partition", `!Ref AWS::Partition`, nil, "aws"},
		{"ref china partition", `!Ref AWS::Partition`, &Pseudo{Region: "cn-north-1"}, "aws-cn"},
		{"ref url suffix", `!Ref AWS::URLSuffix`, nil, "amazonaws.com"},
		{"getatt", `!GetAtt Queue.Arn`, nil, "arn:aws:sqs:eu-central-1:123456789012:stack-Queue"},
		{"getatt list", `!GetAtt [Queue, QueueName]`, nil, "stack-Queue"},
		{"long getatt", `{"Fn::GetAtt": [Table, Arn]}`, nil, "arn:aws:dynamodb:eu-central-1:123456789012:table/stack-Table"},
		{"long getatt string", `{"Fn::GetAtt": Table.Arn}`, nil, "arn:aws:dynamodb:eu-central-1:123456789012:table/stack-Table"},
		{"sub", `!Sub "${Table.Arn}/index/*"`, nil, "arn:aws:dynamodb:eu-central-1:123456789012:table/stack-Table/index/*"},
		{"sub pseudo", `!Sub "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"`, nil,
			"arn:aws:ses:eu-central-1:123456789012:identity/*"},
		{"sub ref and parameter", `!Sub "${Table}-${Env}-${ Days }"`, nil, "stack-Table-dev-30"},
		{"sub literal", `!Sub "${!Literal}-${Env}-${!AWS::Region}"`, nil, "${Literal}-dev-${AWS::Region}"},
		{"sub without placeholders", `!Sub "a $ {b} $x"`, nil, "a $ {b} $x"},
		{"sub block", "!Sub |\n  table: ${Table}\n  queue: ${Queue.QueueName}\n", nil, "table: stack-Table\nqueue: stack-Queue\n"},
		{"sub with variables", `!Sub ["${A}:${B}:${Env}", {A: x, B: !Ref Table}]`, nil, "x:stack-Table:dev"},
		{"sub variable shadows", `!Sub ["${Table}", {Table: mine}]`, nil, "mine"},
		{"long sub", `{"Fn::Sub": "${Env}"}`, nil, "dev"},
		{"join", `!Join ["-", [a, !Ref Env, 5, !GetAtt Queue.QueueName]]`, nil, "a-dev-5-stack-Queue"},
		{"join empty", `!Join [",", []]`, nil, ""},
		{"nested", `{Resource: [!GetAtt Table.Arn, !Sub "${Table.Arn}/*"], Count: 5}`, nil,
			map[string]any{
				"Resource": []any{"arn:aws:dynamodb:eu-central-1:123456789012:table/stack-Table", "arn:aws:dynamodb:eu-central-1:123456789012:table/stack-Table/*"},
				"Count":    5,
			}},
		{"alias", "a: &x !Ref Env\nb: *x\n", nil, map[string]any{"a": "dev", "b": "dev"}},
		{"mapping with Ref and more keys is data", `{Ref: Env, Other: x}`, nil, map[string]any{"Ref": "Env", "Other": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pseudo
			if tt.pseudo != nil {
				p = *tt.pseudo
			}
			r := &Resolver{Template: tmpl, Names: resolveNames(), Pseudo: p}
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

func TestResolveErrors(t *testing.T) {
	tmpl, err := Parse([]byte(resolveTemplate))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, want string
	}{
		{"unknown ref", `!Ref Nope`, "Ref: unknown name Nope"},
		{"ref without default", `!Ref Secret`, "parameter Secret has no Default"},
		{"ref to resource not yet named", `!Ref Pending`, "resource Pending has no physical name yet"},
		{"unknown pseudo", `!Ref AWS::StackId`, "unsupported pseudo parameter AWS::StackId"},
		{"unset pseudo", `!Ref AWS::StackName`, "pseudo parameter AWS::StackName is not set"},
		{"unknown getatt resource", `!GetAtt Nope.Arn`, "unknown resource Nope"},
		{"unknown attribute", `!GetAtt Table.StreamArn`, "Table has no attribute StreamArn"},
		{"getatt of parameter", `!GetAtt Env.Arn`, "Env is a parameter, which has no attributes"},
		{"sub unknown name", `!Sub "x-${Nope}"`, "${Nope}: unknown name Nope"},
		{"sub unknown attribute", `!Sub "${Queue.Url}"`, "${Queue.Url}: Queue has no attribute Url"},
		{"sub unknown pseudo", `!Sub "${AWS::StackId}"`, "${AWS::StackId}: unsupported pseudo parameter"},
		{"sub unterminated", `!Sub "x-${Env"`, "unterminated ${"},
		{"sub empty name", `!Sub "${}"`, "empty variable name"},
		{"sub bad variable", `!Sub ["${A}", {A: !Ref Nope}]`, "variable A: line 1: Ref: unknown name Nope"},
		{"sub variable list", `!Sub ["${A}", {A: [x]}]`, "variable A: got a list, want a string"},
		{"unsupported intrinsic", `!Select [0, [a]]`, "Fn::Select: unsupported intrinsic function"},
		{"unknown long form", `{"Fn::Nope": x}`, "Fn::Nope: unsupported intrinsic function"},
		{"unknown tag", `!Nope x`, "unknown tag !Nope"},
		{"getatt without dot", `!GetAtt Table`, "not LogicalId.Attribute"},
		{"join of non-list", `!Join [",", !Ref Env]`, "second argument is string, want a list"},
		{"join of mapping item", `!Join [",", [{a: b}]]`, "item 0: got a mapping, want a string"},
		{"recursive alias", "&x [*x]", "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{Template: tmpl, Names: resolveNames(), Pseudo: Pseudo{Region: "eu-central-1", AccountID: "123456789012"}}
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

func TestResolveString(t *testing.T) {
	tmpl, err := Parse([]byte(resolveTemplate))
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Template: tmpl, Names: resolveNames()}
	tests := []struct {
		src, want, wantErr string
	}{
		{src: `!Ref Env`, want: "dev"},
		{src: `5`, want: "5"},
		{src: `1.5`, want: "1.5"},
		{src: `true`, want: "true"},
		{src: `[a]`, wantErr: "got a list, want a string"},
		{src: `{a: b}`, wantErr: "got a mapping, want a string"},
		{src: `null`, wantErr: "got null, want a string"},
	}
	for _, tt := range tests {
		got, err := r.ResolveString(node(t, tt.src))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ResolveString(%s) = %q, %v; want error containing %q", tt.src, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveString(%s) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
}
