//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/retention"
)

// TestRestrictionEndsEndToEnd: ada erases; her 2020 invoice is restricted
// until 2029-01-01 (8 years, Art. 17(3)(b)). The retention job fired in
// 2031 deletes it (Art. 5(1)(e), 17(1)) and nothing else of hers, records
// it on the erasure's trail once, and tells the recipient of her billing
// data (Art. 19) without naming her again; fired once more, it does neither
// again.
func TestRestrictionEndsEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	ctx := context.Background()
	erasure := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": seed.Ada})
	fetchCertificate(t, c, erasure, 90*time.Second)
	receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 3, 20*time.Second) // the erasure's own notices
	_, hasher := provenanceOf(t, cfg, stack)
	adaKey := hasher.Subject(seed.Ada)
	if n := takeCensus(t, cfg, stack.Registry)["billing"][adaKey]; n != [2]int{4, 4} {
		t.Fatalf("ada's restricted invoices after the erasure: %v, want 4", n)
	}

	fire := func(at time.Time) retention.Summary {
		t.Helper()
		out, err := stack.Fire(ctx, "RetentionFunction", at)
		if err != nil {
			t.Fatal(err)
		}
		var sum retention.Summary
		if err := json.Unmarshal(out, &sum); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if sum := fire(time.Date(2028, 12, 31, 12, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 0 {
		t.Errorf("fired on 2028-12-31: %+v, want nothing restricted deleted before its day", sum)
	}
	sum := fire(time.Date(2031, 1, 2, 3, 0, 0, 0, time.UTC))
	if sum.RestrictedDeleted != 1 {
		t.Errorf("fired in 2031: %+v, want the 2020 invoice deleted", sum)
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 3)
	msgs := receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 1, 20*time.Second)
	var n dsr.RecipientNotice
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &n); err != nil || n.Recipient != "Tax Advisers LLP" || n.Email != "" || n.RefersTo == "" ||
		n.RequestID != erasure.ID || len(n.Purposes) != 1 || n.Purposes[0].Action != dsr.ActionDelete {
		t.Errorf("notice %s: %v; want one to Tax Advisers LLP, deleted, without the address", aws.ToString(msgs[0].Body), err)
	}
	trail := func() []dsr.AuditEntry {
		t.Helper()
		entries, err := (&dynamo.Audit{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["AuditTable"].Ref}).Entries(ctx, erasure.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ended []dsr.AuditEntry
		for _, e := range entries {
			if e.Action == dsr.AuditRestrictionEnded {
				ended = append(ended, e)
			}
		}
		return ended
	}
	if ended := trail(); len(ended) != 1 || ended[0].Detail != "purpose billing: the records restricted until 2029-01-01 deleted, their statutory duty having ended (Art. 17(1), 17(3)(b)); read back; 1 recipient(s) told (Art. 19)" {
		t.Errorf("the erasure's trail: %+v, want one restriction_ended", ended)
	}
	if sum := fire(time.Date(2031, 1, 3, 3, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 0 || len(trail()) != 1 {
		t.Errorf("fired again: %+v, %d steps", sum, len(trail()))
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 3)
}
