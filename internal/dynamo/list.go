package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/privacyops/dsr/internal/dsr"
)

// StatusDueIndex is the requests table's index by status and due date.
const StatusDueIndex = "by-status-due"

// listCursor is where a list page stopped: the status (index into the
// query's statuses) and the last key read in it.
type listCursor struct {
	Status int    `json:"s"`
	Key    string `json:"k,omitempty"`
}

// maxListQueries bounds the Query calls of one list page: a filter that
// matches little answers a partial page (with a cursor) rather than time out.
const maxListQueries = 10

var errBadCursor = dsr.Invalid("the query is invalid", dsr.FieldError{Field: "cursor", Reason: "is not a cursor of this list"})

// List returns a page of requests matching q from the status/due index, in
// order of the query's statuses and, within a status, of due date (never a
// Scan), and the cursor of the next page ("" after the last). Requests
// whose clock has not started have no due date and are not in the index.
func (s *Requests) List(ctx context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error) {
	cur, err := openListCursor(q)
	if err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit <= 0 || limit > dsr.MaxListLimit {
		limit = dsr.MaxListLimit
	}
	var out []*dsr.Request
	for calls := 0; cur.Status < len(q.Statuses); calls++ {
		if calls == maxListQueries {
			break // a partial page: the cursor goes on from here
		}
		if out, err = s.listPage(ctx, q, &cur, limit, out); err != nil {
			return nil, "", err
		}
		if len(out) >= limit {
			break
		}
	}
	if cur.Status >= len(q.Statuses) {
		return out, "", nil
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return nil, "", fmt.Errorf("list requests: %w", err)
	}
	return out, base64.RawURLEncoding.EncodeToString(raw), nil
}

// openListCursor is where the list page of q starts: its cursor's place,
// or the first status's first page.
func openListCursor(q dsr.ListQuery) (listCursor, error) {
	cur := listCursor{}
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || json.Unmarshal(raw, &cur) != nil || cur.Status < 0 || cur.Status >= len(q.Statuses) {
			return listCursor{}, errBadCursor
		}
	}
	return cur, nil
}

// listPage makes one Query of the cursor's status from the cursor's key,
// appends to out the requests read (stopping at limit) and moves cur past
// them: to the last one returned, to the Query's last key, or to the next
// status once this one is read.
func (s *Requests) listPage(ctx context.Context, q dsr.ListQuery, cur *listCursor, limit int, out []*dsr.Request) ([]*dsr.Request, error) {
	// Without a filter every item read is returned: ask for what is
	// missing. With the type filter, read whole pages and stop after the
	// last item wanted (the cursor then names it).
	want := int32(limit - len(out))
	if q.Type != "" {
		want = dsr.MaxListLimit
	}
	in, err := s.listQuery(q, q.Statuses[cur.Status], want)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	if cur.Key != "" {
		if in.ExclusiveStartKey, err = DecodeCursor(cur.Key); err != nil {
			return nil, errBadCursor
		}
	}
	page, err := s.Client.Query(ctx, in)
	var apiErr smithy.APIError
	if err != nil && in.ExclusiveStartKey != nil && errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" {
		return nil, errBadCursor // a cursor of another query, or forged
	}
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	if out, cur.Key, err = appendUpTo(out, page, limit); err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	if cur.Key == "" {
		if len(page.LastEvaluatedKey) == 0 {
			cur.Status++
		} else if cur.Key, err = EncodeCursor(page.LastEvaluatedKey); err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
	}
	return out, nil
}

// appendUpTo appends page's requests to out until out holds limit; if it
// stops before the page's end, it returns the cursor of the last one
// appended, where the next list page starts.
func appendUpTo(out []*dsr.Request, page *dynamodb.QueryOutput, limit int) ([]*dsr.Request, string, error) {
	for i, item := range page.Items {
		r, err := unmarshalRequest(item)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
		if len(out) == limit && (i < len(page.Items)-1 || len(page.LastEvaluatedKey) > 0) {
			// Stop after this item: the next page starts after it.
			last := map[string]types.AttributeValue{"id": item["id"], "status": item["status"], "dueAt": item["dueAt"]}
			key, err := EncodeCursor(last)
			return out, key, err
		}
	}
	return out, "", nil
}

