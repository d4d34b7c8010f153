package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// ExpiryIndex is the provenance table's index by expiry day (sharded) and
// expiry time: the retention job's only way in (expiry.go).
const ExpiryIndex = "by-expiry-day"

// Provenance stores provenance entries, keyed by subject key and, within a
// subject, by purpose and entry id; the table's time to live deletes an
// entry TTLBackstop after its expiry if the retention job has not.
type Provenance struct {
	Client API
	Table  string
}

// checkpointKey is the retention job's checkpoint item: a partition no
// subject key (hex) can have.
var checkpointKey = map[string]types.AttributeValue{
	"subjectKey": &types.AttributeValueMemberS{Value: "#job"},
	"entry":      &types.AttributeValueMemberS{Value: "retention-checkpoint"},
}

type provenanceItem struct {
	SubjectKey string `dynamodbav:"subjectKey"`
	Entry      string `dynamodbav:"entry"`
	Purpose    string `dynamodbav:"purpose"`
	Event      string `dynamodbav:"event"`
	Source     string `dynamodbav:"source,omitempty"`
	Recipient  string `dynamodbav:"recipient,omitempty"`
	Country    string `dynamodbav:"country,omitempty"`
	Safeguard  string `dynamodbav:"safeguard,omitempty"`
	// TransferBasis: dsr.ProvenanceEntry.TransferBasis (absent on entries
	// stored before it was kept, and on sources).
	TransferBasis string `dynamodbav:"transferBasis,omitempty"`
	At            string `dynamodbav:"at"`
	ExpiresAt     int64  `dynamodbav:"expiresAt"`
	ExpiryBucket  string `dynamodbav:"expiryBucket"`
	TTL           int64  `dynamodbav:"ttl"`
}

func entrySortKey(purpose, id string) string { return purpose + "#" + id }

func toProvenanceItem(e dsr.ProvenanceEntry) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(provenanceItem{
		SubjectKey: e.SubjectKey, Entry: entrySortKey(e.Purpose, e.ID), Purpose: e.Purpose, Event: e.Event,
		Source: e.Source, Recipient: e.Recipient, Country: e.Country, Safeguard: e.Safeguard, TransferBasis: e.TransferBasis,
		At: formatTime(e.At), ExpiresAt: e.ExpiresAt.Unix(), ExpiryBucket: EntryBucket(e),
		TTL: e.ExpiresAt.Add(TTLBackstop).Unix(),
	})
}

// Put stores e unless it is stored already (a redelivered event), and
// reports whether it stored it.
func (s *Provenance) Put(ctx context.Context, e dsr.ProvenanceEntry) (bool, error) {
	item, err := toProvenanceItem(e)
	if err != nil {
		return false, fmt.Errorf("store provenance: %w", err)
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.Table, Item: item, ConditionExpression: aws.String("attribute_not_exists(#e)"),
		ExpressionAttributeNames: map[string]string{"#e": "entry"},
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store provenance: %w", err)
	}
	return true, nil
}

// PutMany stores entries with BatchWriteItem, for imports (a backfill, the
// demo data): an entry stored already is written again, the same.
func (s *Provenance) PutMany(ctx context.Context, entries []dsr.ProvenanceEntry) error {
	items := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		item, err := toProvenanceItem(e)
		if err != nil {
			return fmt.Errorf("store provenance: %w", err)
		}
		items = append(items, item)
	}
	return BatchPut(ctx, s.Client, s.Table, items)
}

