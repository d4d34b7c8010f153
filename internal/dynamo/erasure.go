package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// RestrictionAttribute is the attribute that marks a restricted item: a map
// of reason, requestId, since and (for a statutory duty) until. The CRM must
// use a marked item for nothing but the stated reason.
const RestrictionAttribute = "dsrRestriction"

// keySchema returns the names of table's primary key attributes, asked of
// DynamoDB once per table and process.
func (c *Contacts) keySchema(ctx context.Context, table string) ([]string, error) {
	if v, ok := c.keys.Load(table); ok {
		return v.([]string), nil
	}
	out, err := c.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", table, err)
	}
	var names []string
	for _, k := range out.Table.KeySchema {
		names = append(names, aws.ToString(k.AttributeName))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("describe %s: no key schema", table)
	}
	c.keys.Store(table, names)
	return names, nil
}

// keyRefs projects items on the table's key and encodes each key as an
// opaque reference (the cursor encoding: typed, no personal data beyond the
// table's own key).
func keyRefs(items []map[string]types.AttributeValue, keyNames []string) ([]string, error) {
	refs := make([]string, 0, len(items))
	for _, item := range items {
		k := make(map[string]types.AttributeValue, len(keyNames))
		for _, n := range keyNames {
			v, ok := item[n]
			if !ok {
				return nil, fmt.Errorf("item without key attribute %q", n)
			}
			k[n] = v
		}
		ref, err := EncodeCursor(k)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

func projection(keyNames []string, extra ...string) *expression.ProjectionBuilder {
	var proj expression.ProjectionBuilder
	for _, n := range append(append([]string(nil), keyNames...), extra...) {
		proj = proj.AddNames(expression.Name(n))
	}
	return &proj
}

// KeysPage returns the keys of one page of subject s's items in purpose p's
// table from cursor on, and the cursor of the next page ("" after the last).
// It reads the subject index like FindPage, and confirms each item with a
// strongly consistent read (owned), so that an item whose address changed is
// never erased for its old owner.
func (c *Contacts) KeysPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return nil, "", fmt.Errorf("find %s keys: %w", p.Name, err)
	}
	out, next, err := c.query(ctx, p, s.Key, cursor, projection(keyNames))
	if err != nil {
		return nil, "", fmt.Errorf("find %s keys: %w", p.Name, err)
	}
	refs, err := keyRefs(out.Items, keyNames)
	if err != nil {
		return nil, "", fmt.Errorf("find %s keys: %w", p.Name, err)
	}
	byRef, err := c.owned(ctx, p, keyNames, refs, s, true)
	if err != nil {
		return nil, "", fmt.Errorf("find %s keys: %w", p.Name, err)
	}
	return slices.DeleteFunc(refs, func(ref string) bool { _, ok := byRef[ref]; return !ok }), next, nil
}

// Delete deletes the items of refs from p's table in batches of 25,
// retrying unprocessed items with backoff and jitter. Deleting an item that
// is gone already is no error.
func (c *Contacts) Delete(ctx context.Context, p dsr.Purpose, refs []string) error {
	reqs := make([]types.WriteRequest, 0, len(refs))
	for _, ref := range refs {
		k, err := DecodeCursor(ref)
		if err != nil {
			return fmt.Errorf("delete %s items: %w", p.Name, err)
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
	}
	if err := batchWrite(ctx, c.Client, p.Table, reqs); err != nil {
		return fmt.Errorf("delete %s items: %w", p.Name, err)
	}
	return nil
}

// restrictConcurrency bounds the UpdateItem calls of Restrict in flight.
const restrictConcurrency = 8

// Restrict marks the items of refs in p's table with r (see
// RestrictionAttribute), one conditional UpdateItem each, a few in parallel.
// An item deleted meanwhile is skipped; a restriction that does not override
// (a pending objection) leaves an existing mark alone. A statutory
// restriction is restrictStatutory's.
func (c *Contacts) Restrict(ctx context.Context, p dsr.Purpose, refs []string, r dsr.Restriction) error {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return fmt.Errorf("restrict %s items: %w", p.Name, err)
	}
	if r.Reason == dsr.RestrictionStatutory {
		if err := c.restrictStatutory(ctx, p, keyNames, refs, r); err != nil {
			return fmt.Errorf("restrict %s items: %w", p.Name, err)
		}
		return nil
	}
	expr, err := restrictExpression(r, r.Until, keyNames[0])
	if err != nil {
		return fmt.Errorf("restrict %s items: %w", p.Name, err)
	}
	err = inParallel(ctx, restrictConcurrency, len(refs), func(ctx context.Context, i int) error {
		k, err := DecodeCursor(refs[i])
		if err != nil {
			return err
		}
		return skipGone(c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &p.Table, Key: k,
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}))
	})
	if err != nil {
		return fmt.Errorf("restrict %s items: %w", p.Name, err)
	}
	return nil
}