func (s *Requests) listQuery(q dsr.ListQuery, status dsr.Status, limit int32) (*dynamodb.QueryInput, error) {
	key := expression.Key("status").Equal(expression.Value(string(status)))
	if !q.DueBefore.IsZero() {
		key = key.And(expression.Key("dueAt").LessThan(expression.Value(formatTime(q.DueBefore))))
	}
	b := expression.NewBuilder().WithKeyCondition(key)
	if q.Type != "" {
		b = b.WithFilter(expression.Name("type").Equal(expression.Value(string(q.Type))))
	}
	expr, err := b.Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName: &s.Table, IndexName: aws.String(StatusDueIndex),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(limit),
	}, nil
}

// SetDeadline extends request id by ext (its due date becomes ext.DueAt, its
// extension prevMonths+ext.Months, and ext is appended to its record), only
// if it is still open and extended by prevMonths: a concurrent extension
// conflicts; a status change of an open request, such as queued to in
// progress, does not.
func (s *Requests) SetDeadline(ctx context.Context, id string, prevMonths int, ext dsr.Extension, steps ...dsr.Step) error {
	rec, err := attributevalue.MarshalMap(toExtensionItem(ext))
	if err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	list := expression.Name("extensions")
	upd := func() expression.UpdateBuilder {
		return expression.Set(expression.Name("dueAt"), expression.Value(formatTime(ext.DueAt))).
			Set(expression.Name("extendedMonths"), expression.Value(prevMonths+ext.Months)).
			Set(expression.Name("updatedAt"), expression.Value(formatTime(ext.At))).
			Set(list, expression.ListAppend(expression.IfNotExists(list, expression.Value(&types.AttributeValueMemberL{})),
				expression.Value(&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: rec}}})))
	}
	prev := expression.Name("extendedMonths").Equal(expression.Value(prevMonths))
	if prevMonths == 0 {
		prev = expression.AttributeNotExists(expression.Name("extendedMonths")).Or(prev)
	}
	open := make([]expression.OperandBuilder, 0, len(dsr.OpenStatuses))
	for _, st := range dsr.OpenStatuses {
		open = append(open, expression.Value(string(st)))
	}
	cond := expression.Name("status").In(open[0], open[1:]...).And(prev)
	holds := func(r *dsr.Request) bool { return r.Open() && r.ExtendedMonths == prevMonths }
	return s.update(ctx, id, change{op: "set deadline", upd: upd, cond: &cond, holds: holds}, steps)
}

// StatusReceivedIndex is the requests table's index by status and receipt.
const StatusReceivedIndex = "by-status-received"

// Unverified returns the ids of a page of requests still awaiting
// verification that were received before before, oldest first, and the
// cursor of the next page ("" after the last). It reads only the index's keys.
func (s *Requests) Unverified(ctx context.Context, before time.Time, cursor string) ([]string, string, error) {
	return s.ReceivedPage(ctx, dsr.StatusAwaitingVerification, time.Time{}, before, cursor)
}

