package samtemplate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	src := `
Parameters:
  Name: {Type: String, Default: hello}
  Days: {Type: Number, Default: 30}
  Required: {Type: String}
Globals:
  Function:
    Timeout: 5
Resources:
  B: {Type: "AWS::S3::Bucket"}
  A:
    Type: AWS::S3::Bucket
    Properties: {X: !Ref Name}
  Q: {Type: "AWS::SQS::Queue"}
Outputs:
  Out: {Value: !Ref A}
`
	tmpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"Name": "hello", "Days": "30"}, tmpl.Parameters); diff != "" {
		t.Errorf("Parameters (-want +got):\n%s", diff)
	}
	if got := tmpl.Resources["B"]; got.Type != "AWS::S3::Bucket" || got.Properties != nil {
		t.Errorf("Resources[B] = %+v, want a bucket without properties", got)
	}
	if got := tmpl.Resources["A"].Properties; got == nil || len(got.Content) != 2 {
		t.Errorf("Resources[A].Properties = %v, want the mapping {X: !Ref Name}", got)
	}
	if tmpl.Outputs["Out"] == nil || tmpl.Outputs["Out"].Tag != "!Ref" {
		t.Errorf("Outputs[Out] = %v, want !Ref A", tmpl.Outputs["Out"])
	}
	if tmpl.globalFunction == nil {
		t.Error("Globals.Function not kept")
	}
}

