package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// The due list of statutory restrictions lives in Contacts.DueTable (the
// provenance table): one item per restricted item, in a partition per month
// of its until ("restriction-due#2029-01", which no subject key can be),
// sorted by until day, purpose and reference. It has no expiry-day index
// entry and no time to live: nothing but the retention job's restriction
// phase (after the item is deleted) and a DPO's extension remove it.
const duePartitionPrefix = "restriction-due#"

// dueItem is a due-list entry as stored.
type dueItem struct {
	Partition string `dynamodbav:"subjectKey"`
	Entry     string `dynamodbav:"entry"`
	Purpose   string `dynamodbav:"purpose"`
	Ref       string `dynamodbav:"ref"`
	RequestID string `dynamodbav:"requestId"`
	Until     string `dynamodbav:"until"`
}

// DueMonth is the due-list partition (a UTC month, 2006-01) of an until.
func DueMonth(until time.Time) string { return until.UTC().Format("2006-01") }

func toDueItem(d dsr.DueRestriction) dueItem {
	return dueItem{
		Partition: duePartitionPrefix + DueMonth(d.Until), Entry: d.Until.UTC().Format(time.DateOnly) + "#" + d.Purpose + "#" + d.Ref,
		Purpose: d.Purpose, Ref: d.Ref, RequestID: d.RequestID, Until: formatTime(d.Until),
	}
}

// addDue writes the due-list entries of the items r restricts (each with
// its own until), before their marks: an entry whose item is not restricted
// after all is dropped when its day comes.
func (c *Contacts) addDue(ctx context.Context, p dsr.Purpose, r dsr.Restriction, items []restricted) error {
	if len(items) == 0 {
		return nil
	}
	if c.DueTable == "" {
		return errors.New("no due list (DueTable) for statutory restrictions")
	}
	out := make([]map[string]types.AttributeValue, 0, len(items))
	for _, it := range items {
		av, err := attributevalue.MarshalMap(toDueItem(dsr.DueRestriction{Purpose: p.Name, Ref: it.ref, RequestID: r.RequestID, Until: it.until}))
		if err != nil {
			return err
		}
		out = append(out, av)
	}
	return BatchPut(ctx, c.Client, c.DueTable, out)
}

// DueRestrictions returns up to limit entries of the due list's month
// (2006-01) whose day has come at now, in day order, read strongly
// consistent from the month's partition (a Query, never a Scan).
func (c *Contacts) DueRestrictions(ctx context.Context, month string, now time.Time, limit int) ([]dsr.DueRestriction, error) {
	tomorrow := now.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	kc := expression.Key("subjectKey").Equal(expression.Value(duePartitionPrefix + month)).
		And(expression.Key("entry").LessThan(expression.Value(tomorrow)))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("due restrictions: %w", err)
	}
	out, err := c.Client.Query(ctx, &dynamodb.QueryInput{
		TableName: &c.DueTable, KeyConditionExpression: expr.KeyCondition(), ConsistentRead: aws.Bool(true),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("due restrictions of %s: %w", month, err)
	}
	due := make([]dsr.DueRestriction, 0, len(out.Items))
	for _, av := range out.Items {
		var it dueItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("due restrictions of %s: %w", month, err)
		}
		until, err := parseTime(it.Until)
		if err != nil {
			return nil, fmt.Errorf("due restrictions of %s: %w", month, err)
		}
		due = append(due, dsr.DueRestriction{Purpose: it.Purpose, Ref: it.Ref, RequestID: it.RequestID, Until: until})
	}
	return due, nil
}

// DropDue deletes the due-list entries of due.
func (c *Contacts) DropDue(ctx context.Context, due []dsr.DueRestriction) error {
	reqs := make([]types.WriteRequest, 0, len(due))
	for _, d := range due {
		it := toDueItem(d)
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
			"subjectKey": &types.AttributeValueMemberS{Value: it.Partition}, "entry": &types.AttributeValueMemberS{Value: it.Entry},
		}}})
	}
	if err := batchWrite(ctx, c.Client, c.DueTable, reqs); err != nil {
		return fmt.Errorf("drop due restrictions: %w", err)
	}
	return nil
}

// EndRestrictions deletes the items of p's table the entries due name whose
// statutory restriction has ended at now: each only if it still bears the
// statutory mark with the entry's until (a DPO's extension, a newer
// restriction or an item changed meanwhile is left alone: its own entry
// comes later). It reads them back and returns the entries whose items are
// gone, each with the request whose mark it bore (an item gone already, by
// an earlier run, counts too). An item still there after its deletion is
// an error.
func (c *Contacts) EndRestrictions(ctx context.Context, p dsr.Purpose, due []dsr.DueRestriction, now time.Time) ([]dsr.DueRestriction, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return nil, fmt.Errorf("end %s restrictions: %w", p.Name, err)
	}
	byRef, err := c.marks(ctx, p, keyNames, due)
	if err != nil {
		return nil, fmt.Errorf("end %s restrictions: %w", p.Name, err)
	}
	var ended []dsr.DueRestriction
	var refs []string
	for _, d := range due {
		item, ok := byRef[d.Ref]
		if !ok {
			ended = append(ended, d)
			continue
		}
		if until := markUntil(item); !until.Equal(d.Until) || until.After(now) {
			continue
		}
		gone, err := c.deleteEnded(ctx, p, d)
		if err != nil {
			return nil, fmt.Errorf("end %s restrictions: %w", p.Name, err)
		}
		if gone {
			d.RequestID = markRequest(item, d.RequestID)
			ended, refs = append(ended, d), append(refs, d.Ref)
		}
	}
	left, err := c.batchGet(ctx, p.Table, keyNames, refs, RestrictionAttribute)
	if err != nil {
		return nil, fmt.Errorf("end %s restrictions: read back: %w", p.Name, err)
	}
	if len(left) > 0 {
		return nil, fmt.Errorf("end %s restrictions: read back: %d item(s) still there", p.Name, len(left))
	}
	return ended, nil
}