// ReceivedPage returns the ids of a page of requests in status received
// at or after from and before before, oldest first, and the cursor of the
// next page ("" after the last). It reads only the index's keys.
func (s *Requests) ReceivedPage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error) {
	if !from.IsZero() && !from.Before(before) {
		return nil, "", nil // an empty window (DynamoDB refuses a reversed BETWEEN)
	}
	key := expression.Key("status").Equal(expression.Value(string(status)))
	if from.IsZero() {
		key = key.And(expression.Key("receivedAt").LessThan(expression.Value(formatTime(before))))
	} else {
		// BETWEEN includes both ends; a time 1 ms before before is the
		// last the layout can tell apart.
		key = key.And(expression.Key("receivedAt").Between(expression.Value(formatTime(from)), expression.Value(formatTime(before.Add(-time.Millisecond)))))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, "", fmt.Errorf("requests by receipt: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, IndexName: aws.String(StatusReceivedIndex),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(dsr.MaxListLimit),
	}
	return s.idPage(ctx, in, cursor, "requests by receipt")
}

// idPage runs query in from cursor and returns the ids of its page and the
// cursor of the next ("" after the last); op names it in errors.
func (s *Requests) idPage(ctx context.Context, in *dynamodb.QueryInput, cursor, op string) ([]string, string, error) {
	var err error
	if cursor != "" {
		if in.ExclusiveStartKey, err = DecodeCursor(cursor); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
	}
	out, err := s.Client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		if v, ok := item["id"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, v.Value)
		}
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		if next, err = EncodeCursor(out.LastEvaluatedKey); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
	}
	return ids, next, nil
}

// holdingStatuses are the statuses whose requests may hold provenance, in
// the order requests move through them, so that a request moving on while
// they are read is found in the next (only a DPO's retry moves back).
var holdingStatuses = []dsr.Status{dsr.StatusAwaitingVerification, dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusFailed}

