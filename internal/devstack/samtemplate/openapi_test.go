package samtemplate_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// The files the contract test compares, relative to this package.
const (
	templatePath = "../../../template.yaml"
	openAPIPath  = "../../../docs/openapi.yaml"
)

// operationMethods are the keys of an OpenAPI path item that name operations.
var operationMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// templateRoutes returns "METHOD /path" for every HttpApi event of every
// function of the template, sorted.
func templateRoutes(t *testing.T) []string {
	t.Helper()
	tpl, err := samtemplate.Load(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	names := samtemplate.Names{}
	for id := range tpl.Resources {
		names[id] = samtemplate.Physical{Ref: id, Attrs: map[string]string{"Arn": "arn:" + id, "QueueName": id}}
	}
	fns, err := tpl.Functions(names, samtemplate.Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: "dsr-test"})
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	defaults := 0
	for _, fn := range fns {
		for _, ev := range fn.Events {
			if ev.Type != samtemplate.EventHttpAPI {
				continue
			}
			switch {
			case ev.Path == "" && ev.Method == "":
				// The $default route only answers undocumented routes with a
				// 404 problem; it is not an operation of its own.
				defaults++
				continue
			case ev.Path == "":
				t.Errorf("%s.%s: a route needs a Path", fn.LogicalID, ev.Name)
				continue
			case ev.Method == "ANY":
				t.Errorf("%s.%s: method ANY cannot be documented operation by operation; name the method", fn.LogicalID, ev.Name)
				continue
			}
			routes = append(routes, ev.Method+" "+ev.Path)
		}
	}
	if defaults > 1 {
		t.Errorf("%d $default routes; an API has one", defaults)
	}
	sort.Strings(routes)
	return routes
}

// documentedRoutes returns "METHOD /path" for every operation of the OpenAPI
// document, sorted.
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("%s: openapi is %q, want 3.1.x", openAPIPath, doc.OpenAPI)
	}
	var routes []string
	for path, item := range doc.Paths {
		for key := range item {
			if operationMethods[key] {
				routes = append(routes, strings.ToUpper(key)+" "+path)
			}
		}
	}
	sort.Strings(routes)
	return routes
}

// missing returns the entries of want that are not in have.
func missing(want, have []string) []string {
	in := map[string]bool{}
	for _, h := range have {
		in[h] = true
	}
	var out []string
	for _, w := range want {
		if !in[w] {
			out = append(out, w)
		}
	}
	return out
}

// TestOpenAPIMatchesTemplate checks that docs/openapi.yaml documents exactly
// the HTTP API routes template.yaml declares: no route undocumented, no
// operation documented that the API does not serve.
func TestOpenAPIMatchesTemplate(t *testing.T) {
	inTemplate, inDocument := templateRoutes(t), documentedRoutes(t)
	if len(inTemplate) == 0 {
		t.Fatal("template.yaml declares no HttpApi routes; the test would prove nothing")
	}
	tests := []struct {
		name       string
		want, have []string
	}{
		{name: "every template route is documented", want: inTemplate, have: inDocument},
		{name: "every documented operation is a template route", want: inDocument, have: inTemplate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff([]string(nil), missing(tt.want, tt.have)); diff != "" {
				t.Errorf("not so (+ marks a route missing from the other side):\n%s\ntemplate.yaml: %q\ndocs/openapi.yaml: %q", diff, inTemplate, inDocument)
			}
		})
	}
}
