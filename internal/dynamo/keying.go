package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// SetSubjectKey writes key into the subject-key attribute of the record ref
// of p's table, only if its identifier is still identifier (a CRM write that
// changed it meanwhile is keyed from its own stream record, not overwritten)
// and its key is not key already (the write of the key, which the stream
// reports too, changes nothing more). It reports whether it wrote.
func (c *Contacts) SetSubjectKey(ctx context.Context, p dsr.Purpose, ref, identifier, key string) (bool, error) {
	sk := expression.Name(p.SubjectKeyAttribute)
	cond := expression.Name(p.Identifier).Equal(expression.Value(identifier)).
		And(expression.AttributeNotExists(sk).Or(sk.NotEqual(expression.Value(key))))
	return c.updateKey(ctx, p, ref, expression.Set(sk, expression.Value(key)), cond)
}

// ClearSubjectKey removes the subject key key from the record ref of p's
// table, whose identifier no longer gives one: only if the record still
// holds key and its identifier is still identifier (nil: missing or not a
// string), so a CRM write meanwhile is keyed from its own stream record. It
// reports whether it removed.
func (c *Contacts) ClearSubjectKey(ctx context.Context, p dsr.Purpose, ref string, identifier *string, key string) (bool, error) {
	id := expression.Name(p.Identifier)
	same := expression.Not(id.AttributeType(expression.String))
	if identifier != nil {
		same = id.Equal(expression.Value(*identifier))
	}
	sk := expression.Name(p.SubjectKeyAttribute)
	return c.updateKey(ctx, p, ref, expression.Remove(sk), sk.Equal(expression.Value(key)).And(same))
}

// updateKey applies upd to record ref of p's table if cond holds, and
// reports whether it did.
func (c *Contacts) updateKey(ctx context.Context, p dsr.Purpose, ref string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (bool, error) {
	k, err := DecodeCursor(ref)
	if err != nil {
		return false, fmt.Errorf("key %s record: %w", p.Name, err)
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("key %s record: %w", p.Name, err)
	}
	_, err = c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &p.Table, Key: k,
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("key %s record: %w", p.Name, err)
	}
	return true, nil
}

// ScanSegment reads one page of segment of total parallel scan segments of
// p's table from cursor on ("" from the start), at most limit items, strongly
// consistent, with each record's key, identifier and subject key, and the
// cursor of the next page ("" after the segment's last). The backfill is the
// one reader of a contact table that scans: it must see every record.
func (c *Contacts) ScanSegment(ctx context.Context, p dsr.Purpose, segment, total int, cursor string, limit int) ([]dsr.KeyState, string, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return nil, "", fmt.Errorf("scan %s: %w", p.Name, err)
	}
	expr, err := expression.NewBuilder().WithProjection(*projection(keyNames, p.Identifier, p.SubjectKeyAttribute)).Build()
	if err != nil {
		return nil, "", fmt.Errorf("scan %s: %w", p.Name, err)
	}
	in := &dynamodb.ScanInput{
		TableName: &p.Table, Segment: aws.Int32(int32(segment)), TotalSegments: aws.Int32(int32(total)),
		ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(limit)),
		ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(),
	}
	if cursor != "" {
		if in.ExclusiveStartKey, err = DecodeCursor(cursor); err != nil {
			return nil, "", fmt.Errorf("scan %s: %w", p.Name, err)
		}
	}
	out, err := c.Client.Scan(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("scan %s: %w", p.Name, err)
	}
	states := make([]dsr.KeyState, 0, len(out.Items))
	for _, item := range out.Items {
		st, err := keyState(item, keyNames, p)
		if err != nil {
			return nil, "", fmt.Errorf("scan %s: %w", p.Name, err)
		}
		states = append(states, st)
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		if next, err = EncodeCursor(out.LastEvaluatedKey); err != nil {
			return nil, "", fmt.Errorf("scan %s: %w", p.Name, err)
		}
	}
	return states, next, nil
}

func keyState(item map[string]types.AttributeValue, keyNames []string, p dsr.Purpose) (dsr.KeyState, error) {
	ref, err := keyRefs([]map[string]types.AttributeValue{item}, keyNames)
	if err != nil {
		return dsr.KeyState{}, err
	}
	st := dsr.KeyState{Ref: ref[0]}
	if v, ok := item[p.Identifier].(*types.AttributeValueMemberS); ok {
		st.Identifier = &v.Value
	}
	if v, ok := item[p.SubjectKeyAttribute].(*types.AttributeValueMemberS); ok {
		st.SubjectKey = v.Value
	}
	return st, nil
}

