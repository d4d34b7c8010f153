//go:build integration

package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// emulatorConfig returns an AWS config for the emulator at AWS_ENDPOINT_URL,
// which the SDK reads itself.
func emulatorConfig(t *testing.T) aws.Config {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set; point it at the emulator, e.g. http://127.0.0.1:4566")
	}
	ctx := context.Background()
	opts := []func(*config.LoadOptions) error{config.WithRegion("us-east-1")}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func uniquePrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "it-" + hex.EncodeToString(b)
}

func TestProvisionTemplate(t *testing.T) {
	cfg := emulatorConfig(t)
	tmpl, err := samtemplate.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prefix := uniquePrefix(t)
	opts := Options{Prefix: prefix}

	names, err := Provision(ctx, cfg, tmpl, opts)
	if err != nil {
		t.Fatalf("first Provision: %v", err)
	}
	t.Cleanup(func() { cleanup(t, cfg, names) })

	ddb := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sm := secretsmanager.NewFromConfig(cfg)

	// The secret's value survives a second run.
	firstSecret, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(names["PepperSecret"].Ref)})
	if err != nil {
		t.Fatal(err)
	}

	again, err := Provision(ctx, cfg, tmpl, opts)
	if err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	if diff := cmp.Diff(names, again); diff != "" {
		t.Errorf("second Provision names differ (-first +second):\n%s", diff)
	}

	t.Run("tables", func(t *testing.T) {
		for table, index := range map[string]string{
			"RequestsTable":     "by-status-due by-status-received by-subject",
			"SuppressionTable":  "",
			"MarketingTable":    "by-subject",
			"NewsletterTable":   "by-subject",
			"CustomerCareTable": "by-subject",
			"BillingTable":      "by-subject",
			"KeyingTable":       "",
		} {
			name := prefix + "-" + table
			if got := names[table].Ref; got != name {
				t.Errorf("%s Ref = %q, want %q", table, got, name)
			}
			out, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Errorf("describe %s: %v", name, err)
				continue
			}
			if got, want := names[table].Attrs["Arn"], "arn:aws:dynamodb:us-east-1:123456789012:table/"+name; got != want {
				t.Errorf("%s Arn = %q, want %q", table, got, want)
			}
			if out.Table.TableStatus != "ACTIVE" {
				t.Errorf("%s status = %s, want ACTIVE", name, out.Table.TableStatus)
			}
			var indexes []string
			for _, g := range out.Table.GlobalSecondaryIndexes {
				indexes = append(indexes, aws.ToString(g.IndexName))
			}
			slices.Sort(indexes)
			if !slices.Equal(indexes, strings.Fields(index)) {
				t.Errorf("%s indexes = %v, want [%s]", name, indexes, index)
			}
			// The purpose tables stream their new images to the keying function.
			purpose := index == "by-subject" && table != "RequestsTable"
			if stream := out.Table.StreamSpecification; purpose != (stream != nil && aws.ToBool(stream.StreamEnabled)) ||
				purpose && (stream.StreamViewType != "NEW_IMAGE" || names[table].Attrs["StreamArn"] == "") {
				t.Errorf("%s stream = %+v, StreamArn %q; want a NEW_IMAGE stream: %v", name, stream, names[table].Attrs["StreamArn"], purpose)
			}
		}
	})

	t.Run("queues", func(t *testing.T) {
		for queue, dlq := range map[string]string{"RequestQueue": "RequestDeadLetterQueue", "TaskQueue": "TaskDeadLetterQueue"} {
			url := names[queue].Ref
			if url == "" || names[queue].Attrs["QueueUrl"] != url || names[queue].Attrs["QueueName"] != prefix+"-"+queue {
				t.Errorf("%s names = %+v", queue, names[queue])
			}
			out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl:       aws.String(url),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
			})
			if err != nil {
				t.Errorf("attributes of %s: %v", queue, err)
				continue
			}
			var policy struct {
				DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
				MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &policy); err != nil {
				t.Errorf("%s RedrivePolicy %q: %v", queue, out.Attributes["RedrivePolicy"], err)
				continue
			}
			wantArn := names[dlq].Attrs["Arn"]
			if wantArn == "" || policy.DeadLetterTargetArn != wantArn {
				t.Errorf("%s deadLetterTargetArn = %q, want %q", queue, policy.DeadLetterTargetArn, wantArn)
			}
			if got := strings.Trim(string(policy.MaxReceiveCount), `"`); got != "5" {
				t.Errorf("%s maxReceiveCount = %s, want 5", queue, policy.MaxReceiveCount)
			}
		}
		wantVisibility := map[string]string{"RequestQueue": "180", "TaskQueue": "360"}
		for queue, want := range wantVisibility {
			out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl:       aws.String(names[queue].Ref),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Attributes["VisibilityTimeout"]; got != want {
				t.Errorf("%s VisibilityTimeout = %s, want %s", queue, got, want)
			}
		}
	})

	t.Run("bucket", func(t *testing.T) {
		bucket := strings.ToLower(prefix + "-ReportsBucket")
		if got := names["ReportsBucket"].Ref; got != bucket {
			t.Fatalf("ReportsBucket Ref = %q, want %q", got, bucket)
		}
		if got, want := names["ReportsBucket"].Attrs["Arn"], "arn:aws:s3:::"+bucket; got != want {
			t.Errorf("ReportsBucket Arn = %q, want %q", got, want)
		}
		enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("bucket encryption: %v", err)
		}
		rules := enc.ServerSideEncryptionConfiguration.Rules
		if len(rules) != 1 || rules[0].ApplyServerSideEncryptionByDefault == nil || rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
			t.Errorf("bucket encryption rules = %+v, want AES256", rules)
		}
		pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("public access block: %v", err)
		}
		c := pab.PublicAccessBlockConfiguration
		if !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.RestrictPublicBuckets) {
			t.Errorf("public access block = %+v, want all true", c)
		}
		lc, err := s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("lifecycle: %v", err)
		}
		if len(lc.Rules) != 1 || lc.Rules[0].Expiration == nil || aws.ToInt32(lc.Rules[0].Expiration.Days) != 30 {
			t.Errorf("lifecycle rules = %+v, want one expiring after 30 days", lc.Rules)
		} else if f := lc.Rules[0].Filter; f == nil || aws.ToString(f.Prefix) != "reports/" {
			t.Errorf("lifecycle filter = %+v, want prefix reports/", f)
		}
		// The template's policy is TLS-only, which the plain-HTTP emulator
		// cannot satisfy: nothing of it is applied, and plain calls work.
		var apiErr smithy.APIError
		if _, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)}); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchBucketPolicy" {
			t.Errorf("bucket policy: %v; want none", err)
		}
		cors, err := s3c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatalf("CORS: %v", err)
		}
		wantCORS := []s3types.CORSRule{{
			ID: aws.String("presigned-downloads"), AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"*"},
			ExposeHeaders: []string{"Content-Type", "Content-Length", "Content-Disposition"}, MaxAgeSeconds: aws.Int32(600),
		}}
		if diff := cmp.Diff(wantCORS, cors.CORSRules, cmpopts.IgnoreUnexported(s3types.CORSRule{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("CORS rules (-want +got):\n%s", diff)
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("reports/probe"), Body: strings.NewReader("x")}); err != nil {
			t.Errorf("put over plain HTTP: %v", err)
		} else if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("reports/probe")}); err != nil {
			t.Errorf("delete probe: %v", err)
		}
	})

	t.Run("secret", func(t *testing.T) {
		arn := names["PepperSecret"].Ref
		if !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:"+prefix+"-PepperSecret") {
			t.Errorf("PepperSecret Ref = %q, want its ARN", arn)
		}
		if names["PepperSecret"].Attrs["Id"] != arn {
			t.Errorf("PepperSecret Id = %q, want %q", names["PepperSecret"].Attrs["Id"], arn)
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		v := aws.ToString(out.SecretString)
		if len(v) != 64 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Errorf("secret value %q: want 64 alphanumerics", v)
		}
		if v != aws.ToString(firstSecret.SecretString) {
			t.Error("second Provision changed the secret's value")
		}
	})

	t.Run("functions resolve", func(t *testing.T) {
		fns, err := tmpl.Functions(names, samtemplate.Pseudo{Region: "us-east-1", AccountID: AccountID, StackName: prefix})
		if err != nil {
			t.Fatal(err)
		}
		if len(fns) != 11 {
			t.Fatalf("got %d functions, want 11", len(fns))
		}
		for _, f := range fns {
			if got, want := f.Environment["REQUESTS_TABLE"], prefix+"-RequestsTable"; got != want {
				t.Errorf("%s REQUESTS_TABLE = %q, want %q", f.LogicalID, got, want)
			}
		}
	})
}

