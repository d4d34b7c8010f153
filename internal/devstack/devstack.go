// Package devstack runs the pipeline on a laptop, as AWS would run it: it
// creates on an AWS emulator the resources template.yaml declares, seeds the
// demo data into the tables that hold nothing, serves the template's HTTP
// API routes, delivers SQS batches to the functions the template subscribes
// with several pollers per queue (with partial batch failures, visibility
// timeouts, redelivery and dead-letter queues left to the emulator, as SQS
// does them), reads DynamoDB streams shard by shard, and fires schedules.
// It calls the same handler code the Lambda binaries run (package awsapp).
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack/provision"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/slogctx"
)

// Options configure a local stack.
type Options struct {
	TemplatePath string     // template.yaml
	Prefix       string     // physical-name prefix of the resources
	Addr         string     // HTTP API address, e.g. 127.0.0.1:3000
	OutboxDir    string     // where e-mail goes (.local/outbox)
	Seed         bool       // seed the demo data (into the tables that hold nothing: Stack.SeedSkipped)
	AWS          aws.Config // clients of the stack and of its handlers
	// TransactionsIsolated says the emulator, or a proxy in front of it,
	// isolates DynamoDB transactions, so the stack need not (isolation.go):
	// a fault proxy that delays calls isolates only their forwarding, which
	// the stack cannot tell apart from the delay.
	TransactionsIsolated bool
	Log                  *slog.Logger
	Console              io.Writer // where the outbox echoes messages
	// Env adds or overrides function environment variables (after the template's).
	Env map[string]string
	// WebDir is the folder of the pages (the repository's web/), served
	// before the API's routes as the deployed distribution serves them:
	// /privacy/, /console/, /shared/, /embed/, and GET /config.json. Empty:
	// the API only.
	WebDir string
	// SeedRequests adds the DPO's demo requests to the seed (with Seed): one
	// overdue, one due within 7 days, so that the console has something to
	// show (make run). Tests that count requests leave it off.
	SeedRequests bool
}

// Stack is a running local stack.
type Stack struct {
	Names     samtemplate.Names
	Functions []samtemplate.Function
	Registry  dsr.Registry
	Seeded    map[string]int
	// SeededProvenance is how many provenance entries were seeded per subject.
	SeededProvenance map[string]int
	// SeededRequests are the ids of the DPO's demo requests
	// (Options.SeedRequests).
	SeededRequests []string
	// SeedSkipped are the tables the seed left as they were because they
	// already held items (seeded by an earlier start on the same emulator):
	// what was erased from them stays erased. Their seeds are not counted in
	// Seeded, SeededProvenance and SeededRequests.
	SeedSkipped []string
	// Backfilled is the subject-key backfill's answer at start: per purpose,
	// what it scanned and keyed.
	Backfilled json.RawMessage
	URL        string
	// DpoToken is a JWT for the DPO routes, minted at start (see MintToken)
	// with the subject local-dpo in the group dpo, valid DpoTokenTTL; empty
	// if the template declares no JWT authorizer.
	DpoToken string

	opts     Options
	pseudo   samtemplate.Pseudo
	template *samtemplate.Template
	handlers map[string]any // logical id → handler
	server   *http.Server
	listener net.Listener
	webRoot  *os.Root       // Options.WebDir, open while serving
	wg       sync.WaitGroup // the HTTP server
	errs     chan error

	// The event sources' loops (StartConsumers, StopConsumers): the SQS
	// pollers, the stream readers and the schedules.
	consumersMu   sync.Mutex
	stopConsumers context.CancelFunc // nil while they are stopped
	consumers     sync.WaitGroup
	checkpoints   shardCheckpoints

	authorizers *authorizers // the HTTP API's authorizers and the stack's signing key

	streamsMu  sync.Mutex
	streamIdle []*atomic.Int64 // per stream shard: when its last empty read started
}

// builders map a function's logical id to the awsapp constructor of its handler.
var builders = map[string]func(context.Context, aws.Config, awsapp.Env, *slog.Logger) (any, error){
	"IntakeFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Intake(ctx, c, e, l)
	},
	"DispatchFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Dispatch(ctx, c, e, l)
	},
	"WorkerFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Worker(ctx, c, e, l)
	},
	"SuppressionFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Suppression(ctx, c, e, l)
	},
	"DpoFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Dpo(ctx, c, e, l)
	},
	"MonitorFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Monitor(ctx, c, e, l)
	},
	"DeadLetterFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.DeadLetter(ctx, c, e, l)
	},
	"ProvenanceFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Provenance(ctx, c, e, l)
	},
	"RetentionFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Retention(ctx, c, e, l)
	},
	"KeyingFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Keying(ctx, c, e, l)
	},
	"BackfillFunction": func(ctx context.Context, c aws.Config, e awsapp.Env, l *slog.Logger) (any, error) {
		return awsapp.Backfill(ctx, c, e, l)
	},
}

