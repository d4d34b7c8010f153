//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// retryFixture holds one resource of each service the stack calls, created
// through the proxy with no faults, and the clients that call them through it.
type retryFixture struct {
	t                     *testing.T
	ddb                   *dynamodb.Client
	streams               *dynamodbstreams.Client
	sqs                   *sqs.Client
	s3                    *s3.Client
	secrets               *secretsmanager.Client
	table, stream, bucket string
	queue, secret         string
}

func newRetryFixture(t *testing.T, cfg aws.Config) *retryFixture {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "retry-" + hex.EncodeToString(b)
	f := &retryFixture{
		t: t, ddb: dynamodb.NewFromConfig(cfg), streams: dynamodbstreams.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true
		}),
		secrets: secretsmanager.NewFromConfig(cfg), table: name, bucket: name,
	}
	ctx := context.Background()
	tbl, err := f.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &f.table, BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	must(t, err)
	f.stream = aws.ToString(tbl.TableDescription.LatestStreamArn)
	q, err := f.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name})
	must(t, err)
	f.queue = aws.ToString(q.QueueUrl)
	_, err = f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &f.bucket})
	must(t, err)
	sec, err := f.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &name, SecretString: aws.String("pepper")})
	must(t, err)
	f.secret = aws.ToString(sec.ARN)
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func item(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
}

// retryOp is one operation the stack calls, by the proxy's name for it.
type retryOp struct {
	name string
	call func(ctx context.Context) error
}

func (f *retryFixture) dynamoOps() []retryOp {
	tbl := &f.table
	return []retryOp{
		{"dynamodb.PutItem", func(ctx context.Context) error {
			_, err := f.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("a")})
			return err
		}},
		{"dynamodb.GetItem", func(ctx context.Context) error {
			_, err := f.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: item("a"), ConsistentRead: aws.Bool(true)})
			return err
		}},
		{"dynamodb.UpdateItem", func(ctx context.Context) error {
			_, err := f.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: item("a"), UpdateExpression: aws.String("SET n = :n"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "1"}}})
			return err
		}},
		{"dynamodb.Query", func(ctx context.Context) error {
			_, err := f.ddb.Query(ctx, &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("id = :id"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: "a"}}})
			return err
		}},
		{"dynamodb.Scan", func(ctx context.Context) error {
			_, err := f.ddb.Scan(ctx, &dynamodb.ScanInput{TableName: tbl})
			return err
		}},
		{"dynamodb.BatchWriteItem", func(ctx context.Context) error {
			_, err := f.ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
				f.table: {{PutRequest: &types.PutRequest{Item: item("b")}}}}})
			return err
		}},
		{"dynamodb.BatchGetItem", func(ctx context.Context) error {
			_, err := f.ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				f.table: {Keys: []map[string]types.AttributeValue{item("a")}}}})
			return err
		}},
		{"dynamodb.TransactWriteItems", func(ctx context.Context) error {
			_, err := f.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: tbl, Item: item("c")}}}})
			return err
		}},
		{"dynamodb.DeleteItem", func(ctx context.Context) error {
			_, err := f.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: item("b")})
			return err
		}},
		{"dynamodb.DescribeTable", func(ctx context.Context) error {
			_, err := f.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: tbl})
			return err
		}},
	}
}

func (f *retryFixture) streamOps() []retryOp {
	var shard, iterator *string
	return []retryOp{
		{"dynamodbstreams.DescribeStream", func(ctx context.Context) error {
			out, err := f.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &f.stream})
			if err == nil && len(out.StreamDescription.Shards) > 0 {
				shard = out.StreamDescription.Shards[0].ShardId
			}
			return err
		}},
		{"dynamodbstreams.GetShardIterator", func(ctx context.Context) error {
			out, err := f.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: &f.stream, ShardId: shard,
				ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
			if err == nil {
				iterator = out.ShardIterator
			}
			return err
		}},
		{"dynamodbstreams.GetRecords", func(ctx context.Context) error {
			_, err := f.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iterator})
			return err
		}},
	}
}

