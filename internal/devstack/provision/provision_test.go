package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// sdkOpts compares SDK types, which carry an unexported marker field.
var sdkOpts = cmpopts.IgnoreUnexported(
	dynamodb.CreateTableInput{}, ddbtypes.AttributeDefinition{}, ddbtypes.KeySchemaElement{},
	ddbtypes.GlobalSecondaryIndex{}, ddbtypes.Projection{}, ddbtypes.SSESpecification{}, ddbtypes.ProvisionedThroughput{},
	ddbtypes.StreamSpecification{},
	s3types.ServerSideEncryptionConfiguration{}, s3types.ServerSideEncryptionRule{}, s3types.ServerSideEncryptionByDefault{},
	s3types.PublicAccessBlockConfiguration{}, s3types.OwnershipControls{}, s3types.OwnershipControlsRule{},
	s3types.BucketLifecycleConfiguration{}, s3types.LifecycleRule{}, s3types.LifecycleRuleFilter{},
	s3types.LifecycleExpiration{}, s3types.AbortIncompleteMultipartUpload{}, s3types.VersioningConfiguration{},
	s3types.CORSConfiguration{}, s3types.CORSRule{},
)

// testProvisioner returns a provisioner for t that makes no AWS calls.
func testProvisioner(t *testing.T, src string) (*provisioner, *samtemplate.Template) {
	t.Helper()
	tmpl, err := samtemplate.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pr := &provisioner{prefix: "dsr-local", names: samtemplate.Names{}, cfg: aws.Config{Region: "us-east-1"}}
	pr.pseudo = samtemplate.Pseudo{Region: "us-east-1", AccountID: AccountID, StackName: "dsr-local"}
	pr.resolver = &samtemplate.Resolver{Template: tmpl, Names: pr.names, Pseudo: pr.pseudo}
	if err := pr.evaluateConditions(tmpl); err != nil {
		t.Fatal(err)
	}
	return pr, tmpl
}