// StreamKeyState reads one DynamoDB stream record of p's table: the record's
// key state as its new image holds it. Records of deletions have none (ok
// false).
func StreamKeyState(rec events.DynamoDBEventRecord, p dsr.Purpose) (st dsr.KeyState, ok bool, err error) {
	if rec.EventName == string(events.DynamoDBOperationTypeRemove) || rec.Change.NewImage == nil {
		return dsr.KeyState{}, false, nil
	}
	if len(rec.Change.Keys) == 0 {
		return dsr.KeyState{}, false, errors.New("stream record: no key attributes")
	}
	item := make(map[string]types.AttributeValue, len(rec.Change.Keys)+2)
	keyNames := make([]string, 0, len(rec.Change.Keys))
	for name, v := range rec.Change.Keys {
		switch v.DataType() {
		case events.DataTypeString:
			item[name] = &types.AttributeValueMemberS{Value: v.String()}
		case events.DataTypeNumber:
			item[name] = &types.AttributeValueMemberN{Value: v.Number()}
		case events.DataTypeBinary:
			item[name] = &types.AttributeValueMemberB{Value: v.Binary()}
		default:
			return dsr.KeyState{}, false, fmt.Errorf("stream record: key attribute %q has a type keys cannot have", name)
		}
		if name == "" || emptyKeyValue(item[name]) {
			return dsr.KeyState{}, false, fmt.Errorf("stream record: key attribute %q is empty, which keys cannot be", name)
		}
		keyNames = append(keyNames, name)
	}
	for _, name := range []string{p.Identifier, p.SubjectKeyAttribute} {
		if v, has := rec.Change.NewImage[name]; has && v.DataType() == events.DataTypeString {
			item[name] = &types.AttributeValueMemberS{Value: v.String()}
		}
	}
	st, err = keyState(item, keyNames, p)
	return st, err == nil, err
}

// emptyKeyValue reports whether key value v is empty (DynamoDB keys never are).
func emptyKeyValue(v types.AttributeValue) bool {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value == ""
	case *types.AttributeValueMemberN:
		return v.Value == ""
	case *types.AttributeValueMemberB:
		return len(v.Value) == 0
	}
	return true
}

// Keying is the keying table: what the subject-key backfill has done per
// purpose table (a pass, its scan segments' checkpoints, and when it
// completed), and the records whose identifier gives no subject key, with a
// count per UTC day for the DPO's digest. It holds table keys, never an
// identifier.
type Keying struct {
	Client API
	Table  string
}

// unkeyableDays is how long an unkeyable record's entry and a day's count
// are kept.
const unkeyableDays = 90

func keyingKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

// Unkeyable records that the record ref of purpose cannot be keyed, and why.
// A record recorded before is not counted again; a new one counts in the day's
// digest. The entry and the count are one transaction, idempotent for its
// retries (ClientRequestToken), so an SDK retry after a lost answer neither
// loses nor doubles the count. It reports whether the record was new.
func (k *Keying) Unkeyable(ctx context.Context, purpose, ref, reason string, at time.Time) (bool, error) {
	ttl := strconv.FormatInt(at.AddDate(0, 0, unkeyableDays).Unix(), 10)
	entry := keyingKey("unkeyable#"+purpose, ref)
	entry["reason"] = &types.AttributeValueMemberS{Value: reason}
	entry["at"] = &types.AttributeValueMemberS{Value: formatTime(at)}
	entry["ttl"] = &types.AttributeValueMemberN{Value: ttl}
	token := sha256.Sum256([]byte(purpose + "\x00" + ref + "\x00" + formatTime(at)))
	_, err := k.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		ClientRequestToken: aws.String(hex.EncodeToString(token[:16])),
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &k.Table, Item: entry, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Update: &types.Update{
				TableName: &k.Table, Key: keyingKey("digest#"+at.UTC().Format(time.DateOnly), purpose),
				UpdateExpression:          aws.String("ADD n :one SET #ttl = :ttl"),
				ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":ttl": &types.AttributeValueMemberN{Value: ttl}},
			}},
		},
	})
	var canceled *types.TransactionCanceledException
	switch {
	case errors.As(err, &canceled) && len(canceled.CancellationReasons) > 0 && aws.ToString(canceled.CancellationReasons[0].Code) == "ConditionalCheckFailed":
		return false, nil // recorded before
	case err != nil:
		return false, fmt.Errorf("unkeyable record: %w", err)
	}
	return true, nil
}

// UnkeyableDigest returns how many records of each purpose were first found
// unkeyable on UTC day day.
func (k *Keying) UnkeyableDigest(ctx context.Context, day string) (map[string]int, error) {
	in := &dynamodb.QueryInput{
		TableName: &k.Table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "digest#" + day}},
	}
	counts := map[string]int{}
	err := queryPages(ctx, k.Client, in, func(item map[string]types.AttributeValue) error {
		var it struct {
			Purpose string `dynamodbav:"sk"`
			N       int    `dynamodbav:"n"`
		}
		err := attributevalue.UnmarshalMap(item, &it)
		counts[it.Purpose] = it.N
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("unkeyable digest: %w", err)
	}
	return counts, nil
}

type passItem struct {
	Segments    int    `dynamodbav:"segments"`
	StartedAt   string `dynamodbav:"startedAt"`
	CompletedAt string `dynamodbav:"completedAt,omitempty"`
	Version     int    `dynamodbav:"version"`
}

// Pass returns purpose's latest backfill pass (the zero pass if none ran).
func (k *Keying) Pass(ctx context.Context, purpose string) (dsr.BackfillPass, error) {
	out, err := k.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &k.Table, Key: keyingKey("backfill#"+purpose, "pass"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return dsr.BackfillPass{}, fmt.Errorf("backfill pass: %w", err)
	}
	return fromPassItem(purpose, out.Item)
}