func (f *retryFixture) sqsOps() []retryOp {
	var handles []sqstypes.DeleteMessageBatchRequestEntry
	return []retryOp{
		{"sqs.SendMessage", func(ctx context.Context) error {
			_, err := f.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &f.queue, MessageBody: aws.String("m")})
			return err
		}},
		{"sqs.SendMessageBatch", func(ctx context.Context) error {
			_, err := f.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &f.queue, Entries: []sqstypes.SendMessageBatchRequestEntry{
				{Id: aws.String("1"), MessageBody: aws.String("m")}, {Id: aws.String("2"), MessageBody: aws.String("m")}}})
			return err
		}},
		{"sqs.ReceiveMessage", func(ctx context.Context) error {
			out, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &f.queue, MaxNumberOfMessages: 10})
			if err == nil {
				for i, m := range out.Messages {
					handles = append(handles, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(string(rune('a' + i))), ReceiptHandle: m.ReceiptHandle})
				}
			}
			return err
		}},
		{"sqs.DeleteMessageBatch", func(ctx context.Context) error {
			if len(handles) == 0 {
				return errors.New("nothing received to delete")
			}
			_, err := f.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &f.queue, Entries: handles[:1]})
			handles = handles[1:]
			return err
		}},
		{"sqs.GetQueueAttributes", func(ctx context.Context) error {
			_, err := f.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &f.queue, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
			return err
		}},
	}
}

func (f *retryFixture) s3Ops() []retryOp {
	key := aws.String("reports/x/report.json")
	return []retryOp{
		{"s3.PutObject", func(ctx context.Context) error {
			_, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &f.bucket, Key: key, Body: strings.NewReader(`{"a":1}`)})
			return err
		}},
		{"s3.GetObject", func(ctx context.Context) error {
			out, err := f.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &f.bucket, Key: key})
			if err == nil {
				out.Body.Close()
			}
			return err
		}},
		{"s3.HeadObject", func(ctx context.Context) error {
			_, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &f.bucket, Key: key})
			return err
		}},
		{"s3.ListObjectsV2", func(ctx context.Context) error {
			_, err := f.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &f.bucket, Prefix: aws.String("reports/")})
			return err
		}},
		{"s3.GET versioning", func(ctx context.Context) error {
			_, err := f.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &f.bucket})
			return err
		}},
		{"s3.DeleteObjects", func(ctx context.Context) error {
			_, err := f.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &f.bucket, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: key}}}})
			return err
		}},
	}
}

func (f *retryFixture) secretOps() []retryOp {
	return []retryOp{{"secretsmanager.GetSecretValue", func(ctx context.Context) error {
		_, err := f.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &f.secret})
		return err
	}}}
}

// TestFaultProxyRetriesEveryKind checks the premise of the fault tests: the
// SDK (its standard retryer, this module's version) retries every fault the
// proxy injects, a 500, a throttling error and a connection dropped after
// the call took effect, for each operation the local stack calls. Each
// operation, faulted once, succeeds on the SDK's next attempt. And it shows
// why the pipeline's conditional writes must recognize their own earlier
// write: a conditional put whose answer is lost is retried, and the retry
// fails its condition.
func TestFaultProxyRetriesEveryKind(t *testing.T) {
	proxy := startFaultProxy(t, os.Getenv("AWS_ENDPOINT_URL"), 1)
	cfg := awsConfig(t)
	cfg.BaseEndpoint = aws.String(proxy.URL)
	f := newRetryFixture(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ops := append(append(append(append(f.dynamoOps(), f.streamOps()...), f.sqsOps()...), f.s3Ops()...), f.secretOps()...)
	for _, kind := range []faultKind{faultServerError, faultThrottle, faultDrop} {
		for _, op := range ops {
			before := proxy.retriesOf(op.name, kind)
			proxy.force(op.name, kind)
			err := op.call(ctx)
			after := proxy.retriesOf(op.name, kind)
			if err != nil || after.faulted != before.faulted+1 || after.retried != before.retried+1 {
				t.Errorf("%s with %s: %v; faulted %d, retried %d (want one each)", op.name, kind, err, after.faulted-before.faulted, after.retried-before.retried)
			}
		}
	}
	proxy.force("dynamodb.PutItem", faultDrop)
	_, err := f.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: &f.table, Item: item("created-once"),
		ConditionExpression: aws.String("attribute_not_exists(id)")})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Errorf("a conditional create whose answer was dropped: %v, want its retry to fail the condition", err)
	}
	t.Logf("a conditional create whose answer was dropped after it took effect, on the SDK's retry: %v", err)
	proxy.figures().log(t, "retries")
}
