// Package dynamo holds the DynamoDB adapters: the requests table and the
// purpose-partitioned contact tables.
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

// API is the part of the DynamoDB client the adapters use.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	// Scan: the subject-key backfill only (Contacts.ScanSegment); nothing
	// else scans a contact or provenance table.
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
}

// timeLayout is fixed-width, so that stored times sort as strings.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Requests stores requests in the requests table, one item per request.
// Every change of a request is written with the audit steps that record it,
// in one transaction (see trail).
type Requests struct {
	Client API
	Table  string
	// AuditTable holds the requests' audit trails.
	AuditTable string
}

func (s *Requests) trail() trail {
	return trail{client: s.Client, requests: s.Table, audit: s.AuditTable}
}

type requestItem struct {
	ID             string          `dynamodbav:"id"`
	Type           string          `dynamodbav:"type"`
	Status         string          `dynamodbav:"status"`
	Email          string          `dynamodbav:"email,omitempty"`
	EmailMasked    string          `dynamodbav:"emailMasked,omitempty"`
	SubjectKey     string          `dynamodbav:"subjectKey,omitempty"`
	Scope          string          `dynamodbav:"scope,omitempty"`
	Purposes       []string        `dynamodbav:"purposes,omitempty"`
	Grounds        string          `dynamodbav:"grounds,omitempty"`
	Ground         string          `dynamodbav:"ground,omitempty"`
	Format         string          `dynamodbav:"format,omitempty"`     // portability
	TransmitTo     string          `dynamodbav:"transmitTo,omitempty"` // portability
	Language       string          `dynamodbav:"language,omitempty"`
	TokenHash      string          `dynamodbav:"tokenHash"`
	CodeHash       string          `dynamodbav:"codeHash,omitempty"`
	CodeExpiresAt  string          `dynamodbav:"codeExpiresAt,omitempty"`
	CodeAttempts   int             `dynamodbav:"codeAttempts"`
	LastAttempt    string          `dynamodbav:"lastAttempt,omitempty"`
	ReceivedAt     string          `dynamodbav:"receivedAt"`
	VerifiedAt     string          `dynamodbav:"verifiedAt,omitempty"`
	DueAt          string          `dynamodbav:"dueAt,omitempty"`
	ExtendedMonths int             `dynamodbav:"extendedMonths,omitempty"`
	Extensions     []extensionItem `dynamodbav:"extensions,omitempty"`
	CompletedAt    string          `dynamodbav:"completedAt,omitempty"`
	UpdatedAt      string          `dynamodbav:"updatedAt"`
	// IdentifiersRemovedAt: see dsr.Request.
	IdentifiersRemovedAt string         `dynamodbav:"identifiersRemovedAt,omitempty"`
	AddressRemovedAt     string         `dynamodbav:"addressRemovedAt,omitempty"`
	PlannedPurposes      []string       `dynamodbav:"plannedPurposes,omitempty"`
	DoneParts            map[string]int `dynamodbav:"doneParts,omitempty"`
	Result               *resultItem    `dynamodbav:"result,omitempty"`
	FailureReason        string         `dynamodbav:"failureReason,omitempty"`
	WaitingFor           string         `dynamodbav:"waitingFor,omitempty"`
	// ObjectionDecisions: purpose → "pending" | the DPO's decision.
	ObjectionDecisions map[string]string `dynamodbav:"objectionDecisions,omitempty"`
	// RestrictionSteps: see dsr.Request.
	RestrictionSteps []string `dynamodbav:"restrictionSteps,omitempty"`
	// The trail's head (see trail).
	AuditSeq  int    `dynamodbav:"auditSeq,omitempty"`
	AuditHash string `dynamodbav:"auditHash,omitempty"`

	// Rectification: see dsr.Request (rectification.go).
	Rectification *rectificationItem `dynamodbav:"rectification,omitempty"`
	// Preferences and OneClick: see dsr.Request (preferences.go).
	Preferences []preferenceItem `dynamodbav:"preferences,omitempty"`
	OneClick    bool             `dynamodbav:"oneClick,omitempty"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

func toItem(r *dsr.Request) requestItem {
	var extensions []extensionItem
	for _, e := range r.Extensions {
		extensions = append(extensions, toExtensionItem(e))
	}
	return requestItem{
		Extensions: extensions,
		ID:         r.ID, Type: string(r.Type), Status: string(r.Status), Email: r.Email, EmailMasked: r.Masked(), SubjectKey: r.SubjectKey, Scope: r.Scope,
		Purposes: r.Purposes, Grounds: r.Grounds, Ground: r.Ground, Language: string(r.Language), TokenHash: r.TokenHash, CodeHash: r.CodeHash,
		CodeExpiresAt: formatTime(r.CodeExpiresAt), CodeAttempts: r.CodeAttempts, LastAttempt: r.LastAttempt,
		ReceivedAt: formatTime(r.ReceivedAt), VerifiedAt: formatTime(r.VerifiedAt), DueAt: formatTime(r.DueAt), ExtendedMonths: r.ExtendedMonths,
		CompletedAt: formatTime(r.CompletedAt), UpdatedAt: formatTime(r.UpdatedAt), IdentifiersRemovedAt: formatTime(r.IdentifiersRemovedAt),
		AddressRemovedAt: formatTime(r.AddressRemovedAt), PlannedPurposes: r.PlannedPurposes, DoneParts: r.DoneParts, Result: toResultItem(r.Result), FailureReason: r.FailureReason,
		ObjectionDecisions: r.ObjectionDecisions, WaitingFor: r.WaitingFor, AuditSeq: r.Trail.Seq, AuditHash: r.Trail.Hash,
		RestrictionSteps: r.RestrictionSteps, Rectification: toRectificationItem(r.Rectification),
		Format: r.Format, TransmitTo: r.TransmitTo, Preferences: toPreferenceItems(r.Preferences), OneClick: r.OneClick,
	}
}

func fromItem(it requestItem) (*dsr.Request, error) {
	r := &dsr.Request{
		ID: it.ID, Type: dsr.Type(it.Type), Status: dsr.Status(it.Status), Email: it.Email, MaskedEmail: it.EmailMasked, SubjectKey: it.SubjectKey, Scope: it.Scope,
		Purposes: it.Purposes, Grounds: it.Grounds, Ground: it.Ground, Language: dsr.Language(it.Language), TokenHash: it.TokenHash, CodeHash: it.CodeHash,
		CodeAttempts: it.CodeAttempts, LastAttempt: it.LastAttempt, PlannedPurposes: it.PlannedPurposes, DoneParts: it.DoneParts,
		Result: fromResultItem(it.Result), FailureReason: it.FailureReason, ObjectionDecisions: it.ObjectionDecisions, ExtendedMonths: it.ExtendedMonths,
		WaitingFor: it.WaitingFor, Trail: dsr.AuditHead{Seq: it.AuditSeq, Hash: it.AuditHash}, RestrictionSteps: it.RestrictionSteps,
		Rectification: fromRectificationItem(it.Rectification),
		Format:        it.Format, TransmitTo: it.TransmitTo,
		Preferences: fromPreferenceItems(it.Preferences), OneClick: it.OneClick,
	}
	for _, e := range it.Extensions {
		ext, err := fromExtensionItem(e)
		if err != nil {
			return nil, fmt.Errorf("request %s: %w", it.ID, err)
		}
		r.Extensions = append(r.Extensions, ext)
	}
	for _, f := range []struct {
		dst *time.Time
		src string
	}{
		{&r.CodeExpiresAt, it.CodeExpiresAt}, {&r.ReceivedAt, it.ReceivedAt}, {&r.VerifiedAt, it.VerifiedAt},
		{&r.DueAt, it.DueAt}, {&r.CompletedAt, it.CompletedAt}, {&r.UpdatedAt, it.UpdatedAt}, {&r.IdentifiersRemovedAt, it.IdentifiersRemovedAt},
		{&r.AddressRemovedAt, it.AddressRemovedAt},
	} {
		t, err := parseTime(f.src)
		if err != nil {
			return nil, fmt.Errorf("request %s: %w", it.ID, err)
		}
		*f.dst = t
	}
	return r, nil
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
}

// Create stores a new request with the first steps of its trail (its
// receipt); an id held by another request (another status token) is a
// conflict, the same request again (a retried create) is not.
func (s *Requests) Create(ctx context.Context, r *dsr.Request, steps ...dsr.Step) error {
	it := toItem(r)
	it.AuditSeq, it.AuditHash = 0, ""
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("create request: %w", err)
	}
	_, err = s.trail().record(ctx, r.ID, change{op: "create request", put: item}, steps)
	var cf conditionFailed
	if errors.As(err, &cf) {
		// The id is taken, by another request or by this one, stored by an
		// earlier call: its status token's hash (256 random bits) tells.
		if cf.stored != nil && cf.stored.TokenHash == it.TokenHash {
			return nil
		}
		return &dsr.Error{Code: dsr.EConflict, Message: "create request: the id is taken"}
	}
	return err
}

// Get reads request id, strongly consistent; an unknown id is dsr.ErrNotFound.
func (s *Requests) Get(ctx context.Context, id string) (*dsr.Request, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	if out.Item == nil {
		return nil, dsr.ErrNotFound
	}
	var it requestItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	return fromItem(it)
}

// UseAttempt spends one of the request's verification attempts before its
// code is compared, atomically, so that parallel guesses each count: it fails
// with EConflict when none is left or the request no longer awaits
// verification, and returns the request as stored after the increment.
func (s *Requests) UseAttempt(ctx context.Context, id, attempt string, now time.Time) (*dsr.Request, error) {
	upd := expression.Add(expression.Name("codeAttempts"), expression.Value(1)).
		Set(expression.Name("lastAttempt"), expression.Value(attempt)).
		Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
	cond := expression.Name("status").Equal(expression.Value(string(dsr.StatusAwaitingVerification))).
		And(expression.Name("codeAttempts").LessThan(expression.Value(dsr.MaxCodeAttempts))).
		And(expression.AttributeNotExists(expression.Name("lastAttempt")).Or(expression.Name("lastAttempt").NotEqual(expression.Value(attempt))))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("use attempt: %w", err)
	}
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.Table, Key: key(id),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Refused, or counted already: an update that took effect, whose
		// answer was lost and which the SDK retried.
		r, gerr := s.Get(ctx, id)
		if gerr == nil && r.LastAttempt == attempt {
			return r, nil
		}
	}
	if err != nil {
		return nil, conflictOr(err, "use attempt")
	}
	return unmarshalRequest(out.Attributes)
}

// Transition moves request id from status from to status to, setting the
// changes and recording steps, only if it is still in from; otherwise it
// returns an EConflict error. A move to a status in which the request no
// longer needs its plain address (dsr.AddressNeeded: completed without a
// pending objection decision, rejected, expired, failed after its due
// date) removes it in the same
// transaction, keeping the subject key and the masked form: whatever must
// be mailed to the person for this step is sent before it, or from the
// request as read before it (see dsr.AddressNeeded).
func (s *Requests) Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes, steps ...dsr.Step) error {
	if !from.CanMoveTo(to) {
		return fmt.Errorf("transition %s: %s → %s is not allowed", id, from, to)
	}
	var result *types.AttributeValueMemberM
	if ch.Result != nil {
		av, err := attributevalue.MarshalMap(toResultItem(ch.Result))
		if err != nil {
			return fmt.Errorf("transition %s: %w", id, err)
		}
		result = &types.AttributeValueMemberM{Value: av}
	}
	upd := func() expression.UpdateBuilder {
		// A move ends any wait (SetWaiting): a request queued again waits anew.
		upd := expression.Set(expression.Name("status"), expression.Value(string(to))).
			Set(expression.Name("updatedAt"), expression.Value(formatTime(now))).
			Remove(expression.Name("waitingFor"))
		for name, t := range map[string]time.Time{"verifiedAt": ch.VerifiedAt, "dueAt": ch.DueAt, "completedAt": ch.CompletedAt} {
			if !t.IsZero() {
				upd = upd.Set(expression.Name(name), expression.Value(formatTime(t)))
			}
		}
		if result != nil {
			upd = upd.Set(expression.Name("result"), expression.Value(result))
		}
		return setChanges(upd, ch)
	}
	cond := expression.Name("status").Equal(expression.Value(string(from)))
	holds := func(r *dsr.Request) bool { return r.Status == from }
	forget := func(r *dsr.Request) bool { return r.AddressExpiresWith(to, ch, now) }
	return s.update(ctx, id, change{op: fmt.Sprintf("transition %s → %s", from, to), upd: upd, cond: &cond, holds: holds, forget: forget, at: now}, steps)
}

// setChanges adds to upd the changes of ch that are not times or results.
func setChanges(upd expression.UpdateBuilder, ch dsr.Changes) expression.UpdateBuilder {
	if ch.FailureReason != "" {
		upd = upd.Set(expression.Name("failureReason"), expression.Value(ch.FailureReason))
	}
	if ch.PlannedPurposes != nil {
		upd = upd.Set(expression.Name("plannedPurposes"), expression.Value(ch.PlannedPurposes)).
			Set(expression.Name("doneParts"), expression.Value(&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}))
	}
	if ch.ObjectionDecisions != nil {
		upd = upd.Set(expression.Name("objectionDecisions"), expression.Value(ch.ObjectionDecisions))
	}
	if ch.ExtendedMonths > 0 {
		upd = upd.Set(expression.Name("extendedMonths"), expression.Value(ch.ExtendedMonths))
	}
	return upd
}

// SetWaiting records why queued request id is not dispatched yet, with its
// steps. It reports whether that changed (false: the request already waited
// for detail), so a wait is recorded in the audit trail once; a request no
// longer queued is EConflict.
func (s *Requests) SetWaiting(ctx context.Context, id, detail string, now time.Time, steps ...dsr.Step) (bool, error) {
	upd := func() expression.UpdateBuilder {
		return expression.Set(expression.Name("waitingFor"), expression.Value(detail)).
			Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
	}
	waiting := expression.Name("waitingFor")
	cond := expression.Name("status").Equal(expression.Value(string(dsr.StatusQueued))).
		And(expression.AttributeNotExists(waiting).Or(waiting.NotEqual(expression.Value(detail))))
	holds := func(r *dsr.Request) bool { return r.Status == dsr.StatusQueued && r.WaitingFor != detail }
	_, err := s.trail().record(ctx, id, change{op: "set waiting", upd: upd, cond: &cond, holds: holds}, steps)
	var cf conditionFailed
	switch {
	case errors.As(err, &cf) && cf.stored == nil:
		return false, dsr.ErrNotFound
	case errors.As(err, &cf) && cf.stored.Status != dsr.StatusQueued:
		return false, &dsr.Error{Code: dsr.EConflict, Message: "set waiting: the request is " + string(cf.stored.Status)}
	case errors.As(err, &cf):
		return false, nil // waits for detail already
	case err != nil:
		return false, err
	}
	return true, nil
}

// MarkPartDone records that purpose's part of request id is written in
// chunks chunks, with its steps, once: it reports false if the part was
// already recorded or the request is no longer in progress, and returns the
// request as stored.
func (s *Requests) MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time, steps ...dsr.Step) (*dsr.Request, bool, error) {
	part := expression.Name("doneParts." + purpose)
	upd := func() expression.UpdateBuilder {
		return expression.Set(part, expression.Value(chunks)).Set(expression.Name("updatedAt"), expression.Value(formatTime(now)))
	}
	cond := expression.Name("status").Equal(expression.Value(string(dsr.StatusInProgress))).And(expression.AttributeNotExists(part))
	holds := func(r *dsr.Request) bool {
		_, done := r.DoneParts[purpose]
		return r.Status == dsr.StatusInProgress && !done
	}
	r, err := s.trail().record(ctx, id, change{op: "mark part done", upd: upd, cond: &cond, holds: holds}, steps)
	var cf conditionFailed
	switch {
	case errors.As(err, &cf) && cf.stored == nil:
		return nil, false, dsr.ErrNotFound
	case errors.As(err, &cf):
		return cf.stored, false, nil
	case err != nil:
		return nil, false, err
	}
	// The transaction required the head read with r: nothing else of r
	// that the worker reads changed meanwhile.
	r.DoneParts = maps.Clone(r.DoneParts)
	if r.DoneParts == nil {
		r.DoneParts = map[string]int{}
	}
	r.DoneParts[purpose], r.UpdatedAt = chunks, now
	return r, true, nil
}

// SubjectIndex is the requests table's index by subject key.
const SubjectIndex = "by-subject"

// BySubject returns the requests of the subject with key subjectKey, every
// page of the subject index, with their id, type, status and result.
func (s *Requests) BySubject(ctx context.Context, subjectKey string) ([]*dsr.Request, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key("subjectKey").Equal(expression.Value(subjectKey))).Build()
	if err != nil {
		return nil, fmt.Errorf("requests by subject: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, IndexName: aws.String(SubjectIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	var out []*dsr.Request
	err = queryPages(ctx, s.Client, in, func(item map[string]types.AttributeValue) error {
		var it struct {
			ID     string      `dynamodbav:"id"`
			Type   string      `dynamodbav:"type"`
			Status string      `dynamodbav:"status"`
			Result *resultItem `dynamodbav:"result"`
		}
		err := attributevalue.UnmarshalMap(item, &it)
		out = append(out, &dsr.Request{ID: it.ID, Type: dsr.Type(it.Type), Status: dsr.Status(it.Status), Result: fromResultItem(it.Result)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("requests by subject: %w", err)
	}
	return out, nil
}

func unmarshalRequest(av map[string]types.AttributeValue) (*dsr.Request, error) {
	var it requestItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	return fromItem(it)
}

// update applies c to request id with its steps; a failed condition (or
// no such request) is EConflict.
func (s *Requests) update(ctx context.Context, id string, c change, steps []dsr.Step) error {
	_, err := s.trail().record(ctx, id, c, steps)
	if errors.As(err, new(conditionFailed)) {
		return &dsr.Error{Code: dsr.EConflict, Message: c.op + ": the request changed meanwhile"}
	}
	return err
}

// conflictOr turns a failed condition into a domain conflict and wraps any
// other error with the operation.
func conflictOr(err error, op string) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return &dsr.Error{Code: dsr.EConflict, Message: op + ": the request changed meanwhile"}
	}
	return fmt.Errorf("%s: %w", op, err)
}