// Subject returns the subject's entries of purpose (every purpose if
// purpose is ""), every page, leaving out those past their expiry at asOf
// that time to live has not removed yet.
func (s *Provenance) Subject(ctx context.Context, subjectKey, purpose string, asOf time.Time) ([]dsr.ProvenanceEntry, error) {
	key := expression.Key("subjectKey").Equal(expression.Value(subjectKey))
	if purpose != "" {
		key = key.And(expression.Key("entry").BeginsWith(purpose + "#"))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(key).
		WithFilter(expression.Name("expiresAt").GreaterThan(expression.Value(asOf.Unix()))).Build()
	if err != nil {
		return nil, fmt.Errorf("read provenance: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	var out []dsr.ProvenanceEntry
	err = queryPages(ctx, s.Client, in, func(av map[string]types.AttributeValue) error {
		var it provenanceItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return err
		}
		e, err := fromProvenanceItem(it)
		if err != nil {
			return err
		}
		if e.Live(asOf) { // the filter compares whole seconds
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read provenance: %w", err)
	}
	return out, nil
}

func fromProvenanceItem(it provenanceItem) (dsr.ProvenanceEntry, error) {
	at, err := parseTime(it.At)
	if err != nil {
		return dsr.ProvenanceEntry{}, err
	}
	_, id, _ := strings.Cut(it.Entry, "#")
	return dsr.ProvenanceEntry{
		SubjectKey: it.SubjectKey, ID: id, Purpose: it.Purpose, Event: it.Event, Source: it.Source,
		Recipient: it.Recipient, Country: it.Country, Safeguard: it.Safeguard, TransferBasis: it.TransferBasis, At: at,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
	}, nil
}

// DeleteSubject deletes every entry of the subject's purpose, expired or
// not, and returns how many it found.
func (s *Provenance) DeleteSubject(ctx context.Context, subjectKey, purpose string) (int, error) {
	key := expression.Key("subjectKey").Equal(expression.Value(subjectKey)).
		And(expression.Key("entry").BeginsWith(purpose + "#"))
	expr, err := expression.NewBuilder().WithKeyCondition(key).
		WithProjection(expression.NamesList(expression.Name("subjectKey"), expression.Name("entry"))).Build()
	if err != nil {
		return 0, fmt.Errorf("delete provenance: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, KeyConditionExpression: expr.KeyCondition(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	var reqs []types.WriteRequest
	err = queryPages(ctx, s.Client, in, func(av map[string]types.AttributeValue) error {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: av}})
		return nil
	})
	if err == nil {
		err = batchWrite(ctx, s.Client, s.Table, reqs)
	}
	if err != nil {
		return 0, fmt.Errorf("delete provenance: %w", err)
	}
	return len(reqs), nil
}

// Backups returns the copies of deleted entries that the table's
// point-in-time recovery keeps, when enabled.
func (s *Provenance) Backups(ctx context.Context, deletedAt time.Time) ([]dsr.Copy, error) {
	copies, err := pitrCopies(ctx, s.Client, s.Table, "provenance", "the deleted provenance entries", deletedAt)
	if err != nil {
		return nil, fmt.Errorf("backups of provenance: %w", err)
	}
	return copies, nil
}

// DuePage returns a page of the keys in the expiry index partition bucket
// whose expiry is at or before now, the cursor of the next page ("" after
// the last), and how many index items the page read.
func (s *Provenance) DuePage(ctx context.Context, bucket string, now time.Time, cursor string, limit int) ([]dsr.ProvenanceKey, string, int, error) {
	key := expression.Key("expiryBucket").Equal(expression.Value(bucket)).
		And(expression.Key("expiresAt").LessThanEqual(expression.Value(now.Unix())))
	expr, err := expression.NewBuilder().WithKeyCondition(key).Build()
	if err != nil {
		return nil, "", 0, fmt.Errorf("due provenance: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, IndexName: aws.String(ExpiryIndex), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(int32(limit)),
	}
	if cursor != "" {
		if in.ExclusiveStartKey, err = DecodeCursor(cursor); err != nil {
			return nil, "", 0, fmt.Errorf("due provenance: %w", err)
		}
	}
	out, err := s.Client.Query(ctx, in)
	if err != nil {
		return nil, "", 0, fmt.Errorf("due provenance: %w", err)
	}
	keys := make([]dsr.ProvenanceKey, 0, len(out.Items))
	for _, av := range out.Items {
		var it struct {
			SubjectKey   string `dynamodbav:"subjectKey"`
			Entry        string `dynamodbav:"entry"`
			ExpiryBucket string `dynamodbav:"expiryBucket"`
		}
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, "", 0, fmt.Errorf("due provenance: %w", err)
		}
		purpose, _, _ := strings.Cut(it.Entry, "#")
		keys = append(keys, dsr.ProvenanceKey{SubjectKey: it.SubjectKey, Purpose: purpose, Entry: it.Entry, Bucket: it.ExpiryBucket})
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		if next, err = EncodeCursor(out.LastEvaluatedKey); err != nil {
			return nil, "", 0, fmt.Errorf("due provenance: %w", err)
		}
	}
	return keys, next, int(out.ScannedCount), nil
}

func provenanceKey(k dsr.ProvenanceKey) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"subjectKey": &types.AttributeValueMemberS{Value: k.SubjectKey},
		"entry":      &types.AttributeValueMemberS{Value: k.Entry},
	}
}

// Delete deletes the entries of keys (BatchWriteItem, unprocessed items
// retried with backoff).
func (s *Provenance) Delete(ctx context.Context, keys []dsr.ProvenanceKey) error {
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: provenanceKey(k)}}
	}
	if err := batchWrite(ctx, s.Client, s.Table, reqs); err != nil {
		return fmt.Errorf("delete provenance: %w", err)
	}
	return nil
}

