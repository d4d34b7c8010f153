package samtemplate

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readTemplate() ([]byte, error) { return os.ReadFile("../../../template.yaml") }

func TestFunctions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Function
	}{
		{
			name: "defaults without globals",
			src: `
Resources:
  F: {Type: "AWS::Serverless::Function"}
`,
			want: []Function{{LogicalID: "F", Timeout: 3 * time.Second, MemorySize: 128, Environment: map[string]string{}}},
		},
		{
			name: "globals apply and function wins",
			src: `
Parameters:
  Level: {Type: String, Default: INFO}
  Seconds: {Type: Number, Default: 20}
Globals:
  Function:
    Timeout: !Ref Seconds
    MemorySize: 256
    Environment:
      Variables: {A: global, B: global, LEVEL: !Ref Level}
Resources:
  B:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 60
      Environment:
        Variables: {B: mine, C: !Sub "${AWS::Region}-${T}"}
  A:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 1024
  T: {Type: "AWS::DynamoDB::Table"}
`,
			want: []Function{
				{LogicalID: "A", Timeout: 20 * time.Second, MemorySize: 1024, Environment: map[string]string{"A": "global", "B": "global", "LEVEL": "INFO"}},
				{LogicalID: "B", Timeout: 60 * time.Second, MemorySize: 256, Environment: map[string]string{"A": "global", "B": "mine", "C": "us-east-1-tbl", "LEVEL": "INFO"}},
			},
		},
		{
			name: "intrinsic in function replaces global map",
			src: `
Globals:
  Function:
    Environment:
      Variables: {A: global}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables: {A: !Ref T}
  T: {Type: "AWS::DynamoDB::Table"}
`,
			want: []Function{{LogicalID: "F", Timeout: 3 * time.Second, MemorySize: 128, Environment: map[string]string{"A": "tbl"}}},
		},
		{
			name: "concurrency",
			src: `
Parameters:
  Most: {Type: Number, Default: 7}
Resources:
  Q: {Type: "AWS::SQS::Queue"}
  F:
    Type: AWS::Serverless::Function
    Properties:
      ReservedConcurrentExecutions: !Ref Most
      Events:
        Plain:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn}
        Scaled:
          Type: SQS
          Properties:
            Queue: !GetAtt Q.Arn
            ScalingConfig: {MaximumConcurrency: !Ref Most}
        Literal:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: {MaximumConcurrency: 2}}
        Unscaled:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: {}}
`,
			want: []Function{{
				LogicalID: "F", Timeout: 3 * time.Second, MemorySize: 128, ReservedConcurrency: 7, Environment: map[string]string{},
				Events: []Event{
					{Name: "Literal", Type: "SQS", QueueLogicalID: "Q", BatchSize: 10, MaximumConcurrency: 2, Enabled: true},
					{Name: "Plain", Type: "SQS", QueueLogicalID: "Q", BatchSize: 10, Enabled: true},
					{Name: "Scaled", Type: "SQS", QueueLogicalID: "Q", BatchSize: 10, MaximumConcurrency: 7, Enabled: true},
					{Name: "Unscaled", Type: "SQS", QueueLogicalID: "Q", BatchSize: 10, Enabled: true},
				},
			}},
		},
		{
			name: "events",
			src: `
Resources:
  Q: {Type: "AWS::SQS::Queue"}
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get:
          Type: HttpApi
          Properties: {Path: "/v1/x/{id}", Method: get}
        Default:
          Type: HttpApi
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt Q.Arn}
        QueueLong:
          Type: SQS
          Properties:
            Queue: {"Fn::GetAtt": [Q, Arn]}
            BatchSize: 3
            Enabled: false
            FunctionResponseTypes: [ReportBatchItemFailures]
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 3 * * ? *)"}
        Off:
          Type: Schedule
          Properties: {Schedule: "rate(1 hour)", Enabled: false}
        V2:
          Type: ScheduleV2
          Properties: {ScheduleExpression: "rate(5 minutes)", State: DISABLED}
        V2On:
          Type: ScheduleV2
          Properties: {ScheduleExpression: "rate(5 minutes)"}
`,
			want: []Function{{
				LogicalID: "F", Timeout: 3 * time.Second, MemorySize: 128, Environment: map[string]string{},
				Events: []Event{
					{Name: "Default", Type: "HttpApi"},
					{Name: "Get", Type: "HttpApi", Path: "/v1/x/{id}", Method: "GET"},
					{Name: "Nightly", Type: "Schedule", ScheduleExpression: "cron(0 3 * * ? *)", Enabled: true},
					{Name: "Off", Type: "Schedule", ScheduleExpression: "rate(1 hour)"},
					{Name: "Queue", Type: "SQS", QueueLogicalID: "Q", BatchSize: 10, Enabled: true},
					{Name: "QueueLong", Type: "SQS", QueueLogicalID: "Q", BatchSize: 3, ReportBatchItemFailures: true},
					{Name: "V2", Type: "ScheduleV2", ScheduleExpression: "rate(5 minutes)"},
					{Name: "V2On", Type: "ScheduleV2", ScheduleExpression: "rate(5 minutes)", Enabled: true},
				},
			}},
		},
	}
	names := Names{"T": {Ref: "tbl"}, "Q": {Ref: "q"}}
	pseudo := Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: "s"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Functions(names, pseudo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Functions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFunctionsErrors(t *testing.T) {
	tests := []struct {
		name, props, want string
	}{
		{"unsupported event type", `{Events: {E: {Type: S3}}}`, "function F: event E: line 4: unsupported event type S3"},
		{"event without type", `{Events: {E: {Properties: {}}}}`, "event E: line 4: Type is missing"},
		{"queue not getatt", `{Events: {E: {Type: SQS, Properties: {Queue: "arn:aws:sqs:x"}}}}`, "Queue: line 4: want !GetAtt <AWS::SQS::Queue>.Arn"},
		{"queue getatt not arn", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.QueueName}}}}`, "want !GetAtt Q.Arn, not QueueName"},
		{"queue not a queue", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt T.Arn}}}}`, "T is a AWS::DynamoDB::Table, not an AWS::SQS::Queue"},
		{"queue missing", `{Events: {E: {Type: SQS}}}`, "Queue: missing"},
		{"schedule missing expression", `{Events: {E: {Type: Schedule, Properties: {}}}}`, "Schedule event has no Schedule"},
		{"httpapi path only", `{Events: {E: {Type: HttpApi, Properties: {Path: /x}}}}`, "needs both Path and Method"},
		{"bad timeout", `{Timeout: soon}`, `Timeout: got "soon", want an integer`},
		{"zero timeout", `{Timeout: 0}`, "Timeout: 0 is not positive"},
		{"bad memory", `{MemorySize: [1]}`, "MemorySize: got a list, want an integer"},
		{"env unknown name", `{Environment: {Variables: {A: !Ref Nope}}}`, "environment variable A: line 4: Ref: unknown name Nope"},
		{"env sub unknown name", `{Environment: {Variables: {A: !Sub "${Nope.Arn}"}}}`, "${Nope.Arn}: unknown resource Nope"},
		{"env not a mapping", `{Environment: {Variables: [a]}}`, "Environment.Variables is a sequence"},
		{"reserved zero", `{ReservedConcurrentExecutions: 0}`, "ReservedConcurrentExecutions: 0 is not positive"},
		{"reserved not a number", `{ReservedConcurrentExecutions: many}`, `ReservedConcurrentExecutions: got "many", want an integer`},
		{"scaling not a mapping", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: [2]}}}}`, "ScalingConfig is a sequence, want a mapping"},
		{"concurrency below 2", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: {MaximumConcurrency: 1}}}}}`,
			"ScalingConfig.MaximumConcurrency: 1 is not from 2 to 1000"},
		{"concurrency above 1000", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: {MaximumConcurrency: 1001}}}}}`,
			"ScalingConfig.MaximumConcurrency: 1001 is not from 2 to 1000"},
		{"concurrency not a number", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, ScalingConfig: {MaximumConcurrency: lots}}}}}`,
			`ScalingConfig.MaximumConcurrency: got "lots", want an integer`},
		{"enabled not bool", `{Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, Enabled: maybe}}}}`, `Enabled: got "maybe", want a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "Resources:\n  Q: {Type: 'AWS::SQS::Queue'}\n  T: {Type: 'AWS::DynamoDB::Table'}\n  F: {Type: 'AWS::Serverless::Function', Properties: " + tt.props + "}\n"
			tmpl, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tmpl.Functions(Names{"Q": {Ref: "q", Attrs: map[string]string{"Arn": "arn:q"}}}, Pseudo{Region: "us-east-1"})
			if err == nil {
				t.Fatalf("Functions succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Functions error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestTemplate checks the project's real template.
func TestTemplate(t *testing.T) {
	tmpl, err := Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "dsr-local"
	names := Names{}
	for id := range tmpl.Resources {
		names[id] = Physical{Ref: prefix + "-" + id, Attrs: map[string]string{"Arn": "arn:" + id, "StreamArn": "arn:" + id + "/stream/1", "QueueName": prefix + "-" + id}}
	}
	names["RequestQueue"] = Physical{Ref: "http://sqs/RequestQueue", Attrs: map[string]string{"Arn": "arn:RequestQueue", "QueueName": prefix + "-RequestQueue"}}
	names["TaskQueue"] = Physical{Ref: "http://sqs/TaskQueue", Attrs: map[string]string{"Arn": "arn:TaskQueue", "QueueName": prefix + "-TaskQueue"}}
	names["PepperSecret"] = Physical{Ref: "arn:secret:PepperSecret", Attrs: map[string]string{"Id": "arn:secret:PepperSecret"}}
	for _, id := range tmpl.ResourcesOfType("AWS::S3::Bucket") {
		names[id].Attrs["RegionalDomainName"] = strings.ToLower(prefix+"-"+id) + ".s3.us-east-1.amazonaws.com"
	}
	names["Site"].Attrs["DomainName"] = "d111111abcdef8.cloudfront.net"
	names["SiteOriginAccessControl"].Attrs["Id"] = "E2QWRUHAPOMQZL"
	names["SiteIndexFunction"].Attrs["FunctionARN"] = "arn:aws:cloudfront::123456789012:function/dsr-local-SiteIndexFunction"

	fns, err := tmpl.Functions(names, Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: prefix})
	if err != nil {
		t.Fatal(err)
	}

	registry := ""
	for _, fn := range fns {
		if fn.LogicalID == "IntakeFunction" {
			registry = fn.Environment["PURPOSE_REGISTRY"]
		}
	}
	for _, table := range []string{"MarketingTable", "NewsletterTable", "CustomerCareTable", "BillingTable"} {
		if want := "  table: " + prefix + "-" + table + "\n"; !strings.Contains(registry, want) {
			t.Errorf("PURPOSE_REGISTRY lacks %q:\n%s", want, registry)
		}
	}
	if strings.Contains(registry, "${") {
		t.Errorf("PURPOSE_REGISTRY has an unresolved placeholder:\n%s", registry)
	}
	for i := range fns {
		if fns[i].Environment["PURPOSE_REGISTRY"] != registry {
			t.Errorf("%s: PURPOSE_REGISTRY differs from IntakeFunction's", fns[i].LogicalID)
		}
		delete(fns[i].Environment, "PURPOSE_REGISTRY")
	}

	env := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"REQUESTS_TABLE":         "dsr-local-RequestsTable",
			"REPORTS_BUCKET":         "dsr-local-ReportsBucket",
			"CONTROLLER_NAME":        "Example Shop GmbH",
			"CONTROLLER_CONTACT":     "privacy@example.com",
			"CONTROLLER_DPO_CONTACT": "dpo@example.com", "DEFAULT_LANGUAGE": "de",
			"SUPERVISORY_AUTHORITY_NAME": "Berliner Beauftragte für Datenschutz und Informationsfreiheit (Berlin Commissioner for Data Protection and Freedom of Information)",
			"SUPERVISORY_AUTHORITY_URL":  "https://www.datenschutz-berlin.de",
			"DEADLINE_CLOCK_START":       "receipt",
			"DEADLINE_TIME_ZONE":         "Europe/Berlin", "DEADLINE_ROLL_FORWARD": "false", "DEADLINE_HOLIDAYS": "", "AUDIT_TABLE": "dsr-local-AuditTable",
			"PROVENANCE_TABLE": "dsr-local-ProvenanceTable", "PROVENANCE_RETENTION_YEARS": "2",
			"STATUS_PAGE_URL": "", // no SiteDomainName, no StatusPageUrl
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	sqs := func(name, queue string) Event {
		return Event{Name: name, Type: "SQS", QueueLogicalID: queue, BatchSize: 10, ReportBatchItemFailures: true, Enabled: true}
	}
	worker := sqs("Tasks", "TaskQueue")
	worker.BatchSize = 5
	worker.MaximumConcurrency = 20 // WorkerConcurrency's default
	provenance := sqs("Provenance", "ProvenanceQueue")
	provenance.MaximumConcurrency = 5 // ProvenanceConcurrency's default
	stream := func(name, table string) Event {
		return Event{Name: name, Type: "DynamoDB", TableLogicalID: table, StartingPosition: "TRIM_HORIZON", MaximumRetryAttempts: 10,
			OnFailureQueueLogicalID: "KeyingDeadLetterQueue", BatchSize: 100, ReportBatchItemFailures: true, Enabled: true}
	}
	backfill := sqs("Continue", "BackfillQueue")
	backfill.BatchSize = 1
	discarded := sqs("Discarded", "KeyingDeadLetterQueue")
	discarded.BatchSize = 1
	keyed := map[string]string{"PEPPER_SECRET_ARN": "arn:secret:PepperSecret", "SUPPRESSION_TABLE": "dsr-local-SuppressionTable", "KEYING_TABLE": "dsr-local-KeyingTable"}
	backfillEnv := map[string]string{"BACKFILL_QUEUE_URL": "dsr-local-BackfillQueue"}
	for k, v := range keyed {
		backfillEnv[k] = v
	}
	want := []Function{
		{
			LogicalID: "BackfillFunction", Timeout: 5 * time.Minute, MemorySize: 256, Environment: env(backfillEnv),
			Events: []Event{backfill, discarded},
		},
		{
			LogicalID: "DeadLetterFunction", Timeout: 30 * time.Second, MemorySize: 256, Environment: env(map[string]string{"SENDER_ADDRESS": "privacy@example.com"}),
			Events: []Event{sqs("DeadRequests", "RequestDeadLetterQueue"), sqs("DeadTasks", "TaskDeadLetterQueue")},
		},
		{
			LogicalID: "DispatchFunction", Timeout: 30 * time.Second, MemorySize: 256,
			Environment: env(map[string]string{"TASK_QUEUE_URL": "http://sqs/TaskQueue", "SUPPRESSION_TABLE": "dsr-local-SuppressionTable",
				"REQUEST_QUEUE_URL": "http://sqs/RequestQueue", "KEYING_TABLE": "dsr-local-KeyingTable"}),
			Events: []Event{sqs("Requests", "RequestQueue")},
		},
		{
			LogicalID: "DpoFunction", Timeout: 15 * time.Second, MemorySize: 256,
			Environment: env(map[string]string{
				"REQUEST_QUEUE_URL": "http://sqs/RequestQueue", "TASK_QUEUE_URL": "http://sqs/TaskQueue",
				"SUPPRESSION_TABLE": "dsr-local-SuppressionTable", "SENDER_ADDRESS": "privacy@example.com",
				"PEPPER_SECRET_ARN": "arn:secret:PepperSecret",
			}),
			Events: []Event{
				{Name: "Audit", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/audit", Method: "GET", Authorizer: "DpoAuthorizer"},
				{Name: "Decide", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/objection-decision", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "Detail", Type: "HttpApi", Path: "/v1/dpo/requests/{id}", Method: "GET", Authorizer: "DpoAuthorizer"},
				{Name: "Extend", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/extend", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "Lift", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/lift", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "List", Type: "HttpApi", Path: "/v1/dpo/requests", Method: "GET", Authorizer: "DpoAuthorizer"},
				{Name: "Metrics", Type: "HttpApi", Path: "/v1/dpo/metrics", Method: "GET", Authorizer: "DpoAuthorizer"},
				{Name: "Rectify", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/rectification-decision", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "Register", Type: "HttpApi", Path: "/v1/dpo/requests", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "Reject", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/reject", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "Restrictions", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/restrictions", Method: "POST", Authorizer: "DpoAuthorizer"},
				{Name: "Retry", Type: "HttpApi", Path: "/v1/dpo/requests/{id}/retry", Method: "POST", Authorizer: "DpoAuthorizer"},
			},
		},
		{
			LogicalID: "IntakeFunction", Timeout: 10 * time.Second, MemorySize: 256,
			Environment: env(map[string]string{
				"REQUEST_QUEUE_URL":     "http://sqs/RequestQueue",
				"PEPPER_SECRET_ARN":     "arn:secret:PepperSecret",
				"SENDER_ADDRESS":        "privacy@example.com",
				"LIMITS_TABLE":          "dsr-local-LimitsTable",
				"SUPPRESSION_TABLE":     "dsr-local-SuppressionTable",
				"CLIENT_ADDRESS_HEADER": "",
			}),
			Events: []Event{
				{Name: "Certificate", Type: "HttpApi", Path: "/v1/requests/{id}/certificate", Method: "GET"},
				{Name: "Purposes", Type: "HttpApi", Path: "/v1/purposes", Method: "GET"},
				{Name: "Report", Type: "HttpApi", Path: "/v1/requests/{id}/report", Method: "GET"},
				{Name: "Status", Type: "HttpApi", Path: "/v1/requests/{id}", Method: "GET"},
				{Name: "Submit", Type: "HttpApi", Path: "/v1/requests", Method: "POST"},
				{Name: "Unmatched", Type: "HttpApi"},
				{Name: "Unsubscribe", Type: "HttpApi", Path: "/v1/unsubscribe/{token}", Method: "POST"},
				{Name: "Verify", Type: "HttpApi", Path: "/v1/requests/{id}/verify", Method: "POST"},
			},
		},
		{
			LogicalID: "KeyingFunction", Timeout: time.Minute, MemorySize: 256, Environment: env(keyed),
			Events: []Event{stream("Billing", "BillingTable"), stream("CustomerCare", "CustomerCareTable"), stream("Marketing", "MarketingTable"), stream("Newsletter", "NewsletterTable")},
		},
		{
			LogicalID: "MonitorFunction", Timeout: 2 * time.Minute, MemorySize: 256,
			Environment: env(map[string]string{"SENDER_ADDRESS": "privacy@example.com", "DPO_ADDRESS": "privacy@example.com", "LIMITS_TABLE": "dsr-local-LimitsTable",
				"KEYING_TABLE": "dsr-local-KeyingTable"}),
			Events: []Event{{Name: "Daily", Type: "Schedule", ScheduleExpression: "rate(1 day)", Enabled: true}},
		},
		{
			LogicalID: "ProvenanceFunction", Timeout: 30 * time.Second, MemorySize: 256, ReservedConcurrency: 5,
			Environment: env(map[string]string{
				"PEPPER_SECRET_ARN": "arn:secret:PepperSecret", "PROVENANCE_DLQ_URL": "dsr-local-ProvenanceDeadLetterQueue",
				"PROVENANCE_MAX_RECEIVES": "5", "ADEQUACY_COUNTRIES": "AD,AR,BR,CA,CH,FO,GB,GG,IL,IM,JE,JP,KR,NZ,UY,US:DPF", "SUPPRESSION_TABLE": "dsr-local-SuppressionTable",
			}),
			Events: []Event{provenance},
		},
		{
			LogicalID: "RetentionFunction", Timeout: 5 * time.Minute, MemorySize: 256,
			Environment: env(map[string]string{
				"RETENTION_QUEUE_URL": "dsr-local-RetentionQueue", "RECIPIENT_NOTICE_QUEUE_URL": "dsr-local-RecipientNoticeQueue", "REPORT_RETENTION_DAYS": "30", "ACCOUNTABILITY_RETENTION_YEARS": "3",
			}),
			Events: []Event{
				{Name: "Continue", Type: "SQS", QueueLogicalID: "RetentionQueue", BatchSize: 10, Enabled: true},
				{Name: "Daily", Type: "Schedule", ScheduleExpression: "rate(1 day)", Enabled: true},
			},
		},
		{
			LogicalID: "SuppressionFunction", Timeout: 10 * time.Second, MemorySize: 256,
			Environment: env(map[string]string{
				"SUPPRESSION_TABLE": "dsr-local-SuppressionTable",
				"PEPPER_SECRET_ARN": "arn:secret:PepperSecret",
			}),
			Events: []Event{{Name: "Check", Type: "HttpApi", Path: "/v1/suppressions/check", Method: "POST", Authorizer: "AWS_IAM"},
				{Name: "IssueToken", Type: "HttpApi", Path: "/v1/unsubscribe-tokens", Method: "POST", Authorizer: "AWS_IAM"}},
		},
		{
			LogicalID: "WorkerFunction", Timeout: 60 * time.Second, MemorySize: 512, ReservedConcurrency: 20,
			Environment: env(map[string]string{"TASK_QUEUE_URL": "http://sqs/TaskQueue", "RECIPIENT_NOTICE_QUEUE_URL": "dsr-local-RecipientNoticeQueue", "SENDER_ADDRESS": "privacy@example.com",
				"TRANSMISSION_KEY_SECRET_ARN": "dsr-local-TransmissionKeySecret"}),
			Events: []Event{worker},
		},
	}
	if diff := cmp.Diff(want, fns); diff != "" {
		t.Errorf("Functions (-want +got):\n%s", diff)
	}

	// Every resource's properties and every output resolve.
	r := &Resolver{Template: tmpl, Names: names, Pseudo: Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: prefix}}
	for id, res := range tmpl.Resources {
		if res.Properties == nil {
			continue
		}
		if _, err := r.Resolve(res.Properties); err != nil {
			t.Errorf("resolve %s: %v", id, err)
		}
	}
	api, err := r.ResolveString(tmpl.Outputs["ApiUrl"])
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://dsr-local-HttpApi.execute-api.us-east-1.amazonaws.com"; api != want {
		t.Errorf("ApiUrl = %q, want %q", api, want)
	}
}
