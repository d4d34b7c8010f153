package dsr_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// allowedModules are the only imports of the domain outside the standard
// library: the registry's YAML (the template declares it), and the Go
// project's Unicode and IDNA packages that the one address rule needs
// (NormalizeEmail: UTS 46 lookup, case folding, normalization forms).
// Storage, transport and configuration are the adapters' business.
var allowedModules = []string{
	"go.yaml.in/yaml/v3",
	"golang.org/x/net/idna",
	"golang.org/x/text",
}

// TestImportsOnlyTheLaw: package dsr imports the standard library (an
// import path whose first element has no dot) and allowedModules only:
// no AWS SDK, no JSON decoder of the API, no other package of this module.
func TestImportsOnlyTheLaw(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if !allowedImport(path) {
				t.Errorf("%s imports %s: the domain imports the standard library and %v only", fset.Position(imp.Pos()), path, allowedModules)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file of the package found")
	}
}

func allowedImport(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		return true // the standard library
	}
	return slices.ContainsFunc(allowedModules, func(m string) bool { return path == m || strings.HasPrefix(path, m+"/") })
}

func TestAllowedImport(t *testing.T) {
	for path, want := range map[string]bool{
		"time": true, "encoding/json": true, "unicode/utf8": true,
		"go.yaml.in/yaml/v3": true, "golang.org/x/net/idna": true, "golang.org/x/text/unicode/norm": true,
		"golang.org/x/net/http2": false, "golang.org/x/textual": false, "go.yaml.in/yaml/v4": false,
		"github.com/aws/aws-sdk-go-v2/service/dynamodb": false, "github.com/go-json-experiment/json": false,
		"github.com/privacyops/dsr/internal/httpapi": false,
	} {
		if got := allowedImport(path); got != want {
			t.Errorf("allowedImport(%q) = %v, want %v", path, got, want)
		}
	}
}