// cleanup deletes what Provision created, so that repeated runs do not pile
// up resources in a long-running emulator.
func cleanup(t *testing.T, cfg aws.Config, names samtemplate.Names) {
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sm := secretsmanager.NewFromConfig(cfg)
	for id, p := range names {
		var err error
		switch {
		case strings.Contains(p.Attrs["Arn"], ":dynamodb:"):
			_, err = ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(p.Ref)})
		case strings.Contains(p.Attrs["Arn"], ":sqs:"):
			_, err = q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(p.Ref)})
		case strings.HasPrefix(p.Attrs["Arn"], "arn:aws:s3:::"):
			_, err = s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(p.Ref)})
		case strings.Contains(p.Ref, ":secretsmanager:"):
			_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(p.Ref), ForceDeleteWithoutRecovery: aws.Bool(true)})
		}
		if err != nil {
			t.Errorf("clean up %s: %v", id, err)
		}
	}
}

// TestProvisionConverges changes a template between runs: the second run
// updates the existing queue and applies time to live to the existing table.
func TestProvisionConverges(t *testing.T) {
	cfg := emulatorConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := Options{Prefix: uniquePrefix(t)}
	const src = `
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: %s}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
%s`
	const ttl = "      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}\n"
	var names samtemplate.Names
	for i, v := range []struct{ visibility, ttl string }{{"30", ""}, {"90", ttl}, {"90", ttl}} {
		tmpl, err := samtemplate.Parse([]byte(fmt.Sprintf(src, v.visibility, v.ttl)))
		if err != nil {
			t.Fatal(err)
		}
		if names, err = Provision(ctx, cfg, tmpl, opts); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if i == 0 {
			t.Cleanup(func() { cleanup(t, cfg, names) })
		}
	}
	out, err := sqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(names["Queue"].Ref),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Attributes["VisibilityTimeout"]; got != "90" {
		t.Errorf("VisibilityTimeout = %s, want 90", got)
	}
	ttlOut, err := dynamodb.NewFromConfig(cfg).DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(names["Table"].Ref)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttlOut.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != "ENABLED" || aws.ToString(d.AttributeName) != "expiresAt" {
		t.Errorf("time to live = %+v, want ENABLED on expiresAt", d)
	}
}

