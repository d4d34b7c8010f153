//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// TestCheckpointSavedThroughALostAnswer: the retention job's checkpoint
// save is a conditional write; when it takes effect and its answer is lost,
// the SDK's retry fails the condition. The save must still succeed (the
// run goes on) rather than take its own write for another run's and stop as
// superseded, as it did once under load in TestExtendRestrictionEndToEnd.
// Another run's save still stops it.
func TestCheckpointSavedThroughALostAnswer(t *testing.T) {
	proxy := startFaultProxy(t, os.Getenv("AWS_ENDPOINT_URL"), 1)
	cfg := awsConfig(t)
	cfg.BaseEndpoint = aws.String(proxy.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ddb := dynamodb.NewFromConfig(cfg)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	table := "checkpoint-" + hex.EncodeToString(b)
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &table, BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("subjectKey"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("entry"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("subjectKey"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("entry"), KeyType: types.KeyTypeRange},
		},
	})
	must(t, err)
	p := &dynamo.Provenance{Client: ddb, Table: table}

	for i, cp := range []dsr.RetentionCheckpoint{
		{Day: "2031-07-01"},             // the first save: a create
		{Day: "2031-07-01", Version: 1}, // a later one: conditional on the version
	} {
		before := proxy.retriesOf("dynamodb.PutItem", faultDrop)
		proxy.force("dynamodb.PutItem", faultDrop)
		v, err := p.SaveCheckpoint(ctx, cp)
		if after := proxy.retriesOf("dynamodb.PutItem", faultDrop); after.faulted != before.faulted+1 {
			t.Fatalf("save %d: the answer was not dropped (%+v)", i+1, after)
		}
		if err != nil || v != cp.Version+1 {
			t.Errorf("save %d whose answer was lost: version %d, %v; want %d, saved", i+1, v, err, cp.Version+1)
		}
	}
	got, err := p.Checkpoint(ctx)
	if err != nil || got.Version != 2 || got.Day != "2031-07-01" {
		t.Errorf("stored: %+v, %v; want version 2", got, err)
	}
	// A run that read version 1 is behind: it stops.
	if _, err := p.SaveCheckpoint(ctx, dsr.RetentionCheckpoint{Day: "2031-07-02", Version: 1}); dsr.ErrorCodeOf(err) != dsr.EConflict {
		t.Errorf("a save behind another run's: %v, want a conflict", err)
	}
}