type httpHandler interface {
	Handle(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

type sqsHandler interface {
	Handle(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
}

// rawHandler takes any event as JSON and answers JSON, as Lambda invokes a
// function that several event sources share (the retention job: schedule
// and continuation queue).
type rawHandler interface {
	Invoke(context.Context, json.RawMessage) (json.RawMessage, error)
}

// rawSQS delivers SQS batches to a rawHandler.
type rawSQS struct{ h rawHandler }

func (r rawSQS) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	in, err := json.Marshal(ev)
	if err != nil {
		return resp, err
	}
	out, err := r.h.Invoke(ctx, in)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("devstack: the function's answer to an SQS batch: %w", err)
	}
	return resp, nil
}

// Start provisions the template's resources, seeds the demo data if asked,
// builds every function's handler and starts serving. Close stops it.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if !o.TransactionsIsolated {
		o.AWS = isolated(o.AWS)
	}
	s, err := provisionStack(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := s.setupAuthorizers(); err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.listener.Close()
		return nil, err
	}
	if err := s.serveHTTP(); err != nil {
		return nil, err
	}
	if err := s.StartConsumers(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepare builds the handlers, seeds the demo data (if asked) and keys the
// tables' records before the first request is dispatched: dispatch holds
// requests back until a purpose's backfill is complete.
func (s *Stack) prepare(ctx context.Context) error {
	if err := s.buildHandlers(ctx); err != nil {
		return err
	}
	if s.opts.Seed {
		if err := s.seed(ctx); err != nil {
			return err
		}
	}
	var err error
	if s.Backfilled, err = s.Invoke(ctx, BackfillFunction, []byte(`{"purpose":"*"}`)); err != nil {
		return fmt.Errorf("devstack: backfill: %w", err)
	}
	return nil
}

// StartConsumers starts the loops that play Lambda's event sources (the SQS
// pollers, the stream readers, the schedules), unless they run already;
// Start starts them. Each stream shard goes on after the last record done
// before StopConsumers, as Lambda's event source mapping keeps its position
// when the function's instances die.
func (s *Stack) StartConsumers() error {
	s.consumersMu.Lock()
	defer s.consumersMu.Unlock()
	if s.stopConsumers != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopConsumers = cancel
	s.streamsMu.Lock()
	s.streamIdle = nil // WaitStreams waits for the readers started now
	s.streamsMu.Unlock()
	return s.startEventSources(ctx)
}

// StopConsumers stops the event sources' loops as a crash of every consumer
// would, and returns once they have ended: the invocations under way see
// their context end midway, the messages they received and did not delete
// reappear after their queue's visibility timeout, and the stream shards
// keep their positions. The HTTP API goes on serving. A test stops them
// while requests are in flight and starts them again (StartConsumers), to
// check that nothing is lost or done twice.
func (s *Stack) StopConsumers() {
	s.consumersMu.Lock()
	defer s.consumersMu.Unlock()
	if s.stopConsumers == nil {
		return
	}
	s.stopConsumers()
	s.stopConsumers = nil
	s.consumers.Wait()
}

// provisionStack loads the template, creates its resources on the emulator
// and reads its functions, which resolve against the names the resources
// got: the Stack before any handler exists.
func provisionStack(ctx context.Context, o Options) (*Stack, error) {
	tpl, err := samtemplate.Load(o.TemplatePath)
	if err != nil {
		return nil, err
	}
	names, err := provision.Provision(ctx, o.AWS, tpl, provision.Options{Prefix: o.Prefix})
	if err != nil {
		return nil, err
	}
	pseudo := samtemplate.Pseudo{Region: o.AWS.Region, AccountID: provision.AccountID, StackName: o.Prefix}
	fns, err := tpl.Functions(names, pseudo)
	if err != nil {
		return nil, err
	}
	return &Stack{
		Names: names, Functions: fns, opts: o, pseudo: pseudo, template: tpl,
		handlers: map[string]any{}, errs: make(chan error, 16),
	}, nil
}

// buildHandlers builds the handler of every function of the template with
// the environment Lambda would give it, and reads the purpose registry from
// the first function that has one (the seed needs it). A function without a
// builder is an error, so that a new function is not silently left out.
func (s *Stack) buildHandlers(ctx context.Context) error {
	for _, fn := range s.Functions {
		build, ok := builders[fn.LogicalID]
		if !ok {
			return fmt.Errorf("devstack: function %s of the template has no handler here (add it to builders)", fn.LogicalID)
		}
		env := s.environment(fn)
		h, err := build(ctx, s.opts.AWS, func(k string) string { return env[k] }, slog.New(slogctx.New(s.opts.Log.Handler())).With("function", fn.LogicalID))
		if err != nil {
			return fmt.Errorf("devstack: build %s: %w", fn.LogicalID, err)
		}
		s.handlers[fn.LogicalID] = h
		if s.Registry == nil && env["PURPOSE_REGISTRY"] != "" {
			if s.Registry, err = dsr.ParseRegistry([]byte(env["PURPOSE_REGISTRY"])); err != nil {
				return err
			}
		}
	}
	return nil
}

// startEventSources starts, until ctx ends, the loops that play Lambda's
// event sources for the functions' enabled events: several pollers per SQS
// event (pollerCount), a stream reader per shard of a DynamoDB event and a
// ticker per schedule. A schedule that does not run locally is an error; the
// loops started before it are then left for the caller's Close to stop.
func (s *Stack) startEventSources(ctx context.Context) error {
	for _, fn := range s.Functions {
		for _, ev := range fn.Events {
			if !ev.Enabled {
				continue
			}
			switch ev.Type {
			case samtemplate.EventSQS:
				s.goPoll(ctx, fn, ev)
			case samtemplate.EventDynamoDB:
				s.goStream(ctx, fn, ev)
			case samtemplate.EventSchedule, samtemplate.EventScheduleV2:
				every, err := ParseRate(ev.ScheduleExpression)
				if err != nil {
					return fmt.Errorf("devstack: %s.%s: %w", fn.LogicalID, ev.Name, err)
				}
				s.goSchedule(ctx, fn, ev, every)
			}
		}
	}
	return nil
}

// BackfillFunction is the template's subject-key backfill, which the stack
// runs at start.
const BackfillFunction = "BackfillFunction"

// seed writes the demo records and provenance, keyed with the stack's
// pepper, and the demo requests if asked, each only into tables that hold
// nothing: a table that holds items was seeded before (make run again on an
// emulator that still runs), and seeding it again would bring back what was
// erased since. The tables left as they were are in SeedSkipped, and logged.
func (s *Stack) seed(ctx context.Context) error {
	hasher, err := s.hasher(ctx, "ProvenanceFunction")
	if err != nil {
		return fmt.Errorf("devstack: seed: %w", err)
	}
	seeded, skipped, err := seed.Load(ctx, dynamodb.NewFromConfig(s.opts.AWS), s.Registry, hasher)
	if err != nil {
		return err
	}
	s.Seeded = seeded
	s.skipSeed("records", skipped)
	if err := s.seedProvenance(ctx, hasher); err != nil {
		return err
	}
	if !s.opts.SeedRequests {
		return nil
	}
	return s.seedRequests(ctx, hasher)
}

// seedRequests stores the DPO's demo requests in the intake function's
// tables, due as its deadline policy counts.
func (s *Stack) seedRequests(ctx context.Context, hasher *dsr.Hasher) error {
	fn, ok := s.function("IntakeFunction")
	if !ok {
		return nil
	}
	env := s.environment(fn)
	deadline, err := awsapp.DeadlinePolicy(func(name string) string { return env[name] })
	if err != nil {
		return fmt.Errorf("devstack: seed requests: %w", err)
	}
	ddb := dynamodb.NewFromConfig(s.opts.AWS)
	if empty, err := s.emptyTables(ctx, "demo requests", env["REQUESTS_TABLE"], env["AUDIT_TABLE"]); err != nil || !empty {
		return err
	}
	store := &dynamo.Requests{Client: ddb, Table: env["REQUESTS_TABLE"], AuditTable: env["AUDIT_TABLE"]}
	s.SeededRequests, err = seed.Requests(ctx, store, hasher, s.Registry, deadline, time.Now())
	return err
}

// emptyTables reports whether every one of tables holds nothing, which the
// seed of what needs to write them; those that hold items are noted
// (skipSeed).
func (s *Stack) emptyTables(ctx context.Context, what string, tables ...string) (bool, error) {
	ddb := dynamodb.NewFromConfig(s.opts.AWS)
	var full []string
	for _, t := range tables {
		empty, err := seed.Empty(ctx, ddb, t)
		if err != nil {
			return false, fmt.Errorf("devstack: seed %s: %w", what, err)
		}
		if !empty {
			full = append(full, t)
		}
	}
	s.skipSeed(what, full)
	return len(full) == 0, nil
}

// skipSeed notes and logs the tables that the seed of what left as they
// were, because they already held items.
func (s *Stack) skipSeed(what string, tables []string) {
	if len(tables) == 0 {
		return
	}
	s.SeedSkipped = append(s.SeedSkipped, tables...)
	s.opts.Log.Info("seed: tables already hold items (seeded before); left as they are, so that nothing erased comes back",
		"seed", what, "tables", tables)
}

// hasher loads the pepper as function logicalID does.
func (s *Stack) hasher(ctx context.Context, logicalID string) (*dsr.Hasher, error) {
	fn, ok := s.function(logicalID)
	if !ok {
		return nil, fmt.Errorf("%w: %s", errNoSuchFunction, logicalID)
	}
	return awsapp.LoadHasher(ctx, s.opts.AWS, s.environment(fn)["PEPPER_SECRET_ARN"])
}

// function returns the template's function logicalID.
func (s *Stack) function(logicalID string) (samtemplate.Function, bool) {
	i := slices.IndexFunc(s.Functions, func(f samtemplate.Function) bool { return f.LogicalID == logicalID })
	if i < 0 {
		return samtemplate.Function{}, false
	}
	return s.Functions[i], true
}

// errNoSuchFunction marks a call of Fire or Invoke that names no function of
// the kind it runs (the local routes answer 404).
var errNoSuchFunction = errors.New("no such function")

// Invoke invokes function logicalID, one that takes any event as JSON (the
// backfill, the retention job), with payload, and returns its answer.
func (s *Stack) Invoke(ctx context.Context, logicalID string, payload []byte) (json.RawMessage, error) {
	h, isRaw := s.handlers[logicalID].(rawHandler)
	fn, ok := s.function(logicalID)
	if !ok || !isRaw {
		return nil, fmt.Errorf("devstack: %w: %s is not a function that takes any event", errNoSuchFunction, logicalID)
	}
	ictx, cancel := functionContext(ctx, fn, newRequestID())
	defer cancel()
	return h.Invoke(ictx, payload)
}

// seedProvenance stores the demo provenance events (docs/api.md), keyed with the
// stack's pepper as the provenance function would key them.
func (s *Stack) seedProvenance(ctx context.Context, hasher *dsr.Hasher) error {
	fn, ok := s.function("ProvenanceFunction")
	if !ok {
		return nil
	}
	env := s.environment(fn)
	years, err := strconv.Atoi(env["PROVENANCE_RETENTION_YEARS"])
	if err != nil {
		return fmt.Errorf("devstack: seed provenance: PROVENANCE_RETENTION_YEARS: %w", err)
	}
	if empty, err := s.emptyTables(ctx, "provenance", env["PROVENANCE_TABLE"]); err != nil || !empty {
		return err
	}
	store := &dynamo.Provenance{Client: dynamodb.NewFromConfig(s.opts.AWS), Table: env["PROVENANCE_TABLE"]}
	s.SeededProvenance, err = seed.Provenance(ctx, store, hasher, s.Registry, years, time.Now())
	return err
}

// environment is what the function's variables would be in Lambda, plus the
// local overrides: e-mail goes to the outbox, and the SDK to the emulator.
func (s *Stack) environment(fn samtemplate.Function) map[string]string {
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":   s.opts.Prefix + "-" + fn.LogicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY": fmt.Sprint(fn.MemorySize),
		"AWS_REGION":                 s.opts.AWS.Region,
	}
	for k, v := range fn.Environment {
		env[k] = v
	}
	if s.opts.OutboxDir != "" {
		env["MAIL_OUTBOX_DIR"] = s.opts.OutboxDir
	}
	if s.URL != "" {
		env["STATUS_PAGE_URL"] = s.URL + "/privacy/" // the notices' link: this stack's privacy center
	}
	if s.opts.AWS.BaseEndpoint != nil {
		env["AWS_ENDPOINT_URL"] = *s.opts.AWS.BaseEndpoint
	}
	// A portability export may go to a receiver on this machine (the
	// tests' httptest servers): never set by the template.
	env["RECEIVER_LOOPBACK_HTTP"] = "true"
	for k, v := range s.opts.Env {
		env[k] = v
	}
	return env
}

