package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// Audit is the audit trail: one item per step of a request, keyed by the
// request's id and the step's position, each holding the hash of the one
// before; the request item holds the newest (see trail). Entries are only
// ever added.
type Audit struct {
	Client API
	Table  string
	// RequestsTable holds the requests, whose trail heads Append moves.
	RequestsTable string
}

type auditItem struct {
	RequestID string `dynamodbav:"requestId"`
	Seq       int    `dynamodbav:"seq"`
	At        string `dynamodbav:"at"`
	Actor     string `dynamodbav:"actor"`
	Action    string `dynamodbav:"action"`
	Detail    string `dynamodbav:"detail,omitempty"`
	PrevHash  string `dynamodbav:"prevHash"`
	Hash      string `dynamodbav:"hash"`
}

func toAuditItem(e dsr.AuditEntry) auditItem {
	return auditItem{
		RequestID: e.RequestID, Seq: e.Seq, At: e.At.Format(time.RFC3339Nano), Actor: e.Actor,
		Action: string(e.Action), Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

func fromAuditItem(it auditItem) (dsr.AuditEntry, error) {
	at, err := time.Parse(time.RFC3339Nano, it.At)
	if err != nil {
		return dsr.AuditEntry{}, err
	}
	return dsr.AuditEntry{RequestID: it.RequestID, Seq: it.Seq, At: at, Actor: it.Actor, Action: dsr.AuditAction(it.Action), Detail: it.Detail, PrevHash: it.PrevHash, Hash: it.Hash}, nil
}

// Append adds a step that changes nothing else of the request (a link
// issued) to its trail, moving the request's head in the same transaction:
// concurrent appenders each get their own place in the chain, and a call
// retried after its answer was lost finds its own entry. Steps that record a
// change are written by the change itself (Requests). A request that does
// not exist is dsr.ErrNotFound.
func (a *Audit) Append(ctx context.Context, s dsr.Step) error {
	t := trail{client: a.Client, requests: a.RequestsTable, audit: a.Table}
	_, err := t.record(ctx, s.RequestID, change{op: "audit " + string(s.Action)}, []dsr.Step{s})
	if errors.As(err, new(conditionFailed)) {
		return fmt.Errorf("audit %s of request %s: %w", s.Action, s.RequestID, dsr.ErrNotFound)
	}
	return err
}

// holds reports whether the trail's entry at e's position is e itself (same
// hash: same step, time and predecessor).
func (a *Audit) holds(ctx context.Context, e dsr.AuditEntry) (bool, error) {
	in, err := a.query(e.RequestID, expression.Key("requestId").Equal(expression.Value(e.RequestID)).
		And(expression.Key("seq").Equal(expression.Value(e.Seq))))
	if err != nil {
		return false, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	out, err := a.Client.Query(ctx, in)
	if err != nil {
		return false, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	got, err := fromAuditItems(out.Items)
	if err != nil {
		return false, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return len(got) == 1 && got[0].Hash == e.Hash, nil
}

func (a *Audit) last(ctx context.Context, id string) (*dsr.AuditEntry, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("requestId").Equal(expression.Value(id))).Build()
	if err != nil {
		return nil, err
	}
	out, err := a.Client.Query(ctx, &dynamodb.QueryInput{
		TableName: &a.Table, ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil || len(out.Items) == 0 {
		return nil, err
	}
	var it auditItem
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return nil, err
	}
	e, err := fromAuditItem(it)
	return &e, err
}

// auditPage is how many entries one read of the trail holds at most: a
// trail of any length is read in bounded memory.
const auditPage = 500

// Entries returns request id's trail, oldest first, every page.
func (a *Audit) Entries(ctx context.Context, id string) ([]dsr.AuditEntry, error) {
	var entries []dsr.AuditEntry
	err := a.Walk(ctx, id, func(page []dsr.AuditEntry) error {
		entries = append(entries, page...)
		return nil
	})
	return entries, err
}

// Walk calls each with request id's trail, oldest first, a page of at most
// 500 entries at a time (strongly consistent reads).
func (a *Audit) Walk(ctx context.Context, id string, each func([]dsr.AuditEntry) error) error {
	in, err := a.query(id, expression.Key("requestId").Equal(expression.Value(id)))
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	in.Limit = aws.Int32(auditPage)
	for {
		out, err := a.Client.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("audit trail: %w", err)
		}
		page, err := fromAuditItems(out.Items)
		if err != nil {
			return fmt.Errorf("audit trail: %w", err)
		}
		if len(page) > 0 {
			if err := each(page); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Page returns the newest limit entries of request id's trail numbered
// below before (every entry when before <= 0), oldest first, and whether
// older entries remain.
func (a *Audit) Page(ctx context.Context, id string, before, limit int) ([]dsr.AuditEntry, bool, error) {
	key := expression.Key("requestId").Equal(expression.Value(id))
	if before > 0 {
		key = key.And(expression.Key("seq").LessThan(expression.Value(before)))
	}
	in, err := a.query(id, key)
	if err != nil {
		return nil, false, fmt.Errorf("audit page: %w", err)
	}
	// One more than asked tells whether older entries remain.
	in.ScanIndexForward, in.Limit = aws.Bool(false), aws.Int32(int32(limit+1))
	out, err := a.Client.Query(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("audit page: %w", err)
	}
	page, err := fromAuditItems(out.Items)
	if err != nil {
		return nil, false, fmt.Errorf("audit page: %w", err)
	}
	more := len(page) > limit
	page = page[:min(len(page), limit)]
	slices.Reverse(page)
	return page, more, nil
}

func (a *Audit) query(id string, key expression.KeyConditionBuilder) (*dynamodb.QueryInput, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName: &a.Table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}

func fromAuditItems(items []map[string]types.AttributeValue) ([]dsr.AuditEntry, error) {
	out := make([]dsr.AuditEntry, 0, len(items))
	for _, item := range items {
		var it auditItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, err
		}
		e, err := fromAuditItem(it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// queryPages runs in page after page until the last, calling each for every
// item.
func queryPages(ctx context.Context, c API, in *dynamodb.QueryInput, each func(map[string]types.AttributeValue) error) error {
	for {
		out, err := c.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