// marks reads the restriction marks of the items due names, by reference.
func (c *Contacts) marks(ctx context.Context, p dsr.Purpose, keyNames []string, due []dsr.DueRestriction) (map[string]map[string]types.AttributeValue, error) {
	refs := make([]string, 0, len(due))
	for _, d := range due {
		refs = append(refs, d.Ref)
	}
	items, err := c.batchGet(ctx, p.Table, keyNames, refs, RestrictionAttribute)
	if err != nil {
		return nil, err
	}
	byRef := make(map[string]map[string]types.AttributeValue, len(items))
	for _, item := range items {
		ref, err := keyRefs([]map[string]types.AttributeValue{item}, keyNames)
		if err != nil {
			return nil, err
		}
		byRef[ref[0]] = item
	}
	return byRef, nil
}

// deleteEnded deletes the item of d if it still bears the statutory mark
// until d.Until, and reports whether it did.
func (c *Contacts) deleteEnded(ctx context.Context, p dsr.Purpose, d dsr.DueRestriction) (bool, error) {
	k, err := DecodeCursor(d.Ref)
	if err != nil {
		return false, err
	}
	cond := expression.Name(RestrictionAttribute + ".reason").Equal(expression.Value(dsr.RestrictionStatutory)).
		And(expression.Name(RestrictionAttribute + ".until").Equal(expression.Value(formatTime(d.Until))))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, err
	}
	_, err = c.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &p.Table, Key: k, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}

// markRequest is the request whose mark item bears (def: none).
func markRequest(item map[string]types.AttributeValue, def string) string {
	if m, ok := item[RestrictionAttribute].(*types.AttributeValueMemberM); ok {
		if id, ok := m.Value["requestId"].(*types.AttributeValueMemberS); ok && id.Value != "" {
			return id.Value
		}
	}
	return def
}

// ExtendRestrictions moves to until the end of the statutory restriction
// erasure requestID put on the items of refs in p's table, for those whose
// mark ends earlier (a DPO's extension never shortens one, nor touches
// another request's mark), and returns how many it moved. Each gets its
// new due-list entry first, then one UpdateItem conditional on the mark it
// read (an item changed meanwhile is left); the old entry is dropped by the
// retention job, which finds the mark moved on.
func (c *Contacts) ExtendRestrictions(ctx context.Context, p dsr.Purpose, refs []string, requestID string, until time.Time) (int, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return 0, fmt.Errorf("extend %s restrictions: %w", p.Name, err)
	}
	due := make([]dsr.DueRestriction, 0, len(refs))
	for _, ref := range refs {
		due = append(due, dsr.DueRestriction{Purpose: p.Name, Ref: ref, RequestID: requestID})
	}
	byRef, err := c.marks(ctx, p, keyNames, due)
	if err != nil {
		return 0, fmt.Errorf("extend %s restrictions: %w", p.Name, err)
	}
	var moving []restricted
	for _, ref := range refs {
		item, ok := byRef[ref]
		if current := markUntil(item); ok && markRequest(item, "") == requestID && !current.IsZero() && current.Before(until) {
			moving = append(moving, restricted{ref: ref, item: item, until: current})
		}
	}
	var moved atomic.Int64
	err = c.addDue(ctx, p, dsr.Restriction{RequestID: requestID}, withUntil(moving, until))
	if err == nil {
		err = inParallel(ctx, restrictConcurrency, len(moving), func(ctx context.Context, i int) error {
			ok, err := c.moveUntil(ctx, p, moving[i], requestID, until)
			if ok {
				moved.Add(1)
			}
			return err
		})
	}
	if err != nil {
		return 0, fmt.Errorf("extend %s restrictions: %w", p.Name, err)
	}
	return int(moved.Load()), nil
}

// withUntil is items, each until until.
func withUntil(items []restricted, until time.Time) []restricted {
	out := make([]restricted, len(items))
	for i, it := range items {
		out[i] = restricted{ref: it.ref, item: it.item, until: until}
	}
	return out
}

// moveUntil sets the until of it's statutory mark to until, if the mark is
// still request's and ends at it.until, and reports whether it did.
func (c *Contacts) moveUntil(ctx context.Context, p dsr.Purpose, it restricted, request string, until time.Time) (bool, error) {
	k, err := DecodeCursor(it.ref)
	if err != nil {
		return false, err
	}
	name := expression.Name(RestrictionAttribute + ".until")
	cond := expression.Name(RestrictionAttribute + ".reason").Equal(expression.Value(dsr.RestrictionStatutory)).
		And(expression.Name(RestrictionAttribute + ".requestId").Equal(expression.Value(request))).
		And(name.Equal(expression.Value(formatTime(it.until))))
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(name, expression.Value(formatTime(until)))).WithCondition(cond).Build()
	if err != nil {
		return false, err
	}
	_, err = c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &p.Table, Key: k, UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}
