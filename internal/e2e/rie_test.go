//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamodbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/keying"
	"github.com/privacyops/dsr/internal/retention"
)

// sampleRequestID is the request the sample SQS events under events/ name.
const sampleRequestID = "01JD3ZQ5V8K9N6M2T4W7X1Y0AB"

// rieWait bounds every wait of the RIE test: a build aside, nothing waits longer.
const rieWait = 30 * time.Second

// rieFunction is one function of the template, built as its Lambda bootstrap.
// rieEvents is the sample event (under events/) each function of the
// template is invoked with; the list of functions is the template's.
var rieEvents = map[string]string{
	"IntakeFunction": "intake-submit.json", "DispatchFunction": "dispatch-sqs.json",
	"DeadLetterFunction": "deadletter-sqs.json", "WorkerFunction": "worker-sqs.json",
	"SuppressionFunction": "suppression-check.json", "DpoFunction": "dpo-list.json",
	"MonitorFunction": "monitor-schedule.json", "ProvenanceFunction": "provenance-sqs.json",
	"RetentionFunction": "retention-schedule.json", "KeyingFunction": "keying-stream.json",
	"BackfillFunction": "backfill-invoke.json",
}

// rieFunctions returns every function of template.yaml with its folder
// (functions/<logical id without Function, lower case>) and sample event.
func rieFunctions(t *testing.T, root string) []*rieFunction {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ids := tpl.ResourcesOfType(samtemplate.FunctionType)
	if len(ids) != len(rieEvents) {
		t.Fatalf("the template has %d functions, rieEvents %d: give each its sample event", len(ids), len(rieEvents))
	}
	fns := make([]*rieFunction, 0, len(ids))
	for _, id := range ids {
		event, ok := rieEvents[id]
		if !ok {
			t.Fatalf("%s has no sample event in rieEvents", id)
		}
		fns = append(fns, &rieFunction{name: strings.ToLower(strings.TrimSuffix(id, "Function")), logicalID: id, event: event})
	}
	return fns
}

type rieFunction struct {
	name      string // folder under functions/
	logicalID string // template.yaml
	event     string // sample event under events/
	bootstrap string
	size      int64

	// measured
	elapsed    time.Duration // process start to first response (init + one invocation)
	invoked    bool
	statusCode int
}