// skipGone is err, except that a failed condition (the item was deleted or
// changed meanwhile: nothing to do) is none.
func skipGone[T any](_ T, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return err
}

// restrictStatutory puts erasure r's statutory restriction on the items of
// refs: each lasts until its own duty ends (dsr.Restriction.ItemUntil, from
// its RetentionFrom date). An item whose duty has ended already is deleted
// (dsr.Restriction.PastDuty, Art. 17(1)); the others get their due-list
// entry first (so no restriction is ever without one) and then, in one
// conditional UpdateItem each, the mark, the subject key in place of the
// identifier and the removal of every attribute the duty does not cover
// (dsr.Purpose.Retains). Repeated, it finds them so and changes nothing.
func (c *Contacts) restrictStatutory(ctx context.Context, p dsr.Purpose, keyNames, refs []string, r dsr.Restriction) error {
	items, err := c.batchGet(ctx, p.Table, keyNames, refs) // every attribute
	if err != nil {
		return err
	}
	var past []string
	var keep []restricted
	for _, item := range items {
		ref, err := keyRefs([]map[string]types.AttributeValue{item}, keyNames)
		if err != nil {
			return err
		}
		date, _ := item[p.RetentionFrom].(*types.AttributeValueMemberS)
		until := r.ItemUntil(p, stringOf(date), markUntil(item))
		if r.PastDuty(until) {
			past = append(past, ref[0])
			continue
		}
		keep = append(keep, restricted{ref: ref[0], item: item, until: until})
	}
	if err := c.Delete(ctx, p, past); err != nil {
		return err
	}
	if err := c.addDue(ctx, p, r, keep); err != nil {
		return err
	}
	return inParallel(ctx, restrictConcurrency, len(keep), func(ctx context.Context, i int) error {
		in, err := statutoryUpdate(p, keyNames, keep[i], r)
		if err != nil || in == nil {
			return err
		}
		return skipGone(c.Client.UpdateItem(ctx, in))
	})
}

// restricted is an item a statutory restriction keeps until until.
type restricted struct {
	ref   string
	item  map[string]types.AttributeValue
	until time.Time
}

