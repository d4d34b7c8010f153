package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.yaml.in/yaml/v3"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// tableWait bounds the wait for a table to become ACTIVE.
const tableWait = 2 * time.Minute

// tableProps are the supported properties of an AWS::DynamoDB::Table.
type tableProps struct {
	BillingMode                      string
	AttributeDefinitions             []attributeDefinition
	KeySchema                        []keyElement
	GlobalSecondaryIndexes           []globalIndex
	ProvisionedThroughput            *throughput
	SSESpecification                 *sseSpecification
	StreamSpecification              *struct{ StreamViewType string }
	TimeToLiveSpecification          *ttlSpecification
	PointInTimeRecoverySpecification *struct{ PointInTimeRecoveryEnabled *cfnBool }
	Tags                             json.RawMessage // no local effect
	DeletionProtectionEnabled        json.RawMessage // no local effect
}

type attributeDefinition struct{ AttributeName, AttributeType string }

type keyElement struct{ AttributeName, KeyType string }

type throughput struct{ ReadCapacityUnits, WriteCapacityUnits cfnInt }

type globalIndex struct {
	IndexName             string
	KeySchema             []keyElement
	Projection            projection
	ProvisionedThroughput *throughput
}

type projection struct {
	ProjectionType   string
	NonKeyAttributes []string
}

// sseSpecification is a table's SSESpecification. KMSMasterKeyId is not
// applied: KMS keys are deployed-only, so the key never exists locally, and
// a table with SSEType KMS uses the AWS managed key instead.
type sseSpecification struct {
	SSEEnabled     cfnBool
	SSEType        string
	KMSMasterKeyId string
}

type ttlSpecification struct {
	AttributeName string
	Enabled       cfnBool
}

// createTableInput translates a table's properties to a CreateTable request.
func createTableInput(name string, p tableProps) (*dynamodb.CreateTableInput, error) {
	if len(p.KeySchema) == 0 {
		return nil, errors.New("no KeySchema")
	}
	in := &dynamodb.CreateTableInput{
		TableName:             aws.String(name),
		BillingMode:           types.BillingMode(p.BillingMode),
		KeySchema:             keySchema(p.KeySchema),
		ProvisionedThroughput: p.ProvisionedThroughput.sdk(),
	}
	if in.BillingMode == "" {
		in.BillingMode = types.BillingModeProvisioned
	}
	if in.BillingMode == types.BillingModeProvisioned && in.ProvisionedThroughput == nil {
		return nil, errors.New("BillingMode PROVISIONED needs ProvisionedThroughput")
	}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range p.GlobalSecondaryIndexes {
		gsi := types.GlobalSecondaryIndex{
			IndexName:             aws.String(g.IndexName),
			KeySchema:             keySchema(g.KeySchema),
			Projection:            &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType)},
			ProvisionedThroughput: g.ProvisionedThroughput.sdk(),
		}
		if len(g.Projection.NonKeyAttributes) > 0 {
			gsi.Projection.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	if s := p.SSESpecification; s != nil {
		in.SSESpecification = &types.SSESpecification{Enabled: aws.Bool(bool(s.SSEEnabled)), SSEType: types.SSEType(s.SSEType)}
	}
	if s := p.StreamSpecification; s != nil {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(s.StreamViewType)}
	}
	return in, nil
}

func keySchema(ks []keyElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	return out
}

func (t *throughput) sdk() *types.ProvisionedThroughput {
	if t == nil {
		return nil
	}
	return &types.ProvisionedThroughput{
		ReadCapacityUnits:  aws.Int64(int64(t.ReadCapacityUnits)),
		WriteCapacityUnits: aws.Int64(int64(t.WriteCapacityUnits)),
	}
}

