package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// Limits is the limits table: per person, a quota record (dsr.Quota); per
// client, a token bucket; per request and hour, a counter of links; per UTC
// day, a digest of the limits people reached. Keys are keyed hashes or
// request ids, never an address. Every item expires with time to live.
type Limits struct {
	Client API
	Table  string
}

// limitsTTLAttribute is the limits table's time-to-live attribute.
const limitsTTLAttribute = "ttl"

// quotaTries bounds the optimistic retries of a quota change that lost a
// race with another change of the same person's quota.
const quotaTries = 8

type quotaItem struct {
	Key      string           `dynamodbav:"key"`
	Day      string           `dynamodbav:"day"`
	Codes    int              `dynamodbav:"codes"`
	Wrong    int              `dynamodbav:"wrong"`
	Pending  map[string]int64 `dynamodbav:"pending,omitempty"` // request id → code expiry, Unix ms
	Reported []string         `dynamodbav:"reported,omitempty"`
	Version  int              `dynamodbav:"version"`
	// Op is the change that wrote this version: a write whose answer was
	// lost and whose retry then failed its condition finds its own Op, and
	// is not applied twice.
	Op  string `dynamodbav:"op,omitempty"`
	TTL int64  `dynamodbav:"ttl"`
}

func toQuota(it quotaItem) dsr.Quota {
	q := dsr.Quota{Day: it.Day, Codes: it.Codes, Wrong: it.Wrong, Reported: it.Reported}
	for id, ms := range it.Pending {
		if q.Pending == nil {
			q.Pending = map[string]time.Time{}
		}
		q.Pending[id] = time.UnixMilli(ms).UTC()
	}
	return q
}

func fromQuota(key string, q dsr.Quota, version int, op string, now time.Time) quotaItem {
	it := quotaItem{Key: key, Day: q.Day, Codes: q.Codes, Wrong: q.Wrong, Reported: q.Reported, Version: version, Op: op,
		TTL: now.Add(48 * time.Hour).Unix()} // past the day's end and any code's expiry
	for id, t := range q.Pending {
		if it.Pending == nil {
			it.Pending = map[string]int64{}
		}
		it.Pending[id] = t.UnixMilli()
	}
	return it
}

// UpdateQuota reads the quota of the person with key subjectKey, lets change
// change it, and stores the result if it differs, whether or not change
// returned an error (a refusal is recorded too), then returns change's error.
// The write is conditional on the version read, so concurrent changes of one
// quota each apply (change may run more than once).
func (l *Limits) UpdateQuota(ctx context.Context, subjectKey string, now time.Time, change func(*dsr.Quota) error) error {
	key := "subject#" + subjectKey
	op := rand.Text()
	var cerr error
	for try := range quotaTries {
		out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &l.Table, Key: limitKey(key), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("quota: %w", err)
		}
		var it quotaItem
		if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
			return fmt.Errorf("quota: %w", err)
		}
		if try > 0 && it.Op == op {
			return cerr // the last try's write took effect; its answer was lost
		}
		cur := toQuota(it)
		next := cur.Clone()
		cerr = change(&next)
		if cur.Equal(next) {
			return cerr
		}
		err = l.putQuota(ctx, fromQuota(key, next, it.Version+1, op, now), out.Item != nil, it.Version)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if err := backoff(ctx, try); err != nil {
				return fmt.Errorf("quota: %w", err)
			}
			continue // changed meanwhile: read again
		}
		if err != nil {
			return fmt.Errorf("quota: %w", err)
		}
		return cerr
	}
	return fmt.Errorf("quota: it kept changing")
}

