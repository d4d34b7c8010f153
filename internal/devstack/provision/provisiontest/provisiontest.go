// Package provisiontest gives integration tests the emulator and the
// template's resources on it.
package provisiontest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/privacyops/dsr/internal/devstack/provision"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// Config is the emulator's configuration (AWS_ENDPOINT_URL, which `make
// test` sets); the test fails, never skips, when no emulator is named.
func Config(t testing.TB) aws.Config {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set: the integration tests need the emulator that `make test` starts")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Provisioned creates the resources of the repository's template.yaml on the
// emulator, under prefix and a random suffix, and returns their names.
func Provisioned(t testing.TB, prefix string) (aws.Config, samtemplate.Names) {
	t.Helper()
	cfg := Config(t)
	tpl, err := samtemplate.Load(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	names, err := provision.Provision(context.Background(), cfg, tpl, provision.Options{Prefix: prefix + "-" + hex.EncodeToString(b)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, names
}

// repoRoot is the folder of go.mod, above the test's working directory.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
