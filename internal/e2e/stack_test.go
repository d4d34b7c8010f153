//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"

	"github.com/privacyops/dsr/internal/devstack"
)

// repoRoot is the repository's top folder.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// awsConfig is the emulator's configuration; the tests fail (never skip)
// when no emulator is named.
func awsConfig(t testing.TB, apiOptions ...func(*middleware.Stack) error) aws.Config {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set: the integration tests need the emulator that `make test` starts")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIOptions = append(cfg.APIOptions, apiOptions...)
	return cfg
}

// callCounter counts AWS calls by service and operation, with an SDK
// middleware on every client of the stack.
type callCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *callCounter) middleware(stack *middleware.Stack) error {
	// In the deserialize step, next to the transport: a presigned URL (no
	// call) is not counted, and a retried call counts each attempt.
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("CountCalls",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				// The local stack names the invoked function in its ARN.
				key = lc.InvokedFunctionArn[strings.LastIndexByte(lc.InvokedFunctionArn, ':')+1:] + " " + key
			}
			c.mu.Lock()
			if c.counts == nil {
				c.counts = map[string]int{}
			}
			c.counts[key]++
			c.mu.Unlock()
			return next.HandleDeserialize(ctx, in)
		}), middleware.After)
}

func (c *callCounter) reset() {
	c.mu.Lock()
	c.counts = map[string]int{}
	c.mu.Unlock()
}

// snapshot returns the counts, leaving out what Lambda's event source
// mapping does (receive and delete), which no function of ours calls.
func (c *callCounter) snapshot() (byOp map[string]int, byService map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byOp, byService = map[string]int{}, map[string]int{}
	for k, n := range c.counts {
		if strings.HasSuffix(k, ".ReceiveMessage") || strings.HasSuffix(k, ".DeleteMessageBatch") {
			continue
		}
		byOp[k] = n
		service := k[strings.LastIndexByte(k, ' ')+1:]
		byService[service[:strings.IndexByte(service, '.')]] += n
	}
	return byOp, byService
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// startStack starts a fresh local stack with its own resources (a random
// prefix), seeded, serving on a free port.
func startStack(t *testing.T, cfg aws.Config, env map[string]string) (*devstack.Stack, string) {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	outbox := t.TempDir()
	s, err := devstack.Start(context.Background(), devstack.Options{
		TemplatePath: filepath.Join(repoRoot(t), "template.yaml"),
		Prefix:       "e2e-" + hex.EncodeToString(b),
		Addr:         "127.0.0.1:0",
		OutboxDir:    outbox,
		Seed:         true,
		AWS:          cfg,
		Env:          env,
	})
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close stack: %v", err)
		}
	})
	return s, outbox
}