func (l *Limits) putQuota(ctx context.Context, it quotaItem, exists bool, version int) error {
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return err
	}
	cond := expression.AttributeNotExists(expression.Name("key"))
	if exists {
		cond = expression.Name("version").Equal(expression.Value(version))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = l.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &l.Table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// TakeRate admits one request at now to the token bucket key (dsr.Rate.Take,
// kept as its theoretical arrival time in Unix ms): 0, or how long to wait.
// It is one conditional write for an idle bucket, two for one in use; the
// second is conditioned on the limit itself, so concurrent requests of one
// client each move the bucket on, and none is lost or admitted twice.
func (l *Limits) TakeRate(ctx context.Context, key string, r dsr.Rate, now time.Time) (time.Duration, error) {
	key = "client#" + key
	tat, ttl := expression.Name("tat"), expression.Name(limitsTTLAttribute)
	expires := expression.Value(now.Add(time.Duration(r.Burst)*r.Every + time.Hour).Unix())
	idle := expression.Set(tat, expression.Value(now.Add(r.Every).UnixMilli())).Set(ttl, expires)
	isIdle := expression.AttributeNotExists(tat).Or(tat.LessThan(expression.Value(now.UnixMilli())))
	busy := expression.Set(tat, expression.Plus(tat, expression.Value(r.Every.Milliseconds()))).Set(ttl, expires)
	limit := now.Add(time.Duration(r.Burst-1) * r.Every).UnixMilli()
	underLimit := tat.Between(expression.Value(now.UnixMilli()), expression.Value(limit))
	for range quotaTries {
		// An idle bucket (new, or its time passed) starts from now.
		if _, ok, err := l.updateIf(ctx, key, idle, isIdle); err != nil || ok {
			return 0, err
		}
		// In use: one interval on, if under the limit.
		old, ok, err := l.updateIf(ctx, key, busy, underLimit)
		if err != nil || ok {
			return 0, err
		}
		if old == nil { // an emulator that does not return the item
			out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &l.Table, Key: limitKey(key), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return 0, fmt.Errorf("rate: %w", err)
			}
			old = out.Item
		}
		var it struct {
			TAT int64 `dynamodbav:"tat"`
		}
		if err := attributevalue.UnmarshalMap(old, &it); err != nil {
			return 0, fmt.Errorf("rate: %w", err)
		}
		if _, wait, allowed := r.Take(time.UnixMilli(it.TAT), now); !allowed {
			return wait, nil
		}
		// Idle again meanwhile (it expired): start over.
	}
	return 0, fmt.Errorf("rate: the bucket kept changing")
}

// CountWindow counts one use of key's window, which ends at until, if fewer
// than limit were counted; it reports whether it counted.
func (l *Limits) CountWindow(ctx context.Context, key string, limit int, until time.Time) (bool, error) {
	n := expression.Name("n")
	upd := expression.Add(n, expression.Value(1)).Set(expression.Name(limitsTTLAttribute), expression.Value(until.Add(time.Hour).Unix()))
	_, ok, err := l.updateIf(ctx, "window#"+key, upd, expression.AttributeNotExists(n).Or(n.LessThan(expression.Value(limit))))
	return ok, err
}

// digestDays is how long a day's digest of limits is kept.
const digestDays = 90

// CountReached counts one more person who reached limit on UTC day day.
func (l *Limits) CountReached(ctx context.Context, day, limit string) error {
	expires, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return fmt.Errorf("limits digest: %w", err)
	}
	upd := expression.Add(expression.Name(digestPrefix+limit), expression.Value(1)).
		Set(expression.Name(limitsTTLAttribute), expression.Value(expires.AddDate(0, 0, digestDays).Unix()))
	expr, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("limits digest: %w", err)
	}
	_, err = l.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &l.Table, Key: limitKey("digest#" + day), UpdateExpression: expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("limits digest: %w", err)
	}
	return nil
}

// digestPrefix starts the digest's attributes, one per limit.
const digestPrefix = "people_"

// Digest returns how many people reached each limit on UTC day day.
func (l *Limits) Digest(ctx context.Context, day string) (dsr.LimitDigest, error) {
	out, err := l.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &l.Table, Key: limitKey("digest#" + day), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return dsr.LimitDigest{}, fmt.Errorf("limits digest: %w", err)
	}
	d := dsr.LimitDigest{Day: day, People: map[string]int{}}
	for name, v := range out.Item {
		limit, ok := strings.CutPrefix(name, digestPrefix)
		if !ok {
			continue
		}
		var n int
		if err := attributevalue.Unmarshal(v, &n); err != nil {
			return dsr.LimitDigest{}, fmt.Errorf("limits digest: %w", err)
		}
		d.People[limit] = n
	}
	return d, nil
}

// updateIf applies upd to item key if cond holds: ok reports whether it did;
// when not, old is the item as it was (nil if there was none).
func (l *Limits) updateIf(ctx context.Context, key string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (old map[string]types.AttributeValue, ok bool, err error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, false, fmt.Errorf("limits %s: %w", strings.SplitN(key, "#", 2)[0], err)
	}
	_, err = l.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &l.Table, Key: limitKey(key),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return ccf.Item, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("limits %s: %w", strings.SplitN(key, "#", 2)[0], err)
	}
	return nil, true, nil
}

func limitKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: key}}
}