// TestProvisionRejectsChangedTable reports a table whose keys differ from
// the template instead of silently using it.
func TestProvisionRejectsChangedTable(t *testing.T) {
	cfg := emulatorConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := Options{Prefix: uniquePrefix(t)}
	const src = `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: id, KeyType: HASH}]
%s`
	const noGSI = "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
	const gsi = `      AttributeDefinitions: [{AttributeName: id, AttributeType: S}, {AttributeName: email, AttributeType: S}]
      GlobalSecondaryIndexes:
        - IndexName: by-email
          KeySchema: [{AttributeName: email, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
`
	tmpl, err := samtemplate.Parse([]byte(fmt.Sprintf(src, noGSI)))
	if err != nil {
		t.Fatal(err)
	}
	names, err := Provision(ctx, cfg, tmpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t, cfg, names) })
	tmpl, err = samtemplate.Parse([]byte(fmt.Sprintf(src, gsi)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Provision(ctx, cfg, tmpl, opts)
	if err == nil || !strings.Contains(err.Error(), "index by-email is missing") {
		t.Errorf("Provision err = %v, want index by-email is missing", err)
	}
}

// TestProvisionConditions provisions a template with conditions, deployed-only
// resources and customer-managed key properties: resources whose condition is
// false are not created, deployed-only ones are only named, and the key
// properties do not stop the emulator from creating what remains.
func TestProvisionConditions(t *testing.T) {
	cfg := emulatorConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := Options{Prefix: uniquePrefix(t)}
	const src = `
Parameters:
  CustomerManagedKey: {Type: String, Default: "true"}
  AlarmEmail: {Type: String, Default: ""}
Conditions:
  UseKey: !Equals [!Ref CustomerManagedKey, "true"]
  HasAlarmEmail: !Not [!Equals [!Ref AlarmEmail, ""]]
Resources:
  Key: {Type: "AWS::KMS::Key", Condition: UseKey}
  Topic: {Type: "AWS::SNS::Topic"}
  Mail: {Type: "AWS::SNS::Subscription", Condition: HasAlarmEmail}
  MailQueue: {Type: "AWS::SQS::Queue", Condition: HasAlarmEmail}
  Role: {Type: "AWS::IAM::Role"}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      KmsMasterKeyId: !If [UseKey, !Ref Key, !Ref AWS::NoValue]
      KmsDataKeyReusePeriodSeconds: 300
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      SSESpecification:
        SSEEnabled: true
        SSEType: KMS
        KMSMasterKeyId: !If [UseKey, !Ref Key, !Ref AWS::NoValue]
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: !If [UseKey, "aws:kms", AES256]
              KMSMasterKeyID: !If [UseKey, !GetAtt Key.Arn, !Ref AWS::NoValue]
            BucketKeyEnabled: !If [UseKey, true, !Ref AWS::NoValue]
      LoggingConfiguration: {LogFilePrefix: access/}
      Tags: [{Key: k, Value: v}]
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      SecretString: x
      KmsKeyId: !If [UseKey, !GetAtt Key.Arn, !Ref AWS::NoValue]
`
	tmpl, err := samtemplate.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	names, err := Provision(ctx, cfg, tmpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t, cfg, names) })
	for _, id := range []string{"Mail", "MailQueue"} {
		if p, ok := names[id]; ok {
			t.Errorf("%s is named %+v; its condition is false", id, p)
		}
	}
	if _, err := sqs.NewFromConfig(cfg).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(opts.Prefix + "-MailQueue")}); err == nil {
		t.Error("MailQueue exists; its condition is false")
	}
	if got := names["Topic"].Ref; got != "arn:aws:sns:us-east-1:123456789012:"+opts.Prefix+"-Topic" {
		t.Errorf("Topic Ref = %q, want its ARN", got)
	}
	bucket := strings.ToLower(opts.Prefix + "-Bucket")
	enc, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "aws:kms" ||
		r[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID != nil || !aws.ToBool(r[0].BucketKeyEnabled) {
		t.Errorf("bucket encryption = %+v, want aws:kms with the managed key and a bucket key", r)
	}
	out, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(names["Table"].Ref)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Table.SSEDescription; d == nil || d.SSEType != "KMS" {
		t.Errorf("table SSE = %+v, want KMS", d)
	}
}
