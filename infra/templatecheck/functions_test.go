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

// functionDir is where a function's code lives: functions/<its logical id
// without "Function", lower case>/ (the Makefile's fn_dir).
func functionDir(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

// TestOneListOfFunctions: the template's functions are the list; the
// Makefile's FUNCTIONS (which sam build's build-<id> targets and make build
// come from) and functions/ must name the same ones.
func TestOneListOfFunctions(t *testing.T) {
	c := deployed(t)
	want := c.ofType("AWS::Lambda::Function")
	if len(want) == 0 {
		t.Fatal("no functions in the template")
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FUNCTIONS := ((?:.*\\\n)*.*)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile has no FUNCTIONS := line")
	}
	listed := strings.Fields(strings.ReplaceAll(string(m[1]), "\\", " "))
	slices.Sort(listed)
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("Makefile FUNCTIONS (-template +Makefile):\n%s", diff)
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs, wantDirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, id := range want {
		wantDirs = append(wantDirs, functionDir(id))
	}
	slices.Sort(wantDirs)
	if diff := cmp.Diff(wantDirs, dirs); diff != "" {
		t.Errorf("functions/ (-template +folders):\n%s", diff)
	}
}