func TestResourcesOfType(t *testing.T) {
	tmpl, err := Parse([]byte(`
Resources:
  C: {Type: "AWS::S3::Bucket"}
  A: {Type: "AWS::S3::Bucket"}
  B: {Type: "AWS::SQS::Queue"}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ  string
		want []string
	}{
		{"AWS::S3::Bucket", []string{"A", "C"}},
		{"AWS::SQS::Queue", []string{"B"}},
		{"AWS::SNS::Topic", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tmpl.ResourcesOfType(tt.typ)); diff != "" {
			t.Errorf("ResourcesOfType(%s) (-want +got):\n%s", tt.typ, diff)
		}
	}
}

// parseErrorCase is a template Parse must refuse, with part of the error.
type parseErrorCase struct{ name, src, want string }

// runParseErrors checks that Parse refuses each case with its error.
func runParseErrors(t *testing.T, tests []parseErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	runParseErrors(t, []parseErrorCase{
		{"empty", ``, "empty document"},
		{"invalid yaml", `Resources: [`, "parse template"},
		{"not a mapping", "- a\n- b\n", "top level is a sequence, want a mapping"},
		{"scalar document", "hello", "top level is a scalar, want a mapping"},
		{"no resources", "Parameters: {}\n", "no Resources section"},
		{"resources not a mapping", "Resources: [a]\n", "Resources is a sequence, want a mapping"},
		{"resource not a mapping", "Resources: {A: x}\n", "resource A is a scalar, want a mapping"},
		{"resource without type", "Resources: {A: {Properties: {}}}\n", "resource A has no Type"},
		{"type not a scalar", "Resources: {A: {Type: [x]}}\n", "resource A: Type is a sequence"},
		{"tagged type", "Resources: {A: {Type: !Ref X}}\n", "resource A: Type is tagged !Ref"},
		{"properties not a mapping", "Resources: {A: {Type: T, Properties: [x]}}\n", "Properties is a sequence, want a mapping"},
		{"duplicate resource", "Resources:\n  A: {Type: T}\n  A: {Type: T}\n", `duplicate key "A"`},
		{"reserved logical id", "Resources: {'AWS::Region': {Type: T}}\n", "logical id is reserved"},
		{"parameter and resource", "Parameters: {A: {Default: x}}\nResources: {A: {Type: T}}\n", "A is both a parameter and a resource"},
		{"parameter default not scalar", "Parameters: {P: {Default: [x]}}\nResources: {}\n", "parameter P: Default is a sequence"},
		{"unknown tag", "Resources: {A: {Type: T, Properties: {X: !Foo y}}}\n", "line 1: unknown tag !Foo"},
		{"ref of a mapping", "Resources: {A: {Type: T, Properties: {X: !Ref {a: b}}}}\n", "Ref: argument is a mapping, want a name"},
		{"empty ref", "Resources: {A: {Type: T, Properties: {X: !Ref ''}}}\n", "Ref: argument is a scalar, want a name"},
		{"getatt without dot", "Resources: {A: {Type: T, Properties: {X: !GetAtt Q}}}\n", `Fn::GetAtt: argument "Q" is not LogicalId.Attribute`},
		{"getatt trailing dot", "Resources: {A: {Type: T, Properties: {X: !GetAtt Q.}}}\n", "is not LogicalId.Attribute"},
		{"getatt list of one", "Resources: {A: {Type: T, Properties: {X: !GetAtt [Q]}}}\n", "argument must be [LogicalId, Attribute]"},
		{"long getatt without dot", "Resources: {A: {Type: T, Properties: {X: {'Fn::GetAtt': Q}}}}\n", "is not LogicalId.Attribute"},
		{"sub of a mapping", "Resources: {A: {Type: T, Properties: {X: !Sub {a: b}}}}\n", "Fn::Sub: argument is a mapping, want a string"},
		{"sub list of three", "Resources: {A: {Type: T, Properties: {X: !Sub [a, {}, c]}}}\n", "argument must be a string or [string, {variables}]"},
		{"join of a scalar", "Resources: {A: {Type: T, Properties: {X: !Join x}}}\n", "argument must be [delimiter, [values]]"},
		{"join of scalar list", "Resources: {A: {Type: T, Properties: {X: !Join [',', x]}}}\n", "argument must be [delimiter, [values]]"},
		{"output without value", "Resources: {}\nOutputs: {O: {Description: x}}\n", "output O has no Value"},
		{"globals function not a mapping", "Globals: {Function: [x]}\nResources: {}\n", "Globals.Function is a sequence"},
		{"tagged key", "Resources: {!Ref A: {Type: T}}\n", "key is tagged !Ref, want a plain scalar"},
	})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "load template") {
		t.Errorf("Load error = %v, want a load template error", err)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"Resources: {A: {Type: T}}",
		"Resources: {A: {Type: T, Properties: {X: !Sub '${A.Arn}-${!B}-${AWS::Region}'}}}",
		"Parameters: {P: {Default: 1}}\nResources: {A: {Type: T, Properties: {X: !Join ['-', [!Ref P, !GetAtt A.Arn]]}}}",
		"Globals: {Function: {Timeout: 5, Environment: {Variables: {A: !Ref P}}}}\nParameters: {P: {Default: x}}\n" +
			"Resources: {F: {Type: 'AWS::Serverless::Function', Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}}}}, Q: {Type: 'AWS::SQS::Queue'}}",
		"a: &x [*x]\nResources: {A: {Type: T, Properties: {X: *x}}}",
		"Globals: {Function: &g {Environment: *g}}\nResources: {F: {Type: 'AWS::Serverless::Function', Properties: &p {Environment: *p}}}",
		"- a",
		"{Ref: X}",
		"Parameters: {P: {Default: x}}\nConditions: {C: !Equals [!Ref P, x], D: !Not [{Condition: C}], E: !Or [!Condition C, !Condition D]}\n" +
			"Resources: {A: {Type: T, Condition: D, Properties: {X: !If [E, !Ref P, !Ref AWS::NoValue], Y: [!If [C, a, {Ref: AWS::NoValue}]]}}}",
		"Conditions: {C: !And [{Condition: C}, !Equals [a, a]]}\nResources: {}",
	}
	if data, err := readTemplate(); err == nil {
		seeds = append(seeds, string(data))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	names := Names{"A": {Ref: "a", Attrs: map[string]string{"Arn": "arn:a"}}, "Q": {Ref: "q", Attrs: map[string]string{"Arn": "arn:q"}}}
	pseudo := Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: "s"}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Parse(data)
		if err != nil {
			return
		}
		// Resolution must not panic either; its errors do not matter here.
		r := &Resolver{Template: tmpl, Names: names, Pseudo: pseudo}
		for _, res := range tmpl.Resources {
			if res.Properties != nil {
				_, _ = r.Resolve(res.Properties)
			}
		}
		for _, o := range tmpl.Outputs {
			_, _ = r.ResolveString(o)
		}
		for name := range tmpl.Conditions {
			_, _ = r.ConditionTrue(name)
		}
		for id := range tmpl.Resources {
			_, _ = r.ResourceEnabled(id)
		}
		_, _ = tmpl.Functions(names, pseudo)
	})
}