// TestRIE runs the packaged artifacts: every function is built as the
// Makefile builds it (stripped, lambda.norpc; for the host architecture, as
// arm64 cannot run here) and its bootstrap is invoked under the Lambda
// Runtime Interface Emulator with its sample event from events/, against the
// resources of a local stack on the emulator. It logs each binary's size and
// its init time under RIE (never asserted); the worker's work is checked in
// DynamoDB and S3.
//
// The subtests run in order: dispatch and deadletter see the sample request
// before it exists (dispatch reports it as a failure; deadletter has nothing
// to fail), then the worker subtest creates it in progress and processes its
// marketing task.
func TestRIE(t *testing.T) {
	cfg := awsConfig(t)
	root := repoRoot(t)
	tmp := t.TempDir()

	rie := filepath.Join(tmp, "aws-lambda-rie")
	goBuild(t, root, nil, "-o", rie, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie")

	fns := rieFunctions(t, root)
	fn := func(id string) *rieFunction {
		i := slices.IndexFunc(fns, func(f *rieFunction) bool { return f.logicalID == id })
		if i < 0 {
			t.Fatalf("no function %s in the template", id)
		}
		return fns[i]
	}
	for _, f := range fns {
		f.bootstrap = filepath.Join(tmp, f.name, "bootstrap")
		// The Makefile's flags (GOFLAGS_LAMBDA), for the host.
		goBuild(t, root, []string{"CGO_ENABLED=0", "GOOS=" + runtime.GOOS, "GOARCH=" + runtime.GOARCH},
			"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=", "-o", f.bootstrap, "./functions/"+f.name)
		st, err := os.Stat(f.bootstrap)
		if err != nil {
			t.Fatal(err)
		}
		f.size = st.Size()
		t.Logf("built %s/bootstrap (%s/%s, stripped): %d bytes", f.name, runtime.GOOS, runtime.GOARCH, f.size)
	}

	stack, _ := startStack(t, cfg, nil)
	functions := map[string]samtemplate.Function{}
	for _, fn := range stack.Functions {
		functions[fn.LogicalID] = fn
	}
	envOf := func(t *testing.T, f *rieFunction) map[string]string {
		fn, ok := functions[f.logicalID]
		if !ok {
			t.Fatalf("the template has no %s", f.logicalID)
		}
		return lambdaEnv(t, cfg, fn)
	}
	readEvent := func(t *testing.T, f *rieFunction) []byte {
		raw, err := os.ReadFile(filepath.Join(eventsDir(), f.event))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}

	t.Run("intake", func(t *testing.T) {
		f := fn("IntakeFunction")
		env := envOf(t, f)
		outbox := t.TempDir()
		env["MAIL_OUTBOX_DIR"] = outbox // no SES here
		res := invokeUnderRIE(t, rie, f.bootstrap, env, readEvent(t, f))
		f.record(res)
		var resp events.APIGatewayV2HTTPResponse
		if err := decodeStrict(res.body, &resp); err != nil {
			t.Fatalf("intake answered no API Gateway response: %v: %s", err, res.body)
		}
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("intake: statusCode %d, want 202: %s", resp.StatusCode, resp.Body)
		}
		var sub submitted
		if err := json.Unmarshal([]byte(resp.Body), &sub); err != nil || sub.ID == "" || sub.Status != "awaiting_verification" || sub.StatusToken == "" {
			t.Errorf("intake: submit answer %s (%v)", resp.Body, err)
		}
		if mails, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(mails) != 1 {
			t.Errorf("intake: want one verification e-mail in the outbox, got %v", mails)
		}
	})

	// sqsResponse decodes an SQS function's answer and checks that every
	// failure names a message of the event.
	sqsResponse := func(t *testing.T, f *rieFunction, event, body []byte) events.SQSEventResponse {
		t.Helper()
		var resp events.SQSEventResponse
		if err := decodeStrict(body, &resp); err != nil {
			t.Fatalf("%s answered no SQS batch response: %v: %s", f.name, err, body)
		}
		var ev events.SQSEvent
		if err := json.Unmarshal(event, &ev); err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range ev.Records {
			ids[r.MessageId] = true
		}
		for _, fail := range resp.BatchItemFailures {
			if !ids[fail.ItemIdentifier] {
				t.Errorf("%s: batch item failure %q names no message of the event", f.name, fail.ItemIdentifier)
			}
		}
		return resp
	}

	t.Run("suppression", func(t *testing.T) {
		f := fn("SuppressionFunction")
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), readEvent(t, f))
		f.record(res)
		var resp events.APIGatewayV2HTTPResponse
		if err := decodeStrict(res.body, &resp); err != nil {
			t.Fatalf("suppression answered no API Gateway response: %v: %s", err, res.body)
		}
		// Nobody is suppressed on a fresh stack.
		if resp.StatusCode != http.StatusOK || resp.Body != `{"suppressed":false}` {
			t.Errorf("suppression: %d %s, want 200 {\"suppressed\":false}", resp.StatusCode, resp.Body)
		}
	})

	t.Run("dpo", func(t *testing.T) {
		f := fn("DpoFunction")
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), readEvent(t, f))
		f.record(res)
		var resp events.APIGatewayV2HTTPResponse
		if err := decodeStrict(res.body, &resp); err != nil {
			t.Fatalf("dpo answered no API Gateway response: %v: %s", err, res.body)
		}
		// A fresh stack has no overdue request.
		if resp.StatusCode != http.StatusOK || resp.Body != `{"items":[]}` {
			t.Errorf("dpo: %d %s, want 200 {\"items\":[]}", resp.StatusCode, resp.Body)
		}
	})

	t.Run("monitor", func(t *testing.T) {
		f := fn("MonitorFunction")
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), readEvent(t, f))
		f.record(res)
		// A scheduled handler answers null, or an error object.
		if strings.TrimSpace(string(res.body)) != "null" {
			t.Errorf("monitor: %s, want null", res.body)
		}
	})

	t.Run("provenance", func(t *testing.T) {
		f := fn("ProvenanceFunction")
		event := readEvent(t, f)
		env := envOf(t, f)
		res := invokeUnderRIE(t, rie, f.bootstrap, env, event)
		f.record(res)
		if resp := sqsResponse(t, f, event, res.body); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("provenance: batch item failures %+v", resp.BatchItemFailures)
		}
		// Both events are stored for ada, with the seeded ones.
		store, hasher := provenanceOf(t, cfg, stack)
		entries, err := store.Subject(context.Background(), hasher.Subject(seed.Ada), "marketing", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, e := range entries {
			found[e.Source+e.Recipient] = true
		}
		if !found["trade fair 2026"] || !found["Example Print GmbH"] {
			t.Errorf("provenance: ada's marketing entries %+v lack the sample's", entries)
		}
	})

	t.Run("retention", func(t *testing.T) {
		f := fn("RetentionFunction")
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), readEvent(t, f))
		f.record(res)
		var sum retention.Summary
		if err := decodeStrict(res.body, &sum); err != nil || sum.Days == 0 {
			t.Errorf("retention answered %s (%v), want its run's summary", res.body, err)
		}
	})

	t.Run("dispatch", func(t *testing.T) {
		f := fn("DispatchFunction")
		event := readEvent(t, f)
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), event)
		f.record(res)
		resp := sqsResponse(t, f, event, res.body)
		// The sample request does not exist (yet): dispatch reports its message.
		t.Logf("dispatch of an unknown request: %d batch item failure(s), as expected", len(resp.BatchItemFailures))
	})

	t.Run("deadletter", func(t *testing.T) {
		f := fn("DeadLetterFunction")
		event := readEvent(t, f)
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), event)
		f.record(res)
		// A dead task of a request not in flight is logged and acknowledged.
		if resp := sqsResponse(t, f, event, res.body); len(resp.BatchItemFailures) != 0 {
			t.Errorf("deadletter: %+v, want no failures for a request not in flight", resp.BatchItemFailures)
		}
	})

	t.Run("worker", func(t *testing.T) {
		f := fn("WorkerFunction")
		ctx, cancel := context.WithTimeout(context.Background(), rieWait)
		defer cancel()
		store := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
		hasher, err := awsapp.LoadHasher(ctx, cfg, stack.Names["PepperSecret"].Ref)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		err = store.Create(ctx, &dsr.Request{
			ID: sampleRequestID, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification,
			Email: seed.Ada, SubjectKey: hasher.Subject(seed.Ada), TokenHash: "x", ReceivedAt: now, UpdatedAt: now,
		}, dsrtest.Step(dsr.AuditReceived))
		if err == nil {
			err = store.Transition(ctx, sampleRequestID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued))
		}
		if err == nil {
			err = store.Transition(ctx, sampleRequestID, dsr.StatusQueued, dsr.StatusInProgress, now,
				dsr.Changes{PlannedPurposes: stack.Registry.Names()}, dsrtest.StepTo(dsr.StatusInProgress))
		}
		if err != nil {
			t.Fatalf("create the sample request in progress: %v", err)
		}

		event := readEvent(t, f)
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), event)
		f.record(res)
		if resp := sqsResponse(t, f, event, res.body); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("worker: batch item failures %+v", resp.BatchItemFailures)
		}

		// The part is in S3 and holds exactly ada's marketing records.
		p, ok := stack.Registry.Lookup("marketing")
		if !ok {
			t.Fatal("the registry has no marketing purpose")
		}
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		})
		key := "reports/" + sampleRequestID + "/parts/marketing/000000.json"
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(stack.Names["ReportsBucket"].Ref), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("worker wrote no part %s: %v", key, err)
		}
		raw, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var part dsr.Chunk
		if err := json.Unmarshal(raw, &part); err != nil {
			t.Fatalf("part %s: %v: %s", key, err, raw)
		}
		if part.RequestID != sampleRequestID || part.Purpose != "marketing" || part.Index != 0 {
			t.Errorf("part header: %s %s %d", part.RequestID, part.Purpose, part.Index)
		}
		items, keys := seededItems(t, cfg, stack)
		var want []dsr.Record
		for _, it := range seed.Of(items[p.Name], p, seed.Ada) {
			want = append(want, dsr.Record{Table: p.Table, Item: normalize(t, it)})
		}
		if len(want) == 0 {
			t.Fatal("the seed has no marketing record of ada")
		}
		byKey := cmpopts.SortSlices(func(a, b dsr.Record) bool {
			return fmt.Sprint(a.Item[keys[p.Name]]) < fmt.Sprint(b.Item[keys[p.Name]])
		})
		if diff := cmp.Diff(want, part.Records, byKey); diff != "" {
			t.Errorf("part records (-ada's seeded +part):\n%s", diff)
		}

		// The request records the part, and waits for the others.
		r, err := store.Get(ctx, sampleRequestID)
		if err != nil {
			t.Fatal(err)
		}
		if n, done := r.DoneParts["marketing"]; !done || n != 1 {
			t.Errorf("request doneParts = %v, want marketing: 1", r.DoneParts)
		}
		if r.Status != dsr.StatusInProgress {
			t.Errorf("request status = %s, want in_progress (3 purposes still to do)", r.Status)
		}
	})

	t.Run("keying", func(t *testing.T) {
		f := fn("KeyingFunction")
		ctx, cancel := context.WithTimeout(context.Background(), rieWait)
		defer cancel()
		p, ok := stack.Registry.Lookup("marketing")
		if !ok {
			t.Fatal("the registry has no marketing purpose")
		}
		// The sample names the table of the stack "dsr-local"; here it is this stack's.
		event := []byte(strings.ReplaceAll(string(readEvent(t, f)), "table/dsr-local-MarketingTable/", "table/"+p.Table+"/"))
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(event, &ev); err != nil {
			t.Fatal(err)
		}
		// The record the sample's insert describes, as the CRM wrote it (no key).
		ddb := dynamodb.NewFromConfig(cfg)
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(p.Table), Item: streamImage(t, ev.Records[0].Change.NewImage)}); err != nil {
			t.Fatal(err)
		}
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), event)
		f.record(res)
		var resp events.DynamoDBEventResponse
		if err := decodeStrict(res.body, &resp); err != nil {
			t.Fatalf("keying answered no stream batch response: %v: %s", err, res.body)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("keying: batch item failures %+v", resp.BatchItemFailures)
		}
		// The local stack's own stream poller keys the same record: either
		// way it ends keyed for ada, once.
		waitKeyed(t, stack)
		hasher, err := awsapp.LoadHasher(ctx, cfg, stack.Names["PepperSecret"].Ref)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(p.Table), ConsistentRead: aws.Bool(true),
			Key: map[string]dynamodbtypes.AttributeValue{"contactId": &dynamodbtypes.AttributeValueMemberS{Value: "marketing-00000"}}})
		if err != nil {
			t.Fatal(err)
		}
		if key, _ := out.Item[p.SubjectKeyAttribute].(*dynamodbtypes.AttributeValueMemberS); key == nil || key.Value != hasher.Subject(seed.Ada) {
			t.Errorf("keying: the sample's record is not keyed for ada: %v", out.Item[p.SubjectKeyAttribute])
		}
	})

	t.Run("backfill", func(t *testing.T) {
		f := fn("BackfillFunction")
		res := invokeUnderRIE(t, rie, f.bootstrap, envOf(t, f), readEvent(t, f))
		f.record(res)
		var sums []keying.Summary
		if err := decodeStrict(res.body, &sums); err != nil {
			t.Fatalf("backfill answered no summaries: %v: %s", err, res.body)
		}
		if len(sums) != len(stack.Registry) {
			t.Fatalf("backfill: %d summaries, want one per purpose (%d): %s", len(sums), len(stack.Registry), res.body)
		}
		for _, s := range sums {
			// The stack's start ran the backfill: this pass is complete already.
			if !s.Complete || s.Continued {
				t.Errorf("backfill of %s: %+v, want its complete pass", s.Purpose, s)
			}
		}
	})

	t.Logf("packaged bootstraps under RIE (%s/%s; Lambda runs arm64; init times are not asserted):", runtime.GOOS, runtime.GOARCH)
	t.Logf("  %-12s %12s %28s", "function", "binary bytes", "start→1st response ms (*)")
	for _, f := range fns {
		ms := "-"
		if f.invoked {
			ms = fmt.Sprintf("%.1f", float64(f.elapsed.Microseconds())/1000)
		}
		t.Logf("  %-12s %12d %28s", f.name, f.size, ms)
	}
	t.Logf("  (*) RIE starts the runtime lazily, on the first invoke: this is process start + init + one invocation against the emulator.")
}

