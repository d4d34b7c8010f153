// Package awsapp builds each function's handler from its environment (the
// variables template.yaml sets) and an AWS configuration. The Lambda mains
// and the local stack both use it, so they run the same code.
package awsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/privacyops/dsr/internal/deadletter"
	"github.com/privacyops/dsr/internal/dispatch"
	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/emf"
	"github.com/privacyops/dsr/internal/intake"
	"github.com/privacyops/dsr/internal/keying"
	"github.com/privacyops/dsr/internal/monitor"
	"github.com/privacyops/dsr/internal/outbox"
	"github.com/privacyops/dsr/internal/pepper"
	"github.com/privacyops/dsr/internal/provenance"
	"github.com/privacyops/dsr/internal/retention"
	"github.com/privacyops/dsr/internal/s3reports"
	"github.com/privacyops/dsr/internal/sesmail"
	"github.com/privacyops/dsr/internal/slogctx"
	"github.com/privacyops/dsr/internal/sqsqueue"
	"github.com/privacyops/dsr/internal/suppression"
	"github.com/privacyops/dsr/internal/worker"
)

// Env looks up a configuration variable; os.Getenv in Lambda.
type Env func(string) string

// LoadConfig loads the AWS configuration from the environment. The SDK honours
// AWS_ENDPOINT_URL, which points every client at an emulator locally.
func LoadConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

type reader struct {
	env     Env
	missing []string
}

func (r *reader) need(name string) string {
	v := strings.TrimSpace(r.env(name))
	if v == "" {
		r.missing = append(r.missing, name)
	}
	return v
}

func (r *reader) err(fn string) error {
	if len(r.missing) > 0 {
		return fmt.Errorf("%s: missing configuration: %s", fn, strings.Join(r.missing, ", "))
	}
	return nil
}

// controller reads the controller of the access reports: every field is
// needed, the authority's address an https URL (dsr.Controller.Check).
func controller(r *reader) (dsr.Controller, error) {
	c := dsr.Controller{
		Name: r.need("CONTROLLER_NAME"), Contact: r.need("CONTROLLER_CONTACT"), DPO: r.need("CONTROLLER_DPO_CONTACT"),
		SupervisoryAuthority: dsr.Authority{Name: r.need("SUPERVISORY_AUTHORITY_NAME"), URL: r.need("SUPERVISORY_AUTHORITY_URL")},
	}
	if len(r.missing) > 0 {
		return c, nil // named by r.err
	}
	return c, c.Check()
}

// defaultLanguage reads DEFAULT_LANGUAGE, the language of a request that
// names none and whose Accept-Language names no language of the answers:
// "de" or "en", German where unset (the demo controller's).
func defaultLanguage(env Env) (dsr.Language, error) {
	v := strings.TrimSpace(env("DEFAULT_LANGUAGE"))
	if v == "" {
		return dsr.LangDE, nil
	}
	l, ok := dsr.ParseLanguage(v)
	if !ok {
		return "", fmt.Errorf("DEFAULT_LANGUAGE: want \"de\" or \"en\", got %q", v)
	}
	return l, nil
}

func registry(env Env) (dsr.Registry, error) {
	return dsr.ParseRegistry([]byte(env("PURPOSE_REGISTRY")))
}

func s3Client(cfg aws.Config, env Env) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Emulators serve buckets by path, not by virtual host.
		o.UsePathStyle = env("AWS_ENDPOINT_URL") != "" || env("AWS_ENDPOINT_URL_S3") != ""
		// Report parts are read whole and decoded; a missing checksum is not worth a log line.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// Intake builds the subject-routes handler.