func TestCreateTableInput(t *testing.T) {
	tests := []struct {
		name  string
		props string
		want  *dynamodb.CreateTableInput
	}{
		{
			name: "on demand with index and encryption",
			props: `
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: status, AttributeType: S}
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: by-status
          KeySchema: [{AttributeName: status, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [a]}
      SSESpecification: {SSEEnabled: true}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
      Tags: [{Key: k, Value: v}]`,
			want: &dynamodb.CreateTableInput{
				TableName:   aws.String("dsr-local-T"),
				BillingMode: ddbtypes.BillingModePayPerRequest,
				AttributeDefinitions: []ddbtypes.AttributeDefinition{
					{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS},
					{AttributeName: aws.String("status"), AttributeType: ddbtypes.ScalarAttributeTypeS},
				},
				KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
				GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
					IndexName:  aws.String("by-status"),
					KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("status"), KeyType: ddbtypes.KeyTypeHash}},
					Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeInclude, NonKeyAttributes: []string{"a"}},
				}},
				SSESpecification: &ddbtypes.SSESpecification{Enabled: aws.Bool(true)},
			},
		},
		{
			name: "provisioned with stream, capacity from a parameter",
			props: `
      AttributeDefinitions: [{AttributeName: id, AttributeType: N}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: !Ref Capacity, WriteCapacityUnits: 2}
      StreamSpecification: {StreamViewType: NEW_IMAGE}`,
			want: &dynamodb.CreateTableInput{
				TableName:             aws.String("dsr-local-T"),
				BillingMode:           ddbtypes.BillingModeProvisioned,
				AttributeDefinitions:  []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeN}},
				KeySchema:             []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
				ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(2)},
				StreamSpecification:   &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage},
			},
		},
		{
			name: "customer managed key is not applied",
			props: `
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      SSESpecification:
        SSEEnabled: true
        SSEType: KMS
        KMSMasterKeyId: !If [UseKey, !Ref Key, !Ref AWS::NoValue]
      DeletionProtectionEnabled: !If [UseKey, true, false]`,
			want: &dynamodb.CreateTableInput{
				TableName:            aws.String("dsr-local-T"),
				BillingMode:          ddbtypes.BillingModePayPerRequest,
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
				SSESpecification:     &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms},
			},
		},
	}
	const head = `
Parameters:
  Capacity: {Type: Number, Default: 5}
  KeyParam: {Type: String, Default: "true"}
Conditions:
  UseKey: !Equals [!Ref KeyParam, "true"]
Resources:
  Key: {Type: "AWS::KMS::Key"}
  T:
    Type: AWS::DynamoDB::Table
    Properties:`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, tmpl := testProvisioner(t, head+tt.props+"\n")
			pr.nameUnmanaged(tmpl)
			var p tableProps
			if err := pr.decode(tmpl.Resources["T"].Properties, &p); err != nil {
				t.Fatal(err)
			}
			got, err := createTableInput(pr.physicalName("T"), p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, sdkOpts); diff != "" {
				t.Errorf("createTableInput (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueAttributes(t *testing.T) {
	pr, tmpl := testProvisioner(t, `
Parameters: {Retention: {Type: Number, Default: 1209600}}
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 180
      MessageRetentionPeriod: !Ref Retention
      SqsManagedSseEnabled: true
      RedrivePolicy: {deadLetterTargetArn: !GetAtt D.Arn, maxReceiveCount: 5}
  D: {Type: "AWS::SQS::Queue"}
`)
	props := tmpl.Resources["Q"].Properties

	// Before the dead-letter queue exists, only the other attributes resolve.
	var first queueProps
	if err := pr.decode(without(props, redriveKeys...), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"VisibilityTimeout": "180", "MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}
	if diff := cmp.Diff(want, queueAttributes(first)); diff != "" {
		t.Errorf("queueAttributes without redrive (-want +got):\n%s", diff)
	}
	if err := pr.decode(props, &first); err == nil || !strings.Contains(err.Error(), "resource D has no physical name yet") {
		t.Errorf("decode before D exists: err = %v, want D has no physical name", err)
	}

	pr.names["D"] = samtemplate.Physical{Ref: "url", Attrs: map[string]string{"Arn": "arn:aws:sqs:us-east-1:123456789012:dsr-local-D"}}
	var full queueProps
	if err := pr.decode(props, &full); err != nil {
		t.Fatal(err)
	}
	want["RedrivePolicy"] = `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dsr-local-D","maxReceiveCount":5}`
	if diff := cmp.Diff(want, queueAttributes(full)); diff != "" {
		t.Errorf("queueAttributes (-want +got):\n%s", diff)
	}
}

func TestBucketConfiguration(t *testing.T) {
	pr, tmpl := testProvisioner(t, `
Parameters: {Days: {Type: Number, Default: 30}}
Resources:
  B:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: "true"}
      OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerEnforced}]}
      VersioningConfiguration: {Status: Enabled}
      LifecycleConfiguration:
        Rules:
          - Id: expire
            Status: Enabled
            Prefix: reports/
            ExpirationInDays: !Ref Days
            AbortIncompleteMultipartUpload: {DaysAfterInitiation: 1}
          - Status: Disabled
      CorsConfiguration:
        CorsRules:
          - Id: downloads
            AllowedMethods: [GET, HEAD]
            AllowedOrigins: ["*"]
            ExposedHeaders: [Content-Type, Content-Disposition]
            MaxAge: !Ref Days
          - {AllowedMethods: [PUT], AllowedOrigins: ["https://a.example"], AllowedHeaders: [content-type]}
`)
	var p bucketProps
	if err := pr.decode(tmpl.Resources["B"].Properties, &p); err != nil {
		t.Fatal(err)
	}
	got, err := bucketConfiguration(p)
	if err != nil {
		t.Fatal(err)
	}
	want := bucketConfig{
		encryption: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
		}}},
		publicAccess: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
		ownership:  &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}}},
		versioning: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		lifecycle: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{
			{
				ID:                             aws.String("expire"),
				Status:                         s3types.ExpirationStatusEnabled,
				Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String("reports/")},
				Expiration:                     &s3types.LifecycleExpiration{Days: aws.Int32(30)},
				AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)},
			},
			{Status: s3types.ExpirationStatusDisabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")}},
		}},
		cors: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{
			{
				ID: aws.String("downloads"), AllowedMethods: []string{"GET", "HEAD"}, AllowedOrigins: []string{"*"},
				ExposeHeaders: []string{"Content-Type", "Content-Disposition"}, MaxAgeSeconds: aws.Int32(30),
			},
			{AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"https://a.example"}, AllowedHeaders: []string{"content-type"}},
		}},
	}
	if diff := cmp.Diff(want, got, sdkOpts, cmp.AllowUnexported(bucketConfig{})); diff != "" {
		t.Errorf("bucketConfiguration (-want +got):\n%s", diff)
	}
}