// streamImage is a stream record's image as an item (the sample's
// attributes are all strings).
func streamImage(t *testing.T, image map[string]events.DynamoDBAttributeValue) map[string]dynamodbtypes.AttributeValue {
	t.Helper()
	item := make(map[string]dynamodbtypes.AttributeValue, len(image))
	for name, v := range image {
		if v.DataType() != events.DataTypeString {
			t.Fatalf("the sample's attribute %s is not a string", name)
		}
		item[name] = &dynamodbtypes.AttributeValueMemberS{Value: v.String()}
	}
	return item
}

func (f *rieFunction) record(r rieResult) {
	f.invoked, f.elapsed, f.statusCode = true, r.elapsed, r.status
}

// goBuild runs `go build args...` in the repository, bounded.
func goBuild(t *testing.T, root string, env []string, args ...string) {
	t.Helper()
	// A cold build cache takes minutes: this is the one wait above rieWait.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// lambdaEnv is the environment Lambda would give the function: its
// resolved variables from the template, the runtime's variables, and the
// emulator's endpoint and credentials.
func lambdaEnv(t *testing.T, cfg aws.Config, fn samtemplate.Function) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range fn.Environment {
		env[k] = v
	}
	if cfg.BaseEndpoint == nil {
		t.Fatal("no emulator endpoint")
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":                *cfg.BaseEndpoint,
		"AWS_ACCESS_KEY_ID":               "test",
		"AWS_SECRET_ACCESS_KEY":           "test",
		"AWS_REGION":                      "us-east-1",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(fn.Timeout / time.Second)),
		"AWS_LAMBDA_FUNCTION_NAME":        "dsr-" + fn.LogicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"PATH":                            os.Getenv("PATH"),
	} {
		env[k] = v
	}
	return env
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type rieResult struct {
	status  int
	body    []byte
	elapsed time.Duration
}