func fromPassItem(purpose string, item map[string]types.AttributeValue) (dsr.BackfillPass, error) {
	var it passItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return dsr.BackfillPass{}, fmt.Errorf("backfill pass: %w", err)
	}
	started, err1 := parseTime(it.StartedAt)
	completed, err2 := parseTime(it.CompletedAt)
	if err := errors.Join(err1, err2); err != nil {
		return dsr.BackfillPass{}, fmt.Errorf("backfill pass: %w", err)
	}
	return dsr.BackfillPass{Purpose: purpose, StartedAt: started, Segments: it.Segments, CompletedAt: completed, Version: it.Version}, nil
}

// SavePass stores p if purpose's pass is still at p.Version (another run
// that started or completed a pass meanwhile is EConflict), and returns the
// pass as stored.
func (k *Keying) SavePass(ctx context.Context, p dsr.BackfillPass) (dsr.BackfillPass, error) {
	item, err := attributevalue.MarshalMap(passItem{Segments: p.Segments, StartedAt: formatTime(p.StartedAt), CompletedAt: formatTime(p.CompletedAt), Version: p.Version + 1})
	if err != nil {
		return p, fmt.Errorf("save backfill pass: %w", err)
	}
	for n, v := range keyingKey("backfill#"+p.Purpose, "pass") {
		item[n] = v
	}
	cond := expression.AttributeNotExists(expression.Name("pk"))
	if p.Version > 0 {
		cond = expression.Name("version").Equal(expression.Value(p.Version))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return p, fmt.Errorf("save backfill pass: %w", err)
	}
	_, err = k.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &k.Table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return p, &dsr.Error{Code: dsr.EConflict, Message: "save backfill pass: another run changed it"}
	case err != nil:
		return p, fmt.Errorf("save backfill pass: %w", err)
	}
	p.Version++
	return p, nil
}

type segmentItem struct {
	Pass      string `dynamodbav:"pass"`
	Cursor    string `dynamodbav:"cursor,omitempty"`
	Done      bool   `dynamodbav:"done"`
	Scanned   int    `dynamodbav:"scanned"`
	Keyed     int    `dynamodbav:"keyed"`
	Unkeyable int    `dynamodbav:"unkeyable"`
}

// Segment returns where scan segment i of purpose's backfill stands (the
// zero segment if it never ran).
func (k *Keying) Segment(ctx context.Context, purpose string, i int) (dsr.BackfillSegment, error) {
	out, err := k.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &k.Table, Key: keyingKey("backfill#"+purpose, "segment#"+strconv.Itoa(i)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return dsr.BackfillSegment{}, fmt.Errorf("backfill segment: %w", err)
	}
	var it segmentItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return dsr.BackfillSegment{}, fmt.Errorf("backfill segment: %w", err)
	}
	pass, err := parseTime(it.Pass)
	if err != nil {
		return dsr.BackfillSegment{}, fmt.Errorf("backfill segment: %w", err)
	}
	return dsr.BackfillSegment{Segment: i, Pass: pass, Cursor: it.Cursor, Done: it.Done, Scanned: it.Scanned, Keyed: it.Keyed, Unkeyable: it.Unkeyable}, nil
}

// SaveSegment stores segment s's checkpoint of purpose's backfill. Each
// segment is one item, saved only by the run scanning it.
func (k *Keying) SaveSegment(ctx context.Context, purpose string, s dsr.BackfillSegment) error {
	item, err := attributevalue.MarshalMap(segmentItem{Pass: formatTime(s.Pass), Cursor: s.Cursor, Done: s.Done, Scanned: s.Scanned, Keyed: s.Keyed, Unkeyable: s.Unkeyable})
	if err != nil {
		return fmt.Errorf("save backfill segment: %w", err)
	}
	for n, v := range keyingKey("backfill#"+purpose, "segment#"+strconv.Itoa(s.Segment)) {
		item[n] = v
	}
	if _, err := k.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &k.Table, Item: item}); err != nil {
		return fmt.Errorf("save backfill segment: %w", err)
	}
	return nil
}

// Keyed returns, of purposes, those whose table a backfill pass has keyed
// completely (one BatchGetItem).
func (k *Keying) Keyed(ctx context.Context, purposes []string) (map[string]bool, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(purposes))
	for _, p := range purposes {
		keys = append(keys, keyingKey("backfill#"+p, "pass"))
	}
	items, err := batchGetItems(ctx, k.Client, k.Table, keys, nil)
	if err != nil {
		return nil, fmt.Errorf("keyed purposes: %w", err)
	}
	out := make(map[string]bool, len(purposes))
	for _, item := range items {
		pk, _ := item["pk"].(*types.AttributeValueMemberS)
		if pk == nil {
			continue
		}
		purpose, ok := strings.CutPrefix(pk.Value, "backfill#")
		if !ok {
			continue
		}
		p, err := fromPassItem(purpose, item)
		if err != nil {
			return nil, err
		}
		out[purpose] = p.Complete()
	}
	return out, nil
}