// Errors reports failures of the stack's background loops.
func (s *Stack) Errors() <-chan error { return s.errs }

// Close stops serving and polling and waits for in-flight invocations.
func (s *Stack) Close() error {
	s.StopConsumers()
	var err error
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = s.server.Shutdown(ctx)
	}
	s.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if s.webRoot != nil {
		err = errors.Join(err, s.webRoot.Close())
	}
	return err
}

// QueueURL returns the URL of a queue by logical id.
func (s *Stack) QueueURL(logicalID string) string { return s.Names[logicalID].Ref }

func (s *Stack) report(err error) {
	select {
	case s.errs <- err:
	default:
	}
}

// functionContext is the context of one invocation: the function's timeout
// as deadline, and a Lambda context with a request id for the logs.
func functionContext(parent context.Context, fn samtemplate.Function, requestID string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, fn.Timeout)
	return lambdaContext(ctx, fn, requestID), cancel
}

// goPoll starts pollerCount goroutines that run the poller of one SQS
// event: each receives and handles its own batches, so that a batch that is
// slow, or fails and waits out its visibility timeout, holds up only the
// goroutine that has it.
func (s *Stack) goPoll(ctx context.Context, fn samtemplate.Function, ev samtemplate.Event) {
	h, ok := s.handlers[fn.LogicalID].(sqsHandler)
	if raw, isRaw := s.handlers[fn.LogicalID].(rawHandler); isRaw {
		h, ok = rawSQS{raw}, true
	}
	if !ok {
		s.report(fmt.Errorf("devstack: %s has an SQS event but no SQS handler", fn.LogicalID))
		return
	}
	q := s.Names[ev.QueueLogicalID]
	p := &poller{
		client: sqs.NewFromConfig(s.opts.AWS), queueURL: q.Ref, queueARN: q.Attrs["Arn"], region: s.opts.AWS.Region,
		fn: fn, ev: ev, handler: h, log: s.opts.Log.With("function", fn.LogicalID, "queue", ev.QueueLogicalID),
	}
	p.start(ctx, pollerCount(fn, ev), &s.consumers)
}