func Intake(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger) (*intake.Handler, error) {
	r := reader{env: env}
	table, queueURL, secretID, bucket := r.need("REQUESTS_TABLE"), r.need("REQUEST_QUEUE_URL"), r.need("PEPPER_SECRET_ARN"), r.need("REPORTS_BUCKET")
	auditTable, limitsTable, suppressions := r.need("AUDIT_TABLE"), r.need("LIMITS_TABLE"), r.need("SUPPRESSION_TABLE")
	sender := r.need("SENDER_ADDRESS")
	if err := r.err("intake"); err != nil {
		return nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	deadline, err := DeadlinePolicy(env)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	limits, err := limitsPolicy(env)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	lang, err := defaultLanguage(env)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	receivers, err := receiverPolicy(env)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	s3c, ddb := s3Client(cfg, env), dynamodb.NewFromConfig(cfg)
	hasher, err := checkedHasher(ctx, cfg, secretID, &dynamo.Suppressions{Client: ddb, Table: suppressions}, env)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	return &intake.Handler{ClientAddressHeader: strings.TrimSpace(env("CLIENT_ADDRESS_HEADER")), Service: &intake.Service{
		Store:    &dynamo.Requests{Client: ddb, Table: table, AuditTable: auditTable},
		Queue:    &sqsqueue.Queue{Client: sqs.NewFromConfig(cfg), URL: queueURL},
		Mailer:   mailer(cfg, env, sender),
		Audit:    &dynamo.Audit{Client: ddb, Table: auditTable, RequestsTable: table},
		Links:    &s3reports.Store{Client: s3c, Presign: s3.NewPresignClient(s3c), Bucket: bucket},
		Limiter:  &dynamo.Limits{Client: ddb, Table: limitsTable},
		Limits:   limits,
		Metrics:  os.Stdout,
		Hasher:   hasher,
		Registry: reg,
		Deadline: deadline,
		Language: lang,
		Log:      log,

		Receivers: receivers,
	}}, nil
}

// limitsPolicy is dsr.DefaultLimits, with the client's bucket from
// CLIENT_LIMIT_BURST and CLIENT_LIMIT_INTERVAL where they are set. The
// per-person limits are fixed: they carry the guessing bound the README
// states.
func limitsPolicy(env Env) (dsr.Limits, error) {
	l := dsr.DefaultLimits
	burst, err := positive(env, "CLIENT_LIMIT_BURST", l.Client.Burst)
	if err != nil {
		return l, err
	}
	l.Client.Burst = burst
	if v := strings.TrimSpace(env("CLIENT_LIMIT_INTERVAL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return l, fmt.Errorf("CLIENT_LIMIT_INTERVAL: want a duration above 0 such as 15s, got %q", v)
		}
		l.Client.Every = d
	}
	return l, nil
}

// Dispatch builds the request-queue handler.
func Dispatch(_ context.Context, cfg aws.Config, env Env, log *slog.Logger) (*dispatch.Handler, error) {
	r := reader{env: env}
	table, queueURL, suppressions := r.need("REQUESTS_TABLE"), r.need("TASK_QUEUE_URL"), r.need("SUPPRESSION_TABLE")
	auditTable, requestQueueURL, keyingTable := r.need("AUDIT_TABLE"), r.need("REQUEST_QUEUE_URL"), r.need("KEYING_TABLE")
	if err := r.err("dispatch"); err != nil {
		return nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	ddb, sqsc := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	return &dispatch.Handler{
		Store:        &dynamo.Requests{Client: ddb, Table: table, AuditTable: auditTable},
		Queue:        &sqsqueue.Queue{Client: sqsc, URL: queueURL},
		Suppressions: &dynamo.Suppressions{Client: ddb, Table: suppressions},
		Keyed:        &dynamo.Keying{Client: ddb, Table: keyingTable},
		Requeue:      &sqsqueue.Queue{Client: sqsc, URL: requestQueueURL},
		Registry:     reg,
		Log:          log,
	}, nil
}

// Worker builds the task-queue handler.
func Worker(_ context.Context, cfg aws.Config, env Env, log *slog.Logger) (*worker.Handler, error) {
	r := reader{env: env}
	table, queueURL, bucket := r.need("REQUESTS_TABLE"), r.need("TASK_QUEUE_URL"), r.need("REPORTS_BUCKET")
	auditTable, provTable, noticeURL := r.need("AUDIT_TABLE"), r.need("PROVENANCE_TABLE"), r.need("RECIPIENT_NOTICE_QUEUE_URL")
	ctrl, err := controller(&r)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	sender := r.need("SENDER_ADDRESS")
	if err := r.err("worker"); err != nil {
		return nil, err
	}
	lang, err := defaultLanguage(env)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	reserve := 10 * time.Second
	if v := env("WORKER_DEADLINE_RESERVE"); v != "" {
		if reserve, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("worker: WORKER_DEADLINE_RESERVE: %w", err)
		}
	}
	exports, err := transmitter(cfg, env, reg)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	ddb, sqsc := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	h := &worker.Handler{
		Requests:   &dynamo.Requests{Client: ddb, Table: table, AuditTable: auditTable},
		Contacts:   &dynamo.Contacts{Client: ddb, DueTable: provTable},
		Objects:    &s3reports.Store{Client: s3Client(cfg, env), Bucket: bucket},
		Provenance: &dynamo.Provenance{Client: ddb, Table: provTable},
		Tasks:      &sqsqueue.Queue{Client: sqsc, URL: queueURL},
		Notices:    &sqsqueue.Queue{Client: sqsc, URL: noticeURL},
		Mailer:     mailer(cfg, env, sender),
		StatusPage: env("STATUS_PAGE_URL"),
		Registry:   reg,
		Controller: ctrl,
		Language:   lang,
		Log:        log,
		Reserve:    reserve,
	}
	if exports != nil {
		h.Transmitter = exports
	}
	return h, nil
}

// positive reads the whole number variable name, def when unset.
func positive(env Env, name string, def int) (int, error) {
	v := strings.TrimSpace(env(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: want a whole number above 0, got %q", name, v)
	}
	return n, nil
}

// Provenance builds the provenance-queue handler.
func Provenance(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger) (*provenance.Handler, error) {
	r := reader{env: env}
	table, secretID, dlqURL := r.need("PROVENANCE_TABLE"), r.need("PEPPER_SECRET_ARN"), r.need("PROVENANCE_DLQ_URL")
	suppressions := r.need("SUPPRESSION_TABLE")
	if err := r.err("provenance"); err != nil {
		return nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	years, err := positive(env, "PROVENANCE_RETENTION_YEARS", dsr.DefaultProvenanceYears)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	receives, err := positive(env, "PROVENANCE_MAX_RECEIVES", 5)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	adequacy, err := adequacyList(env)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	hasher, err := checkedHasher(ctx, cfg, secretID, &dynamo.Suppressions{Client: ddb, Table: suppressions}, env)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return &provenance.Handler{
		Store:       &dynamo.Provenance{Client: ddb, Table: table},
		DeadLetters: &sqsqueue.Queue{Client: sqs.NewFromConfig(cfg), URL: dlqURL},
		Hasher:      hasher, Registry: reg, Years: years, Adequacy: adequacy, MaxReceives: receives, Log: log,
	}, nil
}

// adequacyList is ADEQUACY_COUNTRIES (template parameter AdequacyCountries):
// the Commission's current decisions (dsr.DefaultAdequacy) when empty,
// no country at all when "none".
func adequacyList(env Env) (dsr.Adequacy, error) {
	v := strings.TrimSpace(env("ADEQUACY_COUNTRIES"))
	switch v {
	case "":
		v = dsr.DefaultAdequacy
	case "none":
		v = ""
	}
	a, err := dsr.ParseAdequacy(v)
	if err != nil {
		return nil, fmt.Errorf("ADEQUACY_COUNTRIES: %w", err)
	}
	return a, nil
}

// keyer builds the Keyer the stream consumer and the backfill share, with
// the pepper checked against the suppression table's canary.
func keyer(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger, fn string) (*keying.Keyer, dsr.Registry, *dynamodb.Client, error) {
	r := reader{env: env}
	secretID, suppressions, keyingTable := r.need("PEPPER_SECRET_ARN"), r.need("SUPPRESSION_TABLE"), r.need("KEYING_TABLE")
	if err := r.err(fn); err != nil {
		return nil, nil, nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", fn, err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	hasher, err := checkedHasher(ctx, cfg, secretID, &dynamo.Suppressions{Client: ddb, Table: suppressions}, env)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", fn, err)
	}
	return &keying.Keyer{
		Contacts: &dynamo.Contacts{Client: ddb}, Ledger: &dynamo.Keying{Client: ddb, Table: keyingTable},
		Hasher: hasher, Metrics: os.Stdout, Log: log,
	}, reg, ddb, nil
}

// Keying builds the purpose tables' stream consumer.
func Keying(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger) (*keying.Handler, error) {
	k, reg, _, err := keyer(ctx, cfg, env, log, "keying")
	if err != nil {
		return nil, err
	}
	return &keying.Handler{Keyer: k, Read: dynamo.StreamKeyState, Registry: reg, Log: log}, nil
}

// Backfill builds the subject-key backfill.
func Backfill(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger) (*keying.Backfill, error) {
	r := reader{env: env}
	queueURL, keyingTable := r.need("BACKFILL_QUEUE_URL"), r.need("KEYING_TABLE")
	if err := r.err("backfill"); err != nil {
		return nil, err
	}
	k, reg, ddb, err := keyer(ctx, cfg, env, log, "backfill")
	if err != nil {
		return nil, err
	}
	return &keying.Backfill{
		Keyer: k, Passes: &dynamo.Keying{Client: ddb, Table: keyingTable},
		Continue: &sqsqueue.Queue{Client: sqs.NewFromConfig(cfg), URL: queueURL},
		Registry: reg, Reserve: 20 * time.Second, Metrics: os.Stdout, Log: log,
	}, nil
}

// Retention builds the retention job's handler.
func Retention(_ context.Context, cfg aws.Config, env Env, log *slog.Logger) (*retention.Handler, error) {
	r := reader{env: env}
	provTable, requestsTable, auditTable := r.need("PROVENANCE_TABLE"), r.need("REQUESTS_TABLE"), r.need("AUDIT_TABLE")
	bucket, queueURL, noticeURL := r.need("REPORTS_BUCKET"), r.need("RETENTION_QUEUE_URL"), r.need("RECIPIENT_NOTICE_QUEUE_URL")
	if err := r.err("retention"); err != nil {
		return nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	days, err := positive(env, "REPORT_RETENTION_DAYS", 30)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	years, err := positive(env, "ACCOUNTABILITY_RETENTION_YEARS", 3)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	provYears, err := positive(env, "PROVENANCE_RETENTION_YEARS", dsr.DefaultProvenanceYears)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	reserve := 20 * time.Second
	if v := env("RETENTION_DEADLINE_RESERVE"); v != "" {
		if reserve, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("retention: RETENTION_DEADLINE_RESERVE: %w", err)
		}
	}
	ddb, sqsc := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	return &retention.Handler{Log: log, Job: &retention.Job{
		Entries:      &dynamo.Provenance{Client: ddb, Table: provTable},
		Requests:     &dynamo.Requests{Client: ddb, Table: requestsTable, AuditTable: auditTable},
		Objects:      &s3reports.Store{Client: s3Client(cfg, env), Bucket: bucket},
		Continue:     &sqsqueue.Queue{Client: sqsc, URL: queueURL},
		Restrictions: &dynamo.Contacts{Client: ddb, DueTable: provTable},
		Registry:     reg,
		Notices:      &sqsqueue.Queue{Client: sqsc, URL: noticeURL},
		ReportDays:   days, AccountabilityYears: years, ProvenanceYears: provYears, Reserve: reserve, Log: log,
	}}, nil
}

// Suppression builds the suppression-check handler.
func Suppression(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger) (*suppression.Handler, error) {
	r := reader{env: env}
	table, secretID := r.need("SUPPRESSION_TABLE"), r.need("PEPPER_SECRET_ARN")
	if err := r.err("suppression"); err != nil {
		return nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("suppression: %w", err)
	}
	list := &dynamo.Suppressions{Client: dynamodb.NewFromConfig(cfg), Table: table}
	hasher, err := checkedHasher(ctx, cfg, secretID, list, env)
	if err != nil {
		return nil, fmt.Errorf("suppression: %w", err)
	}
	return &suppression.Handler{
		List:     list,
		Hasher:   hasher,
		Registry: reg,
		Log:      log,
	}, nil
}

// LoadHasher reads the pepper from Secrets Manager.
func LoadHasher(ctx context.Context, cfg aws.Config, secretID string) (*dsr.Hasher, error) {
	p, err := pepper.Load(ctx, secretsmanager.NewFromConfig(cfg), secretID)
	if err != nil {
		return nil, err
	}
	return dsr.NewHasher(p)
}

// checkedHasher reads the pepper and checks it against the suppression
// table's canary (pepper.Check). A pepper the table was not written with
// is refused, with the metric PepperMismatch (alarm on it): the function
// does not start.
func checkedHasher(ctx context.Context, cfg aws.Config, secretID string, canary pepper.Canary, env Env) (*dsr.Hasher, error) {
	h, err := LoadHasher(ctx, cfg, secretID)
	if err != nil {
		return nil, err
	}
	if err := pepper.Check(ctx, canary, h); err != nil {
		if errors.Is(err, pepper.ErrMismatch) {
			_ = emf.Write(os.Stdout, time.Now(), map[string]string{"Function": env("AWS_LAMBDA_FUNCTION_NAME")}, map[string]int{"PepperMismatch": 1})
		}
		return nil, err
	}
	return h, nil
}

// Dpo builds the DPO-routes handler.
func Dpo(ctx context.Context, cfg aws.Config, env Env, log *slog.Logger) (*dpo.Handler, error) {
	r := reader{env: env}
	table, queueURL, sender := r.need("REQUESTS_TABLE"), r.need("REQUEST_QUEUE_URL"), r.need("SENDER_ADDRESS")
	auditTable, taskQueueURL, suppressions := r.need("AUDIT_TABLE"), r.need("TASK_QUEUE_URL"), r.need("SUPPRESSION_TABLE")
	secretID, provTable := r.need("PEPPER_SECRET_ARN"), r.need("PROVENANCE_TABLE")
	if err := r.err("dpo"); err != nil {
		return nil, err
	}
	reg, err := registry(env)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	deadline, err := DeadlinePolicy(env)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	lang, err := defaultLanguage(env)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	ddb, sqsc := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	list := &dynamo.Suppressions{Client: ddb, Table: suppressions}
	hasher, err := checkedHasher(ctx, cfg, secretID, list, env)
	if err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	requests := &dynamo.Requests{Client: ddb, Table: table, AuditTable: auditTable}
	return &dpo.Handler{Service: &dpo.Service{
		Store:        requests,
		Recorder:     requests,
		Registry:     reg,
		Restrictions: &dynamo.Contacts{Client: ddb, DueTable: provTable},
		Provenance:   &dynamo.Provenance{Client: ddb, Table: provTable},
		Queue:        &sqsqueue.Queue{Client: sqsc, URL: queueURL},
		Mailer:       mailer(cfg, env, sender),
		Trail:        &dynamo.Audit{Client: ddb, Table: auditTable, RequestsTable: table},
		Tasks:        &sqsqueue.Queue{Client: sqsc, URL: taskQueueURL},
		Suppressions: list,
		Cursors:      hasher,
		Keys:         hasher,
		Deadline:     deadline,
		Language:     lang,
		StatusPage:   env("STATUS_PAGE_URL"),
		Log:          log,
	}}, nil
}

// Monitor builds the deadline monitor's handler.
func Monitor(_ context.Context, cfg aws.Config, env Env, log *slog.Logger) (*monitor.Handler, error) {
	r := reader{env: env}
	table, sender, dpoAddr := r.need("REQUESTS_TABLE"), r.need("SENDER_ADDRESS"), r.need("DPO_ADDRESS")
	auditTable, limitsTable, keyingTable := r.need("AUDIT_TABLE"), r.need("LIMITS_TABLE"), r.need("KEYING_TABLE")
	if err := r.err("monitor"); err != nil {
		return nil, err
	}
	deadline, err := DeadlinePolicy(env)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	return &monitor.Handler{
		Zone:       deadline.Location,
		Store:      &dynamo.Requests{Client: ddb, Table: table, AuditTable: auditTable},
		Limits:     &dynamo.Limits{Client: ddb, Table: limitsTable},
		Unkeyable:  &dynamo.Keying{Client: ddb, Table: keyingTable},
		Mailer:     mailer(cfg, env, sender),
		DPOAddress: dpoAddr,
		Metrics:    os.Stdout,
		Log:        log,
	}, nil
}

// mailer sends as sender through SES, or into the outbox folder
// MAIL_OUTBOX_DIR when it is set (the local stack).
func mailer(cfg aws.Config, env Env, sender string) interface {
	Send(context.Context, dsr.Mail) error
} {
	if dir := env("MAIL_OUTBOX_DIR"); dir != "" {
		return &outbox.Outbox{Dir: dir, From: sender, Console: os.Stderr}
	}
	return &sesmail.Mailer{Client: sesv2.NewFromConfig(cfg), From: sender}
}

// DeadLetter builds the dead-letter handler.
func DeadLetter(_ context.Context, cfg aws.Config, env Env, log *slog.Logger) (*deadletter.Handler, error) {
	r := reader{env: env}
	table, auditTable, sender := r.need("REQUESTS_TABLE"), r.need("AUDIT_TABLE"), r.need("SENDER_ADDRESS")
	if err := r.err("deadletter"); err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(cfg)
	return &deadletter.Handler{Store: &dynamo.Requests{Client: ddb, Table: table, AuditTable: auditTable},
		Mailer: mailer(cfg, env, sender), StatusPage: env("STATUS_PAGE_URL"), Log: log}, nil
}

// Main is what every Lambda main does: a JSON logger with the invocation's
// request id (lambdacontext), the AWS configuration, the handler built by
// build from the environment, and start, which hands it to lambda.Start. A
// handler that cannot be built ends the process with the reason logged.
func Main[H any](name string, build func(context.Context, aws.Config, Env, *slog.Logger) (H, error), start func(H)) {
	// Lambda's handler (its request id on every line), with the attributes
	// a unit of work adds to its context (message and request ids).
	log := slog.New(slogctx.New(lambdacontext.NewLogHandler()))
	slog.SetDefault(log)
	ctx := context.Background()
	cfg, err := LoadConfig(ctx)
	if err == nil {
		var h H
		if h, err = build(ctx, cfg, os.Getenv, log); err == nil {
			start(h)
			return
		}
	}
	log.Error("start "+name, "error", err.Error())
	os.Exit(1)
}