// statutoryUpdate is the UpdateItem that restricts it.item under r until
// it.until: the mark set, the identifier replaced by the subject key, every
// attribute the duty does not cover removed; on condition that the item is
// still the subject's (its subject key unchanged). nil: the item holds no
// subject key, so nothing can be kept of it (never the case for an item
// KeysPage found).
func statutoryUpdate(p dsr.Purpose, keyNames []string, it restricted, r dsr.Restriction) (*dynamodb.UpdateItemInput, error) {
	sk, ok := it.item[p.SubjectKeyAttribute].(*types.AttributeValueMemberS)
	if !ok {
		return nil, nil
	}
	upd := expression.Set(expression.Name(RestrictionAttribute), expression.Value(markValue(r, it.until))).
		Set(expression.Name(p.Identifier), expression.Value(sk.Value))
	for name := range it.item {
		if !p.Retains(name) && name != RestrictionAttribute && !slices.Contains(keyNames, name) {
			upd = upd.Remove(expression.Name(name))
		}
	}
	cond := expression.Name(p.SubjectKeyAttribute).Equal(expression.Value(sk.Value))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	k := make(map[string]types.AttributeValue, len(keyNames))
	for _, n := range keyNames {
		k[n] = it.item[n]
	}
	return &dynamodb.UpdateItemInput{
		TableName: &p.Table, Key: k, UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}

// markUntil is the until of item's statutory mark (zero: none).
func markUntil(item map[string]types.AttributeValue) time.Time {
	m, ok := item[RestrictionAttribute].(*types.AttributeValueMemberM)
	if !ok {
		return time.Time{}
	}
	if reason, _ := m.Value["reason"].(*types.AttributeValueMemberS); stringOf(reason) != dsr.RestrictionStatutory {
		return time.Time{}
	}
	u, _ := m.Value["until"].(*types.AttributeValueMemberS)
	t, _ := parseTime(stringOf(u))
	return t
}

func stringOf(v *types.AttributeValueMemberS) string {
	if v == nil {
		return ""
	}
	return v.Value
}

// Unrestrict lifts the marks request requestID put on the items of refs in
// p's table, but a statutory one: an overridden objection's, or a lifted
// restriction's (whatever its ground). Marks of other requests, statutory
// marks, and items gone meanwhile, are left alone.
func (c *Contacts) Unrestrict(ctx context.Context, p dsr.Purpose, refs []string, requestID string) error {
	mark := expression.Name(RestrictionAttribute)
	cond := expression.Name(RestrictionAttribute + ".requestId").Equal(expression.Value(requestID)).
		And(expression.Name(RestrictionAttribute + ".reason").NotEqual(expression.Value(dsr.RestrictionStatutory)))
	expr, err := expression.NewBuilder().WithUpdate(expression.Remove(mark)).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("unrestrict %s items: %w", p.Name, err)
	}
	err = inParallel(ctx, restrictConcurrency, len(refs), func(ctx context.Context, i int) error {
		k, err := DecodeCursor(refs[i])
		if err != nil {
			return err
		}
		_, err = c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &p.Table, Key: k, UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("unrestrict %s items: %w", p.Name, err)
	}
	return nil
}

// restrictExpression sets the restriction mark r (until until, if not zero)
// on an item that exists (keyName), replacing an existing mark only if r
// overrides.
func restrictExpression(r dsr.Restriction, until time.Time, keyName string) (expression.Expression, error) {
	attr := expression.Name(RestrictionAttribute)
	val := expression.Value(markValue(r, until))
	upd := expression.Set(attr, val)
	if !r.Overrides {
		upd = expression.Set(attr, expression.IfNotExists(attr, val))
	}
	return expression.NewBuilder().WithUpdate(upd).WithCondition(expression.AttributeExists(expression.Name(keyName))).Build()
}

// markValue is the restriction mark r, until until (if not zero).
func markValue(r dsr.Restriction, until time.Time) *types.AttributeValueMemberM {
	mark := map[string]types.AttributeValue{
		"reason":    &types.AttributeValueMemberS{Value: r.Reason},
		"requestId": &types.AttributeValueMemberS{Value: r.RequestID},
		"since":     &types.AttributeValueMemberS{Value: formatTime(r.Since)},
	}
	if !until.IsZero() {
		mark["until"] = &types.AttributeValueMemberS{Value: formatTime(until)}
	}
	return &types.AttributeValueMemberM{Value: mark}
}

// inParallel calls fn for 0..n-1, at most limit at a time, and returns the
// first error; after an error no new call starts and ctx is canceled.
func inParallel(parent context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		sem      = make(chan struct{}, limit)
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return parent.Err()
}

// Survey reads back every item of subject s in p's table: it queries the
// subject index, every page, then reads each item found from the table with
// strongly consistent reads (owned), so an index that lags behind a deletion
// does not count a deleted item as present. Items are returned in key order.
func (c *Contacts) Survey(ctx context.Context, p dsr.Purpose, s dsr.Subject) ([]dsr.ItemRef, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", p.Name, err)
	}
	var candidates []string
	for cursor := ""; ; {
		out, next, err := c.query(ctx, p, s.Key, cursor, projection(keyNames))
		if err != nil {
			return nil, fmt.Errorf("read back %s: %w", p.Name, err)
		}
		refs, err := keyRefs(out.Items, keyNames)
		if err != nil {
			return nil, fmt.Errorf("read back %s: %w", p.Name, err)
		}
		candidates = append(candidates, refs...)
		if next == "" {
			break
		}
		cursor = next
	}
	found, err := c.consistentGet(ctx, p, keyNames, candidates, s)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", p.Name, err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Key < found[j].Key })
	return found, nil
}

// consistentGet reads refs from p's table, strongly consistent, and says of
// each item that still exists and is still the subject's whether it is
// restricted and until when.
func (c *Contacts) consistentGet(ctx context.Context, p dsr.Purpose, keyNames, refs []string, s dsr.Subject) ([]dsr.ItemRef, error) {
	byRef, err := c.owned(ctx, p, keyNames, refs, s, true)
	if err != nil {
		return nil, err
	}
	found := make([]dsr.ItemRef, 0, len(byRef))
	for ref, item := range byRef {
		it := dsr.ItemRef{Key: ref}
		if mark, ok := item[RestrictionAttribute]; ok {
			it.Restricted = true
			if m, ok := mark.(*types.AttributeValueMemberM); ok {
				if u, ok := m.Value["until"].(*types.AttributeValueMemberS); ok {
					it.Until, _ = parseTime(u.Value)
				}
			}
		}
		found = append(found, it)
	}
	return found, nil
}

