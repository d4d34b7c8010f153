package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// The request item keeps the head of its trail (dsr.AuditHead) in these
// attributes. Every change of a request and the entries that record it are
// one TransactWriteItems: the request's update, conditional on what the
// change requires and on the head being still the one read, which it moves
// to the last new entry; and a put of each entry, at a position still free.
// So a step is recorded exactly when its change happens, in the order the
// changes happen, and the trail of a request cannot lose its newest entries
// without the request's head saying so.
const (
	headSeq  = "auditSeq"
	headHash = "auditHash"
)

// trail writes changes of requests with their audit entries.
type trail struct {
	client   API
	requests string // the requests table
	audit    string // the audit table
}

// change is a write of a request item: an update (upd builds it afresh
// for each try, as builders share their state; nil: the head alone) under
// a condition (cond nil: only that the request exists), or the new item
// itself (put).
type change struct {
	op   string
	upd  func() expression.UpdateBuilder
	cond *expression.ConditionBuilder
	// holds is cond as a predicate of the request as read: a change whose
	// condition the read shows failed is refused without a transaction
	// (one canceled costs its writes, and see devstack's transactions);
	// cond stays the judge of what changed since.
	holds func(*dsr.Request) bool
	put   map[string]types.AttributeValue
	// forget, if set, says from the request as read whether the change
	// also removes its plain address (dsr.AddressNeeded), at at.
	forget func(*dsr.Request) bool
	at     time.Time
	// more, if set, adds to the update what depends on the request as
	// read (the head condition guarantees it is still so).
	more func(*dsr.Request, expression.UpdateBuilder) expression.UpdateBuilder
}

// conditionFailed is a change refused by its own condition: stored is the
// request as it is (nil: there is none).
type conditionFailed struct{ stored *dsr.Request }

func (conditionFailed) Error() string { return "the request changed meanwhile" }

// recordTries bounds the retries of a change whose trail another change of
// the same request moved meanwhile.
const recordTries = 8

// record applies c to request id and appends steps to its trail, in one
// transaction, and returns the request as it was before (with its new
// head; nil for a create). An update that
// took effect but whose answer was lost (and which the SDK retried)
// recognizes its own entries (their hashes cover the step's time to the
// nanosecond and the entry before); one that another change of the request
// beat is read again and tried again; one whose own condition failed is
// conditionFailed, as is a create of an id taken.
func (t trail) record(ctx context.Context, id string, c change, steps []dsr.Step) (*dsr.Request, error) {
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s: no audit step records it", c.op)
	}
	var cur *dsr.Request
	var head dsr.AuditHead
	for try := 0; try < recordTries; try++ {
		if c.put == nil { // a new request has no trail yet
			var err error
			if cur, head, err = t.read(ctx, id); err != nil {
				return nil, fmt.Errorf("%s: %w", c.op, err)
			}
			if cur == nil || c.holds != nil && !c.holds(cur) {
				return nil, conditionFailed{cur}
			}
		}
		entries := head.Chain(id, steps)
		in, err := t.transaction(id, c, cur, head, entries)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.op, err)
		}
		_, err = t.client.TransactWriteItems(ctx, in)
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.op, err)
			}
			return moved(cur, entries), nil
		}
		if c.put != nil {
			// A create's own write, or another request's, is told apart by
			// the caller (its status token).
			now, _, err := t.read(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.op, err)
			}
			return nil, conditionFailed{now}
		}
		now, nowHead, mine, err := t.after(ctx, id, entries)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", c.op, err)
		case mine:
			return moved(cur, entries), nil
		case nowHead == head && !conflicted(tce):
			return nil, conditionFailed{now}
		}
		if err := backoff(ctx, try); err != nil {
			return nil, fmt.Errorf("%s: %w", c.op, err)
		}
	}
	return nil, fmt.Errorf("%s of request %s: the request kept changing", c.op, id)
}

// moved is r (nil for a create) with its head moved to the last of entries.
func moved(r *dsr.Request, entries []dsr.AuditEntry) *dsr.Request {
	if r != nil {
		r.Trail = dsr.HeadOf(entries[len(entries)-1])
	}
	return r
}