// Hold keeps the entries of keys past their expiry (their subject has an
// open request): each moves to its HoldBucket, and its time to live to
// HoldBackstop after now. An entry deleted meanwhile stays deleted.
func (s *Provenance) Hold(ctx context.Context, keys []dsr.ProvenanceKey, now time.Time) error {
	return inParallel(ctx, writeConcurrency, len(keys), func(ctx context.Context, i int) error {
		k := keys[i]
		upd := expression.Set(expression.Name("expiryBucket"), expression.Value(HoldBucket(k, now))).
			Set(expression.Name("ttl"), expression.Value(now.Add(HoldBackstop).Unix()))
		expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(expression.AttributeExists(expression.Name("entry"))).Build()
		if err != nil {
			return err
		}
		_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.Table, Key: provenanceKey(k), UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			return fmt.Errorf("hold provenance: %w", err)
		}
		return nil
	})
}

// checkpointItem is the retention checkpoint as stored: Shard and Cursor
// are the sweep's position in Day (toCheckpointItem).
type checkpointItem struct {
	Phase          int    `dynamodbav:"phase,omitempty"`
	Day            string `dynamodbav:"day"`
	Shard          int    `dynamodbav:"shard"`
	Cursor         string `dynamodbav:"cursor,omitempty"`
	StrippedBefore string `dynamodbav:"strippedBefore,omitempty"`
	StripStatus    int    `dynamodbav:"stripStatus,omitempty"`
	StripCursor    string `dynamodbav:"stripCursor,omitempty"`
	// ForgottenBefore and ForgetCursor: see dsr.RetentionCheckpoint.
	ForgottenBefore string `dynamodbav:"forgottenBefore,omitempty"`
	ForgetCursor    string `dynamodbav:"forgetCursor,omitempty"`
	// RestrictionMonth: see dsr.RetentionCheckpoint.
	RestrictionMonth string `dynamodbav:"restrictionMonth,omitempty"`
	Version          int    `dynamodbav:"version"`
	// SavedBy is a random token of the save that stored this version: a
	// save whose answer was lost, and which the SDK retried, finds its own
	// write by it rather than take it for another run's (SaveCheckpoint).
	SavedBy string `dynamodbav:"savedBy,omitempty"`
}

// Checkpoint returns the retention job's checkpoint; the zero checkpoint
// before the first run.
func (s *Provenance) Checkpoint(ctx context.Context) (dsr.RetentionCheckpoint, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: checkpointKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return dsr.RetentionCheckpoint{}, fmt.Errorf("read retention checkpoint: %w", err)
	}
	if out.Item == nil {
		return dsr.RetentionCheckpoint{}, nil
	}
	var it checkpointItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return dsr.RetentionCheckpoint{}, fmt.Errorf("read retention checkpoint: %w", err)
	}
	cp, err := fromCheckpointItem(it)
	if err != nil {
		return dsr.RetentionCheckpoint{}, fmt.Errorf("read retention checkpoint: %w", err)
	}
	return cp, nil
}

// SaveCheckpoint stores cp as the next version of the checkpoint, only if
// the stored one is still cp.Version (EConflict otherwise: another run moved
// on), and returns the version stored. A save that took effect but whose
// answer was lost fails its condition on the SDK's retry: it is told apart
// from another run's by its token, and succeeds.
func (s *Provenance) SaveCheckpoint(ctx context.Context, cp dsr.RetentionCheckpoint) (int, error) {
	it, err := toCheckpointItem(cp)
	if err != nil {
		return 0, fmt.Errorf("save retention checkpoint: %w", err)
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return 0, fmt.Errorf("save retention checkpoint: %w", err)
	}
	it.Version, it.SavedBy = cp.Version+1, hex.EncodeToString(token)
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return 0, fmt.Errorf("save retention checkpoint: %w", err)
	}
	for k, v := range checkpointKey {
		item[k] = v
	}
	in := &dynamodb.PutItemInput{
		TableName: &s.Table, Item: item, ConditionExpression: aws.String("attribute_not_exists(#e)"),
		ExpressionAttributeNames: map[string]string{"#e": "entry"},
	}
	if cp.Version > 0 {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.Itoa(cp.Version)}}
	}
	_, err = s.Client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && s.savedBy(ctx, it.Version, it.SavedBy) {
		return it.Version, nil
	}
	if err != nil {
		return 0, conflictOr(err, "save retention checkpoint")
	}
	return it.Version, nil
}

// savedBy reports whether the stored checkpoint is version, saved with
// token (false also when it cannot be read: the conflict then stands).
func (s *Provenance) savedBy(ctx context.Context, version int, token string) bool {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: checkpointKey, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return false
	}
	var it checkpointItem
	return attributevalue.UnmarshalMap(out.Item, &it) == nil && it.Version == version && it.SavedBy == token
}

