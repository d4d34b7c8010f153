package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// rectificationItem is a rectification's correction and decision, as the
// requests table stores them. Corrected goes with the plain address.
type rectificationItem struct {
	Attribute string `dynamodbav:"attribute"`
	Corrected string `dynamodbav:"corrected,omitempty"`
	Purpose   string `dynamodbav:"purpose,omitempty"`
	Evidence  string `dynamodbav:"evidence,omitempty"`
	Decision  string `dynamodbav:"decision"`
	Reasons   string `dynamodbav:"reasons,omitempty"`
}

func toRectificationItem(r *dsr.Rectification) *rectificationItem {
	if r == nil {
		return nil
	}
	return &rectificationItem{Attribute: r.Attribute, Corrected: r.Corrected, Purpose: r.Purpose, Evidence: r.Evidence, Decision: r.Decision, Reasons: r.Reasons}
}

func fromRectificationItem(it *rectificationItem) *dsr.Rectification {
	if it == nil {
		return nil
	}
	return &dsr.Rectification{Correction: dsr.Correction{Attribute: it.Attribute, Corrected: it.Corrected, Purpose: it.Purpose, Evidence: it.Evidence},
		Decision: it.Decision, Reasons: it.Reasons}
}

// forgetCorrected adds to upd, for a rectification, the removal of the
// corrected value, which goes with the plain address (forgetAddress).
func forgetCorrected(upd expression.UpdateBuilder, r *dsr.Request) expression.UpdateBuilder {
	if r.Rectification == nil || r.Rectification.Corrected == "" {
		return upd
	}
	return upd.Remove(expression.Name("rectification.corrected"))
}

// stripRectification adds to upd, for a rectification, the removal of its
// free texts, which may name people (StripIdentifiers): the evidence and
// the DPO's reasons, and the corrected value if still there.
func stripRectification(upd expression.UpdateBuilder, r *dsr.Request) expression.UpdateBuilder {
	if r.Rectification == nil {
		return upd
	}
	for _, name := range []string{"corrected", "evidence", "reasons"} {
		upd = upd.Remove(expression.Name("rectification." + name))
	}
	return upd
}

// DecideRectification records the DPO's decision d on rectification id,
// in progress with its decision pending, with its steps; a request not
// waiting for it (decided already, or not a rectification in progress) is
// EConflict, so that a decision is taken and recorded once.
func (s *Requests) DecideRectification(ctx context.Context, id string, d dsr.RectificationDecision, now time.Time, steps ...dsr.Step) error {
	upd := func() expression.UpdateBuilder {
		u := expression.Set(expression.Name("rectification.decision"), expression.Value(d.Outcome)).
			Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
		if d.Reasons != "" {
			u = u.Set(expression.Name("rectification.reasons"), expression.Value(d.Reasons))
		}
		return u
	}
	cond := expression.Name("rectification.decision").Equal(expression.Value(dsr.RectificationPending)).
		And(expression.Name("status").Equal(expression.Value(string(dsr.StatusInProgress))))
	holds := func(r *dsr.Request) bool { return r.AwaitingRectification() && r.Rectification != nil }
	return s.update(ctx, id, change{op: "decide rectification", upd: upd, cond: &cond, holds: holds}, steps)
}

// rectifyConcurrency bounds the UpdateItem calls of Rectify in flight.
const rectifyConcurrency = 8

// Rectify sets attribute c.Attribute to c.Corrected on the items of refs
// in p's table, one conditional UpdateItem each, a few in parallel: only an
// item that is still s's (its subject key), holds the attribute and does
// not hold the corrected value yet is changed, so a retry changes nothing
// twice and an item without the attribute does not gain it. Each change is
// read back from the update's answer. It returns how many items it changed.
func (c *Contacts) Rectify(ctx context.Context, p dsr.Purpose, s dsr.Subject, refs []string, corr dsr.Correction) (int, error) {
	attr := expression.Name(corr.Attribute)
	val := expression.Value(corr.Corrected)
	cond := expression.AttributeExists(attr).And(attr.NotEqual(val)).
		And(expression.Name(p.SubjectKeyAttribute).Equal(expression.Value(s.Key)))
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(attr, val)).WithCondition(cond).Build()
	if err != nil {
		return 0, fmt.Errorf("rectify %s items: %w", p.Name, err)
	}
	var mu sync.Mutex
	changed := 0
	err = inParallel(ctx, rectifyConcurrency, len(refs), func(ctx context.Context, i int) error {
		k, err := DecodeCursor(refs[i])
		if err != nil {
			return err
		}
		out, err := c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &p.Table, Key: k, UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ReturnValues: types.ReturnValueUpdatedNew,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &ccf):
			return nil // corrected already, without the attribute, or no longer the subject's
		case err != nil:
			return err
		}
		if v, ok := out.Attributes[corr.Attribute].(*types.AttributeValueMemberS); !ok || v.Value != corr.Corrected {
			return fmt.Errorf("item %d: the update's answer does not hold the corrected value", i)
		}
		mu.Lock()
		changed++
		mu.Unlock()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rectify %s items: %w", p.Name, err)
	}
	return changed, nil
}

// SurveyAttribute reads back attribute attr of every item of subject s in
// p's table: the subject index, every page, then each item read strongly
// consistent (owned), saying whether it holds attr and whether that is
// value. Items are in the index's order.
func (c *Contacts) SurveyAttribute(ctx context.Context, p dsr.Purpose, s dsr.Subject, attr, value string) ([]dsr.AttributeValue, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return nil, fmt.Errorf("read back %s of %s: %w", attr, p.Name, err)
	}
	var refs []string
	for cursor := ""; ; {
		out, next, err := c.query(ctx, p, s.Key, cursor, projection(keyNames))
		if err != nil {
			return nil, fmt.Errorf("read back %s of %s: %w", attr, p.Name, err)
		}
		page, err := keyRefs(out.Items, keyNames)
		if err != nil {
			return nil, fmt.Errorf("read back %s of %s: %w", attr, p.Name, err)
		}
		if refs = append(refs, page...); next == "" {
			break
		}
		cursor = next
	}
	byRef, err := c.owned(ctx, p, keyNames, refs, s, false)
	if err != nil {
		return nil, fmt.Errorf("read back %s of %s: %w", attr, p.Name, err)
	}
	found := make([]dsr.AttributeValue, 0, len(byRef))
	for _, ref := range refs {
		item, ok := byRef[ref]
		if !ok {
			continue
		}
		v, held := item[attr]
		sv, isString := v.(*types.AttributeValueMemberS)
		found = append(found, dsr.AttributeValue{Key: ref, Held: held, Matches: isString && sv.Value == value})
	}
	return found, nil
}