// conflicted reports whether a transaction was canceled for another one in
// flight on the same items, rather than for a condition.
func conflicted(tce *types.TransactionCanceledException) bool {
	for _, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

// read returns request id (nil: none) and its trail's head: the head the
// request records, or for a request stored before it had one, the trail's
// last entry.
func (t trail) read(ctx context.Context, id string) (*dsr.Request, dsr.AuditHead, error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &t.requests, Key: key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dsr.AuditHead{}, fmt.Errorf("get request: %w", err)
	}
	if out.Item == nil {
		return nil, dsr.AuditHead{}, nil
	}
	r, err := unmarshalRequest(out.Item)
	if err != nil || r.Trail.Seq > 0 {
		return r, r.Trail, err
	}
	last, err := (&Audit{Client: t.client, Table: t.audit}).last(ctx, id)
	if err != nil || last == nil {
		return r, dsr.AuditHead{}, err
	}
	return r, dsr.HeadOf(*last), nil
}

// after reads request id after a canceled transaction that would have
// written entries: the request, its head, and whether the transaction took
// effect after all (its first entry is in the trail).
func (t trail) after(ctx context.Context, id string, entries []dsr.AuditEntry) (*dsr.Request, dsr.AuditHead, bool, error) {
	now, head, err := t.read(ctx, id)
	if err != nil || head.Seq < entries[0].Seq {
		return now, head, false, err
	}
	if last := entries[len(entries)-1]; head == dsr.HeadOf(last) {
		return now, head, true, nil
	}
	mine, err := (&Audit{Client: t.client, Table: t.audit}).holds(ctx, entries[0])
	return now, head, mine, err
}

// transaction is c, made from cur (the request as read; nil for a
// create), with the head moved from head to the last of entries, and the
// put of each entry.
func (t trail) transaction(id string, c change, cur *dsr.Request, head dsr.AuditHead, entries []dsr.AuditEntry) (*dynamodb.TransactWriteItemsInput, error) {
	last := entries[len(entries)-1]
	seq, hash := expression.Value(last.Seq), expression.Value(last.Hash)
	items := make([]types.TransactWriteItem, 0, 1+len(entries))
	if c.put != nil {
		item := maps.Clone(c.put)
		item[headSeq] = &types.AttributeValueMemberN{Value: fmt.Sprint(last.Seq)}
		item[headHash] = &types.AttributeValueMemberS{Value: last.Hash}
		put, err := conditionalPut(t.requests, item, expression.AttributeNotExists(expression.Name("id")))
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	} else {
		var upd expression.UpdateBuilder
		if c.upd != nil {
			upd = c.upd()
		}
		if c.more != nil {
			upd = c.more(cur, upd)
		}
		if c.forget != nil && cur.Email != "" && c.forget(cur) {
			upd = forgetAddress(upd, cur, c.at)
		}
		u, err := t.update(id, c, head, upd.Set(expression.Name(headSeq), seq).Set(expression.Name(headHash), hash))
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Update: u})
	}
	for _, e := range entries {
		item, err := attributevalue.MarshalMap(toAuditItem(e))
		if err != nil {
			return nil, err
		}
		put, err := conditionalPut(t.audit, item, expression.AttributeNotExists(expression.Name("seq")))
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	// The token makes a retried call within ten minutes answer as the first
	// did (where DynamoDB keeps it); after also recognizes its entries.
	return &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: aws.String(last.Hash[:36])}, nil
}

// update is the update of request id by upd, under c's condition, the
// request's existence, and head being still its trail's head.
func (t trail) update(id string, c change, head dsr.AuditHead, upd expression.UpdateBuilder) (*types.Update, error) {
	cond := expression.AttributeExists(expression.Name("id"))
	if c.cond != nil {
		cond = cond.And(*c.cond)
	}
	if head.Seq == 0 {
		cond = cond.And(expression.AttributeNotExists(expression.Name(headSeq)))
	} else {
		// A request stored before it had a head gets one at its next step.
		at := expression.Name(headSeq).Equal(expression.Value(head.Seq))
		cond = cond.And(at.Or(expression.AttributeNotExists(expression.Name(headSeq))))
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return &types.Update{
		TableName: &t.requests, Key: key(id),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}

// forgetAddress adds to upd the removal of r's plain address at at,
// keeping its masked form (dsr.AddressNeeded). After this change nothing can
// be mailed to the person from the stored request: a notice that the step
// calls for (completion, failure, rejection) is sent before it, or from the
// request as read before it.
func forgetAddress(upd expression.UpdateBuilder, r *dsr.Request, at time.Time) expression.UpdateBuilder {
	return forgetCorrected(upd, r).Remove(expression.Name("email")).
		Remove(expression.Name("transmitTo")). // a portability request's endpoint, no longer needed either
		Set(expression.Name("emailMasked"), expression.Value(r.Masked())).
		Set(expression.Name("addressRemovedAt"), expression.Value(formatTime(at)))
}

func conditionalPut(table string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) (*types.Put, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName: &table, Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}