// batchGet reads the items of refs from table, strongly consistent,
// projecting the key and extra. Items that do not exist are not returned.
func (c *Contacts) batchGet(ctx context.Context, table string, keyNames, refs []string, extra ...string) ([]map[string]types.AttributeValue, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(refs))
	for _, ref := range refs {
		k, err := DecodeCursor(ref)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	var proj *expression.ProjectionBuilder // every attribute
	if len(extra) > 0 {
		proj = projection(keyNames, extra...)
	}
	return batchGetItems(ctx, c.Client, table, keys, proj)
}

// batchGetItems reads the items of keys from table with BatchGetItem, 100
// keys a call, strongly consistent, projecting proj, and retrying
// unprocessed keys with backoff and jitter. Items that do not exist are not
// returned.
func batchGetItems(ctx context.Context, c API, table string, keys []map[string]types.AttributeValue, proj *expression.ProjectionBuilder) ([]map[string]types.AttributeValue, error) {
	var expr expression.Expression
	if proj != nil {
		var err error
		if expr, err = expression.NewBuilder().WithProjection(*proj).Build(); err != nil {
			return nil, err
		}
	}
	var items []map[string]types.AttributeValue
	for start := 0; start < len(keys); start += 100 {
		pending := map[string]types.KeysAndAttributes{table: {
			Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(true),
			ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(),
		}}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, err
			}
			items = append(items, out.Responses[table]...)
			pending = out.UnprocessedKeys
		}
	}
	return items, nil
}

// backoff waits before retry attempt: up to 10 ms for attempt 0 (a retry
// after good progress), else exponential from 100 ms, capped at 5 s, with
// full jitter; or until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	d := 10 * time.Millisecond
	if attempt > 0 {
		d = min(50*time.Millisecond<<min(attempt, 10), 5*time.Second)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(rand.N(d) + time.Millisecond):
		return nil
	}
}

// writeConcurrency bounds the BatchWriteItem calls of one batchWrite in flight.
const writeConcurrency = 4

// batchWrite writes reqs to table in batches of 25, a few batches at a time,
// retrying unprocessed items until ctx ends: at once (with a little jitter)
// while DynamoDB processes at least half of what it is sent, with exponential
// backoff and full jitter while it processes less.
func batchWrite(ctx context.Context, c API, table string, reqs []types.WriteRequest) error {
	batches := (len(reqs) + 24) / 25
	return inParallel(ctx, writeConcurrency, batches, func(ctx context.Context, i int) error {
		pending := reqs[i*25 : min(i*25+25, len(reqs))]
		for slow := 0; len(pending) > 0; {
			out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: pending}})
			if err != nil {
				return err
			}
			left := out.UnprocessedItems[table]
			if len(left) == 0 {
				return nil
			}
			if 2*len(left) > len(pending) {
				slow++
			} else {
				slow = 0
			}
			pending = left
			if err := backoff(ctx, slow); err != nil {
				return err
			}
		}
		return nil
	})
}

// Backups returns the copies of p's table that outlive a deletion: its
// point-in-time recovery window, when enabled.
func (c *Contacts) Backups(ctx context.Context, p dsr.Purpose, deletedAt time.Time) ([]dsr.Copy, error) {
	copies, err := pitrCopies(ctx, c.Client, p.Table, p.Name, "the deleted items", deletedAt)
	if err != nil {
		return nil, fmt.Errorf("backups of %s: %w", p.Name, err)
	}
	return copies, nil
}

// pitrCopies describes table's point-in-time recovery window (when enabled)
// as a copy of what was deleted from it at deletedAt.
func pitrCopies(ctx context.Context, c API, table, resource, what string, deletedAt time.Time) ([]dsr.Copy, error) {
	out, err := c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: &table})
	if err != nil {
		return nil, err
	}
	d := out.ContinuousBackupsDescription
	if d == nil || d.PointInTimeRecoveryDescription == nil ||
		d.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusEnabled {
		return nil, nil
	}
	days := int(aws.ToInt32(d.PointInTimeRecoveryDescription.RecoveryPeriodInDays))
	if days == 0 {
		days = 35 // DynamoDB's default recovery period
	}
	until := deletedAt.UTC().AddDate(0, 0, days)
	return []dsr.Copy{{
		Kind: "point_in_time_recovery", Resource: resource,
		Detail: fmt.Sprintf("%s remain in the point-in-time recovery backups of the %s table, which are used for no processing, until its %d-day recovery window has passed", what, resource, days),
		Until:  &until,
	}}, nil
}