// invokeUnderRIE starts the RIE with bootstrap and env, posts event as soon
// as the RIE listens, and stops it. elapsed runs from just before the
// process starts to the first response; the RIE inits the runtime on that
// first invoke. A handler or init error (an errorMessage body, or a status
// other than 200) fails the test, with the RIE's output.
func invokeUnderRIE(t *testing.T, rie, bootstrap string, env map[string]string, event []byte) rieResult {
	t.Helper()
	apiPort, rtPort := freePort(t), freePort(t)
	for rtPort == apiPort {
		rtPort = freePort(t)
	}
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", rtPort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = make([]string, 0, len(env))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	sort.Strings(cmd.Env)
	out := &dsrtest.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out

	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start RIE: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := sync.OnceFunc(func() { stopRIE(t, cmd.Process.Pid, exited) })
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("RIE output (%s):\n%s", filepath.Base(filepath.Dir(bootstrap)), out.String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), rieWait)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", apiPort)
	var res rieResult
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			res.body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			res.elapsed, res.status = time.Since(start), resp.StatusCode
			if err != nil {
				t.Fatalf("read the RIE's answer: %v", err)
			}
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("invoke under RIE: %v", err)
		}
		select {
		case <-exited:
			t.Fatalf("the RIE exited before it answered")
		case <-ctx.Done():
			t.Fatalf("the RIE did not listen on 127.0.0.1:%d within %s", apiPort, rieWait)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The RIE's own "Init Duration" is not used: it times an asynchronous
	// start (a few µs), not the runtime's init.
	stop()
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if res.status != http.StatusOK || (json.Unmarshal(res.body, &fnErr) == nil && fnErr.ErrorMessage != "") {
		t.Fatalf("invocation failed: HTTP %d: %s", res.status, res.body)
	}
	return res
}

// stopRIE kills the RIE and the runtime it started: the RIE puts the
// bootstrap in a process group of its own, so it is found as the RIE's child
// and killed by its group first.
func stopRIE(t *testing.T, pid int, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(c); err == nil {
				_ = syscall.Kill(-child, syscall.SIGKILL) // its group: the bootstrap is a group leader
				_ = syscall.Kill(child, syscall.SIGKILL)
			}
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(rieWait):
		t.Errorf("the RIE (pid %d) did not exit within %s of SIGKILL", pid, rieWait)
	}
}
