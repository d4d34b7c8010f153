//go:build integration

package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/storetest"
)

// TestContactsContract runs the purpose tables' contract against
// template.yaml's marketing table (its key, subject index and point-in-time
// recovery as deployed), shared by the cases, which keep to subjects and
// keys of their own.
func TestContactsContract(t *testing.T) {
	client, names := provisioned(t)
	table := names["MarketingTable"].Ref
	p := dsr.Purpose{Name: "marketing", Table: table, SubjectIndex: "by-subject", Identifier: "email", SubjectKeyAttribute: "dsrSubjectKey"}
	put := func(ctx context.Context, items ...map[string]any) error {
		avs := make([]map[string]types.AttributeValue, 0, len(items))
		for _, it := range items {
			av, err := attributevalue.MarshalMap(it)
			if err != nil {
				return err
			}
			avs = append(avs, av)
		}
		return dynamo.BatchPut(ctx, client, table, avs)
	}
	storetest.RunContacts(t, func(_ *testing.T, pageSize int) storetest.ContactTable {
		return storetest.ContactTable{Store: &dynamo.Contacts{Client: client, Limit: int32(pageSize), DueTable: names["ProvenanceTable"].Ref}, Purpose: p, Key: "contactId", Put: put}
	})
}