// KeepUntil keeps every entry of the subject's purpose that is live at now
// and expires before until at least until (a statutory restriction of the
// purpose's records extended: Art. 19 must still reach its recipients when
// the records go): its expiry, its expiry index partition (that day, the
// same shard) and its time to live move; each update is conditional, so a
// repeated call, or an entry later than until, moves nothing. It returns
// how many entries it moved.
func (s *Provenance) KeepUntil(ctx context.Context, subjectKey, purpose string, until, now time.Time) (int, error) {
	key := expression.Key("subjectKey").Equal(expression.Value(subjectKey)).
		And(expression.Key("entry").BeginsWith(purpose + "#"))
	filter := expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix())).
		And(expression.Name("expiresAt").LessThan(expression.Value(until.Unix())))
	expr, err := expression.NewBuilder().WithKeyCondition(key).WithFilter(filter).
		WithProjection(expression.NamesList(expression.Name("entry"))).Build()
	if err != nil {
		return 0, fmt.Errorf("keep provenance: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	var entries []string
	err = queryPages(ctx, s.Client, in, func(av map[string]types.AttributeValue) error {
		var it struct {
			Entry string `dynamodbav:"entry"`
		}
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return err
		}
		entries = append(entries, it.Entry)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("keep provenance: %w", err)
	}
	moved := make([]bool, len(entries))
	err = inParallel(ctx, writeConcurrency, len(entries), func(ctx context.Context, i int) error {
		var err error
		moved[i], err = s.keepEntry(ctx, dsr.ProvenanceKey{SubjectKey: subjectKey, Entry: entries[i]}, until)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range moved {
		if m {
			n++
		}
	}
	return n, nil
}

// keepEntry moves the expiry of entry k to until unless it is gone or
// expires then or later, and reports whether it moved it.
func (s *Provenance) keepEntry(ctx context.Context, k dsr.ProvenanceKey, until time.Time) (bool, error) {
	_, id, _ := strings.Cut(k.Entry, "#")
	bucket := ExpiryBucket(ExpiryDay(until), ExpiryShard(dsr.ProvenanceEntry{ID: id}))
	upd := expression.Set(expression.Name("expiresAt"), expression.Value(until.Unix())).
		Set(expression.Name("expiryBucket"), expression.Value(bucket)).
		Set(expression.Name("ttl"), expression.Value(until.Add(TTLBackstop).Unix()))
	cond := expression.AttributeExists(expression.Name("entry")).
		And(expression.Name("expiresAt").LessThan(expression.Value(until.Unix())))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return false, err
	}
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.Table, Key: provenanceKey(k), UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("keep provenance: %w", err)
	}
	return true, nil
}

// Renew gives each entry of keys (due ones) the expiry its purpose's
// years give it now (its event time plus years(purpose)) where that is
// later than its stored expiry and than now: entries stored under shorter
// years (before a purpose's provenance years were raised, as billing's
// from 2 to 9) are kept, not deleted. It reads the entries (BatchGetItem,
// their event times), moves each renewed one as KeepUntil does, and
// returns the keys it renewed; an entry gone meanwhile is left out.
func (s *Provenance) Renew(ctx context.Context, keys []dsr.ProvenanceKey, years func(purpose string) int, now time.Time) ([]dsr.ProvenanceKey, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	avs := make([]map[string]types.AttributeValue, len(keys))
	byEntry := map[[2]string]dsr.ProvenanceKey{}
	for i, k := range keys {
		avs[i] = provenanceKey(k)
		byEntry[[2]string{k.SubjectKey, k.Entry}] = k
	}
	proj := expression.NamesList(expression.Name("subjectKey"), expression.Name("entry"), expression.Name("purpose"),
		expression.Name("at"), expression.Name("expiresAt"))
	items, err := batchGetItems(ctx, s.Client, s.Table, avs, &proj)
	if err != nil {
		return nil, fmt.Errorf("renew provenance: %w", err)
	}
	var renew []dsr.ProvenanceKey
	var until []time.Time
	for _, av := range items {
		var it provenanceItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("renew provenance: %w", err)
		}
		at, err := parseTime(it.At)
		if err != nil {
			return nil, fmt.Errorf("renew provenance: %w", err)
		}
		exp := dsr.ProvenanceExpiry(at, years(it.Purpose))
		if exp.After(now) && exp.Unix() > it.ExpiresAt {
			renew = append(renew, byEntry[[2]string{it.SubjectKey, it.Entry}])
			until = append(until, exp)
		}
	}
	moved := make([]bool, len(renew))
	err = inParallel(ctx, writeConcurrency, len(renew), func(ctx context.Context, i int) error {
		var err error
		moved[i], err = s.keepEntry(ctx, renew[i], until[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []dsr.ProvenanceKey
	for i, m := range moved {
		if m {
			out = append(out, renew[i])
		}
	}
	return out, nil
}