// OpenSubjects returns the subject keys of the requests that hold their
// subject's provenance at now (dsr.Request.HoldsProvenance): the status
// index's keys, every page, then each request's status, due date and
// subject key with BatchGetItem.
func (s *Requests) OpenSubjects(ctx context.Context, now time.Time) (map[string]bool, error) {
	var keys []map[string]types.AttributeValue
	seen := map[string]bool{}
	for _, st := range holdingStatuses {
		for cursor := ""; ; {
			ids, next, err := s.ReceivedPage(ctx, st, time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), cursor)
			if err != nil {
				return nil, fmt.Errorf("open subjects: %w", err)
			}
			for _, id := range ids {
				if !seen[id] { // BatchGetItem refuses a key twice
					seen[id] = true
					keys = append(keys, key(id))
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	proj := expression.NamesList(expression.Name("id"), expression.Name("subjectKey"), expression.Name("status"), expression.Name("dueAt"))
	items, err := batchGetItems(ctx, s.Client, s.Table, keys, &proj)
	if err != nil {
		return nil, fmt.Errorf("open subjects: %w", err)
	}
	open := make(map[string]bool, len(items))
	for _, item := range items {
		var it struct {
			SubjectKey string `dynamodbav:"subjectKey"`
			Status     string `dynamodbav:"status"`
			DueAt      string `dynamodbav:"dueAt"`
		}
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, fmt.Errorf("open subjects: %w", err)
		}
		due, err := parseTime(it.DueAt)
		if err != nil {
			return nil, fmt.Errorf("open subjects: %w", err)
		}
		r := dsr.Request{Status: dsr.Status(it.Status), DueAt: due}
		if it.SubjectKey != "" && r.HoldsProvenance(now) {
			open[it.SubjectKey] = true
		}
	}
	return open, nil
}

// StripIdentifiers removes from request id what identifies its subject (the
// address if still there, its masked form, the subject key, the code and
// token hashes) and the free texts that may name people (the person's
// grounds, the failure or rejection reason, the extensions' reasons),
// keeping what the request was and how it went, and records when. A
// request stripped already is EConflict.
func (s *Requests) StripIdentifiers(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error {
	upd := func() expression.UpdateBuilder {
		upd := expression.Set(expression.Name("identifiersRemovedAt"), expression.Value(formatTime(now))).
			Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
		for _, name := range []string{"email", "emailMasked", "subjectKey", "grounds", "failureReason", "codeHash", "tokenHash"} {
			upd = upd.Remove(expression.Name(name))
		}
		return upd
	}
	more := func(r *dsr.Request, upd expression.UpdateBuilder) expression.UpdateBuilder {
		for i := range r.Extensions {
			upd = upd.Remove(expression.Name(fmt.Sprintf("extensions[%d].reason", i)))
		}
		return stripRectification(upd, r)
	}
	cond := expression.AttributeNotExists(expression.Name("identifiersRemovedAt"))
	holds := func(r *dsr.Request) bool { return r.IdentifiersRemovedAt.IsZero() }
	return s.update(ctx, id, change{op: "strip request identifiers", upd: upd, more: more, cond: &cond, holds: holds}, steps)
}

// ForgetAddress removes the plain address from request id, keeping its
// subject key and masked form, if it no longer needs it at now
// (dsr.Request.AddressExpired: a failed request past its due date, or a
// final one that kept it), with its steps; otherwise it is EConflict.
func (s *Requests) ForgetAddress(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error {
	cond := expression.AttributeExists(expression.Name("email"))
	holds := func(r *dsr.Request) bool { return r.AddressExpired(now) }
	upd := func() expression.UpdateBuilder {
		return expression.Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
	}
	forget := func(*dsr.Request) bool { return true } // holds decided it
	return s.update(ctx, id, change{op: "forget request address", upd: upd, cond: &cond, holds: holds, forget: forget, at: now}, steps)
}

// DuePage returns the ids of a page of requests in status due at or after
// from and before before, earliest first, and the cursor of the next page
// ("" after the last), from the status/due index. It reads only the
// index's keys.
func (s *Requests) DuePage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error) {
	if !from.Before(before) {
		return nil, "", nil
	}
	key := expression.Key("status").Equal(expression.Value(string(status))).
		And(expression.Key("dueAt").Between(expression.Value(formatTime(from)), expression.Value(formatTime(before.Add(-time.Millisecond)))))
	expr, err := expression.NewBuilder().WithKeyCondition(key).
		WithProjection(expression.NamesList(expression.Name("id"))).Build()
	if err != nil {
		return nil, "", fmt.Errorf("requests by due date: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, IndexName: aws.String(StatusDueIndex),
		KeyConditionExpression: expr.KeyCondition(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(dsr.MaxListLimit),
	}
	return s.idPage(ctx, in, cursor, "requests by due date")
}

// RecordRestriction records on request id (whatever its status: an
// erasure is final by the time its restrictions change or end, its
// identifiers maybe removed) the change of its statutory restrictions that
// token names (dsr.RestrictionEndedToken, dsr.RestrictionExtendedToken),
// with the steps that say so; one recorded already is EConflict, so each
// is in the trail exactly once.
func (s *Requests) RecordRestriction(ctx context.Context, id, token string, now time.Time, steps ...dsr.Step) error {
	name := expression.Name("restrictionSteps")
	upd := func() expression.UpdateBuilder {
		return expression.Set(name, expression.ListAppend(expression.IfNotExists(name, expression.Value([]string{})), expression.Value([]string{token}))).
			Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
	}
	cond := expression.AttributeNotExists(name).Or(expression.Not(expression.Contains(name, token)))
	holds := func(r *dsr.Request) bool { return !slices.Contains(r.RestrictionSteps, token) }
	return s.update(ctx, id, change{op: "record restriction", upd: upd, cond: &cond, holds: holds}, steps)
}

// SetDecision moves the decision on request id's objection to purpose from
// from to to, only if it is still from.
func (s *Requests) SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error {
	name := expression.Name("objectionDecisions." + purpose)
	upd := func() expression.UpdateBuilder {
		return expression.Set(name, expression.Value(to)).Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
	}
	cond := name.Equal(expression.Value(from))
	holds := func(r *dsr.Request) bool { d, ok := r.ObjectionDecisions[purpose]; return ok && d == from }
	// The last decision applied ends the objection's use of the address.
	forget := func(r *dsr.Request) bool {
		decisions := maps.Clone(r.ObjectionDecisions)
		decisions[purpose] = to
		return !dsr.AddressNeeded(r.Status, decisions)
	}
	return s.update(ctx, id, change{op: "set objection decision", upd: upd, cond: &cond, holds: holds, forget: forget, at: now}, steps)
}
