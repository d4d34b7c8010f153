//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
	if err := stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("CountCalls",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			c.add(callKey(ctx))
			return next.HandleDeserialize(ctx, in)
		}), middleware.After); err != nil {
		return err
	}
	// In the initialize step, outermost: the operation's typed error.
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CountLostRaces",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			var ccf *types.ConditionalCheckFailedException
			var tce *types.TransactionCanceledException
			if errors.As(err, &ccf) || errors.As(err, &tce) {
				c.add(callKey(ctx) + conflictSuffix)
			}
			return out, md, err
		}), middleware.After)
}

func (c *callCounter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[key]++
}

// callKey names a call: "<function> <service>.<operation>".
func callKey(ctx context.Context) string {
	key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		// The local stack names the invoked function in its ARN.
		key = lc.InvokedFunctionArn[strings.LastIndexByte(lc.InvokedFunctionArn, ':')+1:] + " " + key
	}
	return key
}

// conflictSuffix marks, beside each operation's count, how many of its calls
// failed their condition (counted in the operation's count too).
const conflictSuffix = " (condition failed)"

// lostRaces is how many transactions of byOp lost a race with another
// change of the same request (two changes read the same trail head; one is
// canceled, reads again and tries again). A conditional update that fails by
// design (an idle client bucket is tried first) is not a race.
func lostRaces(byOp map[string]int) int {
	n := 0
	for k, v := range byOp {
		if strings.HasSuffix(k, ".TransactWriteItems"+conflictSuffix) {
			n += v
		}
	}
	return n
}

func (c *callCounter) reset() {
	c.mu.Lock()
	c.counts = map[string]int{}
	c.mu.Unlock()
}

// snapshot returns the counts, leaving out what Lambda's event source
// mappings do (receive and delete, read streams), which no function of ours
// untilDone polls sub until it is final, as a person's page does, and
// returns its view and the status polls' calls (one intake GetItem each),
// which a count of what the request itself costs leaves out (without).
func (c *callCounter) untilDone(t *testing.T, cl *client, sub submitted, limit time.Duration) (view, int) {
	t.Helper()
	before, _ := c.snapshot()
	v := pollUntilDone(t, cl, sub, limit)
	after, _ := c.snapshot()
	return v, after[pollCall] - before[pollCall]
}

// pollCall is the call a status poll makes.
const pollCall = "IntakeFunction DynamoDB.GetItem"

// without is the count so far, by operation and by service, less polls
// status polls.
func (c *callCounter) without(polls int) (byOp, byService map[string]int) {
	byOp, byService = c.snapshot()
	byOp[pollCall] -= polls
	byService["DynamoDB"] -= polls
	return byOp, byService
}

// logCalls prints the calls counted, by function and operation.
func logCalls(t *testing.T, what string, byOp, byService map[string]int) {
	t.Helper()
	t.Logf("AWS calls of %s:", what)
	for _, k := range sortedKeys(byOp) {
		t.Logf("  %-44s %d", k, byOp[k])
	}
	t.Logf("  total by service: %v", byService)
}

// checkNoScan fails if any function scanned a table.
func checkNoScan(t *testing.T, byOp map[string]int) {
	t.Helper()
	for k, n := range byOp {
		if strings.HasSuffix(k, "DynamoDB.Scan") && n > 0 {
			t.Errorf("%s: %d", k, n)
		}
	}
}

// calls.
func (c *callCounter) snapshot() (byOp map[string]int, byService map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byOp, byService = map[string]int{}, map[string]int{}
	for k, n := range c.counts {
		if strings.HasSuffix(k, ".ReceiveMessage") || strings.HasSuffix(k, ".DeleteMessageBatch") || strings.HasPrefix(k, "DynamoDB Streams.") {
			continue // the event source mappings' own calls
		}
		byOp[k] = n
		if strings.HasSuffix(k, conflictSuffix) {
			continue
		}
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
	return startStackWith(t, cfg, env, nil)
}

// startStackWith is startStack with the options changed by change (if not
// nil) before the stack starts.
func startStackWith(t *testing.T, cfg aws.Config, env map[string]string, change func(*devstack.Options)) (*devstack.Stack, string) {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	outbox := t.TempDir()
	o := devstack.Options{
		TemplatePath: filepath.Join(repoRoot(t), "template.yaml"),
		Prefix:       "e2e-" + hex.EncodeToString(b),
		Addr:         "127.0.0.1:0",
		OutboxDir:    outbox,
		Seed:         true,
		AWS:          cfg,
		Env:          env,
	}
	if change != nil {
		change(&o)
	}
	s, err := devstack.Start(context.Background(), o)
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