func TestBucketName(t *testing.T) {
	tests := []struct {
		prefix, id, want, wantErr string
	}{
		{prefix: "dsr-local", id: "ReportsBucket", want: "dsr-local-reportsbucket"},
		{prefix: "DSR", id: "B", want: "dsr-b"},
		{prefix: strings.Repeat("x", 60), id: "Bucket", wantErr: "is not valid"},
	}
	for _, tt := range tests {
		pr := &provisioner{prefix: tt.prefix}
		got, err := pr.bucketName(tt.id)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("bucketName(%s, %s) = %q, %v; want error %q", tt.prefix, tt.id, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("bucketName(%s, %s) = %q, %v; want %q", tt.prefix, tt.id, got, err, tt.want)
		}
	}
}

func TestSecretValue(t *testing.T) {
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tests := []struct {
		name    string
		props   string
		check   func(t *testing.T, v string)
		wantErr string
	}{
		{
			name:  "length and alphabet",
			props: `{GenerateSecretString: {PasswordLength: 64, ExcludePunctuation: true}}`,
			check: func(t *testing.T, v string) {
				if len(v) != 64 || strings.Trim(v, alnum) != "" {
					t.Errorf("value %q: want 64 alphanumerics", v)
				}
				if !strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz") || !strings.ContainsAny(v, "0123456789") || !strings.ContainsAny(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
					t.Errorf("value %q: want every character class", v)
				}
			},
		},
		{
			name:  "default length",
			props: `{GenerateSecretString: {}}`,
			check: func(t *testing.T, v string) {
				if len(v) != 32 {
					t.Errorf("value %q: want 32 characters", v)
				}
			},
		},
		{
			name:  "exclusions",
			props: `{GenerateSecretString: {PasswordLength: 200, ExcludeUppercase: true, ExcludeNumbers: "true", ExcludeCharacters: "abc"}}`,
			check: func(t *testing.T, v string) {
				if len(v) != 200 || strings.Trim(v, "defghijklmnopqrstuvwxyz") != "" {
					t.Errorf("value %q: want 200 of d-z", v)
				}
			},
		},
		{
			name:  "template",
			props: `{GenerateSecretString: {PasswordLength: 8, SecretStringTemplate: '{"user":"app"}', GenerateStringKey: password}}`,
			check: func(t *testing.T, v string) {
				var doc map[string]string
				if err := json.Unmarshal([]byte(v), &doc); err != nil {
					t.Fatal(err)
				}
				if doc["user"] != "app" || len(doc["password"]) != 8 {
					t.Errorf("value %s: want user app and an 8-character password", v)
				}
			},
		},
		{
			name:  "literal",
			props: `{SecretString: s3cret, Description: d}`,
			check: func(t *testing.T, v string) {
				if v != "s3cret" {
					t.Errorf("value %q, want s3cret", v)
				}
			},
		},
		{name: "both", props: `{SecretString: x, GenerateSecretString: {}}`, wantErr: "exclude each other"},
		{name: "nothing left", props: `{GenerateSecretString: {ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true}}`, wantErr: "excludes every alphanumeric"},
		{name: "template without key", props: `{GenerateSecretString: {SecretStringTemplate: '{}'}}`, wantErr: "go together"},
		{name: "bad length", props: `{GenerateSecretString: {PasswordLength: 0}}`, wantErr: "out of range"},
		{name: "unknown property", props: `{Name: fixed}`, wantErr: `unknown field "Name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, tmpl := testProvisioner(t, "Resources: {S: {Type: 'AWS::SecretsManager::Secret', Properties: "+tt.props+"}}\n")
			var p secretProps
			err := pr.decode(tmpl.Resources["S"].Properties, &p)
			var v string
			if err == nil {
				v, err = secretValue(p)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, v)
		})
	}
}

func TestDecodeScalars(t *testing.T) {
	tests := []struct {
		json    string
		want    any
		wantErr string
	}{
		{json: `{"I": 5, "B": true, "D": {"a": 1}}`, want: decoded{I: 5, B: true, D: `{"a":1}`}},
		{json: `{"I": "7", "B": "false", "D": "{\"a\": 1}"}`, want: decoded{I: 7, B: false, D: `{"a":1}`}},
		{json: `{"I": "x"}`, wantErr: `"x" is not an integer`},
		{json: `{"I": 1.5}`, wantErr: "1.5 is not an integer"},
		{json: `{"B": "yes please"}`, wantErr: "is not a boolean"},
		{json: `{"D": "not json"}`, wantErr: "is not JSON"},
		{json: `{"D": [1]}`, wantErr: "is not a JSON object"},
		{json: `{"D": "[1]"}`, wantErr: "is not a JSON object"},
		{json: `{"Other": 1}`, wantErr: `unknown field "Other"`},
	}
	for _, tt := range tests {
		var got struct {
			I cfnInt
			B cfnBool
			D jsonDocument
		}
		err := decodeJSON([]byte(tt.json), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("decode %s: err = %v, want it to contain %q", tt.json, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("decode %s: %v", tt.json, err)
			continue
		}
		if diff := cmp.Diff(tt.want, decoded{I: int(got.I), B: bool(got.B), D: got.D.String()}); diff != "" {
			t.Errorf("decode %s (-want +got):\n%s", tt.json, diff)
		}
	}
}

type decoded struct {
	I int
	B bool
	D string
}

// TestProvisionRejects covers the errors Provision reports before it calls
// AWS.
func TestProvisionRejects(t *testing.T) {
	tests := []struct {
		name, src, prefix, region, want string
	}{
		{
			name:   "unsupported types",
			src:    "Resources: {T: {Type: 'AWS::SNS::Topic'}, F: {Type: 'AWS::Lambda::Function'}, V: {Type: 'AWS::EC2::VPC'}, Q: {Type: 'AWS::SQS::Queue'}}",
			prefix: "p", region: "us-east-1",
			want: "unsupported resource types: AWS::EC2::VPC (V), AWS::Lambda::Function (F)",
		},
		{
			name:   "unsupported type whose condition is false",
			src:    "Conditions: {Never: !Equals [a, b]}\nResources: {V: {Type: 'AWS::EC2::VPC', Condition: Never}}",
			prefix: "p", region: "us-east-1",
			want: "unsupported resource types: AWS::EC2::VPC (V)",
		},
		{
			name:   "condition refers to a resource",
			src:    "Conditions: {C: !Equals [!Ref Q, x]}\nResources: {Q: {Type: 'AWS::SQS::Queue'}, T: {Type: 'AWS::SNS::Topic', Condition: C}}",
			prefix: "p", region: "us-east-1",
			want: "provision: resource T: condition C: line 1: Fn::Equals: line 1: Ref: a condition cannot refer to resource Q",
		},
		{
			name:   "unknown table property",
			src:    "Resources: {T: {Type: 'AWS::DynamoDB::Table', Properties: {KeySchema: [], TableName: fixed}}}",
			prefix: "p", region: "us-east-1",
			want: `provision T (AWS::DynamoDB::Table): decode properties: json: unknown field "TableName"`,
		},
		{
			name:   "unresolvable property",
			src:    "Resources: {T: {Type: 'AWS::DynamoDB::Table', Properties: {BillingMode: !Ref Nope}}}",
			prefix: "p", region: "us-east-1",
			want: "resolve properties: line 1: Ref: unknown name Nope",
		},
		{name: "empty prefix", src: "Resources: {}", region: "us-east-1", want: `prefix "": want letters, digits and hyphens`},
		{name: "bad prefix", src: "Resources: {}", prefix: "a_b", region: "us-east-1", want: `prefix "a_b"`},
		{name: "no region", src: "Resources: {}", prefix: "p", want: "no region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := samtemplate.Parse([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Provision(context.Background(), aws.Config{Region: tt.region}, tmpl, Options{Prefix: tt.prefix})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Provision err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestTemplateDecodes checks that Provision understands every property of
// the project's template, without calling AWS.
func TestTemplateDecodes(t *testing.T) {
	tmpl, err := samtemplate.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTypes(tmpl); err != nil {
		t.Fatal(err)
	}
	pr := &provisioner{prefix: "dsr-local", names: samtemplate.Names{}}
	pr.pseudo = samtemplate.Pseudo{Region: "us-east-1", AccountID: AccountID, StackName: "dsr-local"}
	pr.resolver = &samtemplate.Resolver{Template: tmpl, Names: pr.names, Pseudo: pr.pseudo}
	for id := range tmpl.Resources {
		pr.names[id] = samtemplate.Physical{Ref: "ref-" + id, Attrs: map[string]string{"Arn": "arn-" + id}}
	}
	for id, r := range tmpl.Resources {
		var v any
		switch r.Type {
		case typeTable:
			v = &tableProps{}
		case typeQueue:
			v = &queueProps{}
		case typeBucket:
			v = &bucketProps{}
		case typeBucketPolicy:
			v = &bucketPolicyProps{}
		case typeSecret:
			v = &secretProps{}
		default:
			continue
		}
		if err := pr.decode(r.Properties, v); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestNameUnmanaged(t *testing.T) {
	pr, tmpl := testProvisioner(t, `
Parameters: {Email: {Type: String, Default: ""}}
Conditions:
  HasEmail: !Not [!Equals [!Ref Email, ""]]
Resources:
  Alarm: {Type: "AWS::CloudWatch::Alarm"}
  Board: {Type: "AWS::CloudWatch::Dashboard"}
  Topic: {Type: "AWS::SNS::Topic"}
  Sub: {Type: "AWS::SNS::Subscription", Condition: HasEmail}
  TopicPolicy: {Type: "AWS::SNS::TopicPolicy"}
  Logs: {Type: "AWS::Logs::LogGroup"}
  Role: {Type: "AWS::IAM::Role"}
  Policy: {Type: "AWS::IAM::ManagedPolicy"}
  Key: {Type: "AWS::KMS::Key"}
  Alias: {Type: "AWS::KMS::Alias"}
  Trail: {Type: "AWS::CloudTrail::Trail"}
  Invoke: {Type: "AWS::Lambda::EventInvokeConfig"}
  Schedule: {Type: "AWS::Scheduler::Schedule"}
  Site: {Type: "AWS::CloudFront::Distribution"}
  Access: {Type: "AWS::CloudFront::OriginAccessControl"}
  Headers: {Type: "AWS::CloudFront::ResponseHeadersPolicy"}
  Index: {Type: "AWS::CloudFront::Function"}
  Fn: {Type: "AWS::Serverless::Function"}
  MailFn: {Type: "AWS::Serverless::Function", Condition: HasEmail}
  Queue: {Type: "AWS::SQS::Queue", Condition: HasEmail}
`)
	if err := checkTypes(tmpl); err != nil {
		t.Fatal(err)
	}
	pr.nameUnmanaged(tmpl)
	key := fakeUUID("dsr-local-Key")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(key) {
		t.Errorf("key id %q is not shaped like a UUID", key)
	}
	const arn = "arn:aws:%s:us-east-1:123456789012:%s"
	role := pr.names["Role"].Attrs["RoleId"]
	policy := pr.names["Policy"].Attrs["PolicyId"]
	site, access, headers := pr.names["Site"].Ref, pr.names["Access"].Ref, pr.names["Headers"].Ref
	for _, id := range []string{site, access} {
		if !regexp.MustCompile(`^E[0-9A-F]{13}$`).MatchString(id) {
			t.Errorf("CloudFront id %q is not shaped like one (E and 13 characters)", id)
		}
	}
	if headers != fakeUUID("dsr-local-Headers") {
		t.Errorf("response headers policy id %q, want a UUID", headers)
	}
	want := samtemplate.Names{
		"Alarm":       {Ref: "dsr-local-Alarm", Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "cloudwatch", "alarm:dsr-local-Alarm")}},
		"Board":       {Ref: "dsr-local-Board", Attrs: map[string]string{"Arn": "arn:aws:cloudwatch::123456789012:dashboard/dsr-local-Board"}},
		"Topic":       {Ref: fmt.Sprintf(arn, "sns", "dsr-local-Topic"), Attrs: map[string]string{"TopicArn": fmt.Sprintf(arn, "sns", "dsr-local-Topic"), "TopicName": "dsr-local-Topic"}},
		"TopicPolicy": {Ref: "dsr-local-TopicPolicy", Attrs: map[string]string{"Id": "dsr-local-TopicPolicy"}},
		"Logs":        {Ref: "dsr-local-Logs", Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "logs", "log-group:dsr-local-Logs:*")}},
		"Role":        {Ref: "dsr-local-Role", Attrs: map[string]string{"Arn": "arn:aws:iam::123456789012:role/dsr-local-Role", "RoleId": role}},
		"Policy": {Ref: "arn:aws:iam::123456789012:policy/dsr-local-Policy",
			Attrs: map[string]string{"PolicyArn": "arn:aws:iam::123456789012:policy/dsr-local-Policy", "PolicyId": policy}},
		"Key":      {Ref: key, Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "kms", "key/"+key), "KeyId": key}},
		"Alias":    {Ref: "alias/dsr-local-Alias", Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "kms", "alias/dsr-local-Alias")}},
		"Trail":    {Ref: "dsr-local-Trail", Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "cloudtrail", "trail/dsr-local-Trail")}},
		"Invoke":   {Ref: "dsr-local-Invoke", Attrs: map[string]string{"Id": "dsr-local-Invoke"}},
		"Schedule": {Ref: "dsr-local-Schedule", Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "scheduler", "schedule/default/dsr-local-Schedule")}},
		"Fn":       {Ref: "dsr-local-Fn", Attrs: map[string]string{"Arn": fmt.Sprintf(arn, "lambda", "function:dsr-local-Fn")}},
		"Site":     {Ref: site, Attrs: map[string]string{"Id": site, "DomainName": strings.ToLower("d"+site[1:]) + ".cloudfront.net"}},
		"Access":   {Ref: access, Attrs: map[string]string{"Id": access}},
		"Headers":  {Ref: headers, Attrs: map[string]string{"Id": headers, "LastModifiedTime": "2026-01-01T00:00:00Z"}},
		"Index": {Ref: "arn:aws:cloudfront::123456789012:function/dsr-local-Index",
			Attrs: map[string]string{"FunctionARN": "arn:aws:cloudfront::123456789012:function/dsr-local-Index", "Stage": "LIVE"}},
	}
	if diff := cmp.Diff(want, pr.names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(role, "AROA") || len(role) != 21 || !strings.HasPrefix(policy, "ANPA") {
		t.Errorf("RoleId %q, PolicyId %q: want AROA.../ANPA... ids", role, policy)
	}
	if got := pr.ofType(tmpl, typeQueue); len(got) != 0 {
		t.Errorf("queues to create = %v, want none: their condition is false", got)
	}
}

func TestBucketConfigurationConditional(t *testing.T) {
	const src = `
Parameters: {KeyParam: {Type: String, Default: "%s"}}
Conditions:
  UseKey: !Equals [!Ref KeyParam, "true"]
Resources:
  Key: {Type: "AWS::KMS::Key"}
  Logs: {Type: "AWS::S3::Bucket", Condition: UseKey}
  B:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: !If [UseKey, "aws:kms", AES256]
              KMSMasterKeyID: !If [UseKey, !GetAtt Key.Arn, !Ref AWS::NoValue]
            BucketKeyEnabled: !If [UseKey, true, !Ref AWS::NoValue]
      LoggingConfiguration: !If
        - UseKey
        - {DestinationBucketName: !Ref Logs, LogFilePrefix: b/, TargetObjectKeyFormat: {SimplePrefix: {}}}
        - !Ref AWS::NoValue
      Tags: [{Key: k, Value: v}]
`
	tests := []struct {
		key  string
		want *s3types.ServerSideEncryptionConfiguration
	}{
		{"true", &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms},
			BucketKeyEnabled:                   aws.Bool(true),
		}}}},
		{"false", &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
		}}}},
	}
	for _, tt := range tests {
		t.Run("UseKey="+tt.key, func(t *testing.T) {
			pr, tmpl := testProvisioner(t, fmt.Sprintf(src, tt.key))
			pr.nameUnmanaged(tmpl)
			if pr.enabled["Logs"] {
				pr.names["Logs"] = samtemplate.Physical{Ref: "dsr-local-logs"}
			}
			var p bucketProps
			if err := pr.decode(tmpl.Resources["B"].Properties, &p); err != nil {
				t.Fatal(err)
			}
			if got := p.LoggingConfiguration != nil; got != pr.enabled["Logs"] {
				t.Errorf("LoggingConfiguration decoded: %v, want %v", got, pr.enabled["Logs"])
			}
			got, err := bucketConfiguration(p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.encryption, sdkOpts); diff != "" {
				t.Errorf("encryption (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKeyProperties checks that the key properties of queues and secrets
// decode and have no local effect.
func TestKeyProperties(t *testing.T) {
	pr, tmpl := testProvisioner(t, `
Resources:
  Key: {Type: "AWS::KMS::Key"}
  Q:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 30, KmsMasterKeyId: !Ref Key, KmsDataKeyReusePeriodSeconds: "300"}
  S:
    Type: AWS::SecretsManager::Secret
    Properties: {SecretString: x, KmsKeyId: !GetAtt Key.Arn}
  Bad:
    Type: AWS::SQS::Queue
    Properties: {KmsDataKeyReusePeriodSeconds: soon}
`)
	pr.nameUnmanaged(tmpl)
	var q queueProps
	if err := pr.decode(tmpl.Resources["Q"].Properties, &q); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"VisibilityTimeout": "30"}, queueAttributes(q)); diff != "" {
		t.Errorf("queueAttributes (-want +got):\n%s", diff)
	}
	var s secretProps
	if err := pr.decode(tmpl.Resources["S"].Properties, &s); err != nil {
		t.Fatal(err)
	}
	if v, err := secretValue(s); err != nil || v != "x" {
		t.Errorf("secretValue = %q, %v; want x", v, err)
	}
	if err := pr.decode(tmpl.Resources["Bad"].Properties, &q); err == nil || !strings.Contains(err.Error(), `"soon" is not an integer`) {
		t.Errorf("decode Bad: err = %v, want not an integer", err)
	}
}