// table creates an AWS::DynamoDB::Table, or checks the existing one, and
// waits until it is ACTIVE; then it applies the time to live and
// point-in-time recovery settings, which CreateTable does not take.
func (pr *provisioner) table(ctx context.Context, id string, props *yaml.Node) error {
	var p tableProps
	if err := pr.decode(props, &p); err != nil {
		return err
	}
	name := pr.physicalName(id)
	in, err := createTableInput(name, p)
	if err != nil {
		return err
	}
	c := dynamodb.NewFromConfig(pr.cfg)
	table, err := createOrCheckTable(ctx, c, name, in)
	if err != nil {
		return err
	}
	if s := p.TimeToLiveSpecification; s != nil {
		if err := ensureTTL(ctx, c, name, s); err != nil {
			return err
		}
	}
	if s := p.PointInTimeRecoverySpecification; s != nil && s.PointInTimeRecoveryEnabled != nil {
		if err := setPointInTimeRecovery(ctx, c, name, s.PointInTimeRecoveryEnabled); err != nil {
			return err
		}
	}
	phys := samtemplate.Physical{Ref: name, Attrs: map[string]string{"Arn": aws.ToString(table.TableArn)}}
	if table.LatestStreamArn != nil {
		phys.Attrs["StreamArn"] = *table.LatestStreamArn
	}
	pr.names[id] = phys
	return nil
}

// createOrCheckTable creates table name as in asks, unless it exists, waits
// until it is ACTIVE and returns its description. An existing table must
// have the keys and indexes in asks for: the local stack never alters a
// table, so a changed template needs the table deleted.
func createOrCheckTable(ctx context.Context, c *dynamodb.Client, name string, in *dynamodb.CreateTableInput) (*types.TableDescription, error) {
	if _, err := c.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			return nil, fmt.Errorf("create table %s: %w", name, err)
		}
	}
	out, err := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 2*time.Second
	}).WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWait)
	if err != nil {
		return nil, fmt.Errorf("wait for table %s: %w", name, err)
	}
	if err := checkTable(out.Table, in); err != nil {
		return nil, fmt.Errorf("table %s exists but differs from the template (delete it to recreate it): %w", name, err)
	}
	return out.Table, nil
}

// setPointInTimeRecovery applies a PointInTimeRecoverySpecification's
// PointInTimeRecoveryEnabled to table name.
func setPointInTimeRecovery(ctx context.Context, c *dynamodb.Client, name string, enabled *cfnBool) error {
	_, err := c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{
		TableName: aws.String(name),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: enabled.ptr(),
		},
	})
	if err != nil {
		return fmt.Errorf("update point-in-time recovery of table %s: %w", name, err)
	}
	return nil
}

// checkTable reports how an existing table differs from the CreateTable
// request in its key schema and global secondary indexes.
func checkTable(got *types.TableDescription, want *dynamodb.CreateTableInput) error {
	if !sameKeys(got.KeySchema, want.KeySchema) {
		return errors.New("key schema differs")
	}
	indexes := map[string][]types.KeySchemaElement{}
	for _, g := range got.GlobalSecondaryIndexes {
		indexes[aws.ToString(g.IndexName)] = g.KeySchema
	}
	for _, g := range want.GlobalSecondaryIndexes {
		ks, ok := indexes[aws.ToString(g.IndexName)]
		if !ok {
			return fmt.Errorf("index %s is missing", aws.ToString(g.IndexName))
		}
		if !sameKeys(ks, g.KeySchema) {
			return fmt.Errorf("key schema of index %s differs", aws.ToString(g.IndexName))
		}
	}
	return nil
}

func sameKeys(a, b []types.KeySchemaElement) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if aws.ToString(a[i].AttributeName) != aws.ToString(b[i].AttributeName) || a[i].KeyType != b[i].KeyType {
			return false
		}
	}
	return true
}

// ensureTTL applies a TimeToLiveSpecification unless the table already has it;
// DynamoDB rejects an update that changes nothing.
func ensureTTL(ctx context.Context, c *dynamodb.Client, name string, s *ttlSpecification) error {
	cur, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe time to live of table %s: %w", name, err)
	}
	enabled := false
	attr := ""
	if d := cur.TimeToLiveDescription; d != nil {
		enabled = d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling
		attr = aws.ToString(d.AttributeName)
	}
	if enabled == bool(s.Enabled) && (!enabled || attr == s.AttributeName) {
		return nil
	}
	_, err = c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(s.AttributeName),
			Enabled:       aws.Bool(bool(s.Enabled)),
		},
	})
	if err != nil {
		return fmt.Errorf("update time to live of table %s: %w", name, err)
	}
	return nil
}