func (s *Stack) goSchedule(ctx context.Context, fn samtemplate.Function, ev samtemplate.Event, every time.Duration) {
	s.consumers.Add(1)
	go func() {
		defer s.consumers.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if _, err := s.Fire(ctx, fn.LogicalID, now); err != nil {
					s.opts.Log.Error("scheduled invocation failed", "function", fn.LogicalID, "error", err.Error())
				}
			}
		}
	}()
}

// Fire invokes a scheduled function now, with the EventBridge event its
// schedule would deliver, and returns its answer (null for a function that
// answers nothing).
func (s *Stack) Fire(ctx context.Context, logicalID string, now time.Time) (json.RawMessage, error) {
	fn, _ := s.function(logicalID)
	hasSchedule := false
	for _, ev := range fn.Events {
		hasSchedule = hasSchedule || ev.Type == samtemplate.EventSchedule || ev.Type == samtemplate.EventScheduleV2
	}
	if !hasSchedule {
		return nil, fmt.Errorf("devstack: %w: %s is not a scheduled function of the template", errNoSuchFunction, logicalID)
	}
	id := newRequestID()
	ictx, cancel := functionContext(ctx, fn, id)
	defer cancel()
	ev := events.EventBridgeEvent{
		Version: "0", ID: id, DetailType: "Scheduled Event", Source: "aws.events",
		AccountID: provision.AccountID, Time: now.UTC(), Region: s.opts.AWS.Region,
		Resources: []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-%s", s.opts.AWS.Region, provision.AccountID, s.opts.Prefix, logicalID)},
		Detail:    []byte("{}"),
	}
	switch h := s.handlers[logicalID].(type) {
	case interface {
		Handle(context.Context, events.EventBridgeEvent) error
	}:
		return json.RawMessage("null"), h.Handle(ictx, ev)
	case rawHandler:
		in, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		return h.Invoke(ictx, in)
	}
	return nil, fmt.Errorf("devstack: %s has no scheduled-event handler", logicalID)
}

// ParseRate parses a schedule's rate(N unit) expression. Cron expressions
// are refused loudly rather than never fired.
func ParseRate(expr string) (time.Duration, error) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(expr), "rate(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return 0, fmt.Errorf("schedule %q: only rate(N unit) expressions run locally", expr)
	}
	var n int
	var unit string
	if _, err := fmt.Sscanf(strings.TrimSuffix(inner, ")"), "%d %s", &n, &unit); err != nil || n <= 0 {
		return 0, fmt.Errorf("schedule %q: want rate(N unit) with N > 0", expr)
	}
	units := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}
	u, ok := units[unit]
	if !ok || (n == 1) != !strings.HasSuffix(unit, "s") {
		return 0, fmt.Errorf("schedule %q: unit must be minute(s), hour(s) or day(s), singular only for 1", expr)
	}
	return time.Duration(n) * u, nil
}
