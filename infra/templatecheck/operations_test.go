package templatecheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEveryFunctionLogsToItsGroupForLogRetentionDays(t *testing.T) {
	c := deployed(t)
	roles := c.functionRoles(t)
	for _, fn := range c.ofType("AWS::Lambda::Function") {
		group := ref(path(c.Resources[fn].Properties, "LoggingConfig", "LogGroup"))
		if c.Resources[group].Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s: LoggingConfig.LogGroup %q is not a log group of the template", fn, group)
			continue
		}
		if got := ref(c.Resources[group].Properties["RetentionInDays"]); got != "LogRetentionDays" {
			t.Errorf("%s: RetentionInDays is %v, want !Ref LogRetentionDays", group, c.Resources[group].Properties["RetentionInDays"])
		}
		if !roleGrants(c, roles[fn], "logs:PutLogEvents", group, "Arn") {
			t.Errorf("%s: its role may not write to %s", fn, group)
		}
	}
}

// accessLogFields are the $context variables the API's access log may carry:
// none holds a path, a query string, a header, a body or the caller's address,
// so none can carry an address, a code, a status token or a signed link.
var accessLogFields = []string{
	"$context.requestId", "$context.requestTimeEpoch", "$context.routeKey", "$context.status",
	"$context.protocol", "$context.responseLength", "$context.responseLatency",
	"$context.integrationLatency", "$context.integrationStatus", "$context.integrationErrorMessage",
	"$context.authorizer.error",
}

func TestAccessLogCarriesNoPersonalData(t *testing.T) {
	c := deployed(t)
	stages := c.ofType("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("stages %v, want the HTTP API's one", stages)
	}
	settings := path(c.Resources[stages[0]].Properties, "AccessLogSettings")
	group, _ := getAtt(path(settings, "DestinationArn"))
	if got := ref(path(c.Resources[group].Properties, "RetentionInDays")); got != "LogRetentionDays" {
		t.Errorf("access log group %q: RetentionInDays %q, want LogRetentionDays", group, got)
	}
	format, _ := path(settings, "Format").(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not one JSON object of strings: %v\n%s", err, format)
	}
	for name, v := range fields {
		if !slices.Contains(accessLogFields, v) {
			t.Errorf("access log field %q = %q: not one of the fields that cannot carry personal data", name, v)
		}
	}
	if fields["requestId"] != "$context.requestId" {
		t.Error("access log has no requestId: a line could not be matched with the functions' logs")
	}
}

func TestRecordsWeMustKeepAreProtected(t *testing.T) {
	c := deployed(t)
	for _, id := range []string{"RequestsTable", "AuditTable", "SuppressionTable", "ProvenanceTable", "MarketingTable", "NewsletterTable", "CustomerCareTable", "BillingTable"} {
		r := c.Resources[id]
		got := []any{r.DeletionPolicy, r.Properties["DeletionProtectionEnabled"], path(r.Properties, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")}
		if diff := cmp.Diff([]any{"Retain", true, true}, got); diff != "" {
			t.Errorf("%s: [DeletionPolicy, DeletionProtectionEnabled, PITR] (-want +got):\n%s", id, diff)
		}
	}
	for _, id := range []string{"PepperSecret", "DownloadLogBucket"} {
		if got := c.Resources[id].DeletionPolicy; got != "Retain" {
			t.Errorf("%s: DeletionPolicy %q, want Retain", id, got)
		}
	}
}

func TestReportDownloadsAreLogged(t *testing.T) {
	c := deployed(t)
	logging := c.Resources["ReportsBucket"].Properties["LoggingConfiguration"]
	if got := ref(path(logging, "DestinationBucketName")); got != "DownloadLogBucket" {
		t.Errorf("ReportsBucket logs to %q, want DownloadLogBucket", got)
	}
	rules := list(path(c.Resources["DownloadLogBucket"].Properties, "LifecycleConfiguration", "Rules"))
	if len(rules) != 1 || ref(path(rules[0], "ExpirationInDays")) != "DownloadLogRetentionDays" {
		t.Errorf("DownloadLogBucket lifecycle %v, want expiry after DownloadLogRetentionDays", rules)
	}
}

// TestConsumersAreCapped checks the functions a flood could scale: reserved
// concurrency, and no more pollers than reserved instances.
func TestConsumersAreCapped(t *testing.T) {
	c := deployed(t)
	want := map[string]string{"WorkerFunction": "WorkerConcurrency", "ProvenanceFunction": "ProvenanceConcurrency"}
	for fn, param := range want {
		if got := ref(c.Resources[fn].Properties["ReservedConcurrentExecutions"]); got != param {
			t.Errorf("%s: ReservedConcurrentExecutions %q, want !Ref %s", fn, got, param)
		}
		for _, id := range c.ofType("AWS::Lambda::EventSourceMapping") {
			p := c.Resources[id].Properties
			if ref(p["FunctionName"]) == fn && ref(path(p, "ScalingConfig", "MaximumConcurrency")) != param {
				t.Errorf("%s: MaximumConcurrency %v, want !Ref %s", id, path(p, "ScalingConfig"), param)
			}
		}
	}
}

// TestQueuesOutlastTheirConsumers checks each polled queue's visibility
// timeout against its function's timeout (AWS: at least six times).
func TestQueuesOutlastTheirConsumers(t *testing.T) {
	c := deployed(t)
	for _, id := range c.ofType("AWS::Lambda::EventSourceMapping") {
		p := c.Resources[id].Properties
		q, attr := getAtt(p["EventSourceArn"])
		if attr != "Arn" {
			continue // a stream
		}
		fn := ref(p["FunctionName"])
		timeout, _ := c.Resources[fn].Properties["Timeout"].(float64)
		visibility, _ := c.Resources[q].Properties["VisibilityTimeout"].(float64)
		if visibility < 6*timeout {
			t.Errorf("%s: VisibilityTimeout %vs, want at least 6 x %s's %vs", q, visibility, fn, timeout)
		}
	}
}

// TestDeadLettersOutliveTheirSources checks each redrive: SQS ages a moved
// message from its first enqueue, so a dead-letter queue that keeps messages
// no longer than its source would drop them soon after they arrive.
func TestDeadLettersOutliveTheirSources(t *testing.T) {
	c := deployed(t)
	for _, q := range c.ofType("AWS::SQS::Queue") {
		props := c.Resources[q].Properties
		dlq, _ := getAtt(path(props, "RedrivePolicy", "deadLetterTargetArn"))
		if dlq == "" {
			continue
		}
		src, _ := props["MessageRetentionPeriod"].(float64)
		dst, _ := c.Resources[dlq].Properties["MessageRetentionPeriod"].(float64)
		if dst < src+7*24*3600 {
			t.Errorf("%s keeps messages %vs, its dead-letter queue %s %vs: want a week more", q, src, dlq, dst)
		}
	}
}

func TestScheduledJobsKeepTheirFailures(t *testing.T) {
	c := deployed(t)
	scheduled := map[string]bool{}
	for _, id := range c.ofType("AWS::Events::Rule") {
		for _, target := range list(c.Resources[id].Properties["Targets"]) {
			fn, _ := getAtt(path(target, "Arn"))
			scheduled[fn] = true
			if path(target, "RetryPolicy") == nil || path(target, "DeadLetterConfig", "Arn") == nil {
				t.Errorf("%s: target %s has no RetryPolicy and DeadLetterConfig", id, fn)
			}
		}
	}
	scheduled["BackfillFunction"] = true // started by hand, asynchronously (docs/deploy.md)
	configured := map[string]bool{}
	for _, id := range c.ofType("AWS::Lambda::EventInvokeConfig") {
		p := c.Resources[id].Properties
		if path(p, "DestinationConfig", "OnFailure", "Destination") != nil {
			configured[ref(p["FunctionName"])] = true
		}
	}
	if diff := cmp.Diff(scheduled, configured); diff != "" {
		t.Errorf("functions run asynchronously with an on-failure destination (-want +got):\n%s", diff)
	}
}

// TestDeployGuideListsEveryParameter reads the parameter table of
// docs/deploy.md: one row per template parameter, with its default.
func TestDeployGuideListsEveryParameter(t *testing.T) {
	c := deployed(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(data), "\n## Parameters\n")
	if !found {
		t.Fatal("docs/deploy.md has no \"## Parameters\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	got := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		got[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.Trim(strings.TrimSpace(cells[2]), "`")
	}
	want := map[string]string{}
	for name, p := range c.Parameters {
		want[name] = jsonScalar(p["Default"])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/deploy.md parameter table: | `Name` | `default` | ... (-template +guide):\n%s", diff)
	}
}

// jsonScalar formats a parameter default as the guide writes it.
func jsonScalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
