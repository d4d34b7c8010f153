package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// Suppressions is the suppression list: one item per subject key and scope
// (a purpose, or "*" for every purpose; an entry of one channel of a
// purpose is keyed "purpose#channel", and names its channel). It holds keyed hashes, never an
// identifier, and has no TTL: it outlives the data it protects.
type Suppressions struct {
	Client API
	Table  string
}

type suppressionItem struct {
	SubjectKey string `dynamodbav:"subjectKey"`
	Scope      string `dynamodbav:"scope"`
	Channel    string `dynamodbav:"channel,omitempty"`
	Reason     string `dynamodbav:"reason"`
	Since      string `dynamodbav:"since"`
	RequestID  string `dynamodbav:"requestId"`
}

// Add puts each entry unless the subject is already suppressed for that
// scope: the first entry, with its reason and date, stays.
func (s *Suppressions) Add(ctx context.Context, entries []dsr.Suppression) error {
	cond := expression.AttributeNotExists(expression.Name("subjectKey"))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("add suppression: %w", err)
	}
	for _, e := range entries {
		if e.SubjectKey == "" || e.Scope == "" {
			return fmt.Errorf("add suppression: entry without subject key or scope")
		}
		item, err := attributevalue.MarshalMap(suppressionItem{
			SubjectKey: e.SubjectKey, Scope: scopeKey(e), Channel: string(e.Channel), Reason: e.Reason, Since: formatTime(e.Since), RequestID: e.RequestID,
		})
		if err != nil {
			return fmt.Errorf("add suppression: %w", err)
		}
		_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.Table, Item: item,
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			return fmt.Errorf("add suppression: %w", err)
		}
	}
	return nil
}

// Entries returns every entry of the subject with key subjectKey (one
// strongly consistent Query; a subject has a handful at most).
func (s *Suppressions) Entries(ctx context.Context, subjectKey string) ([]dsr.Suppression, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key("subjectKey").Equal(expression.Value(subjectKey))).Build()
	if err != nil {
		return nil, fmt.Errorf("suppression entries: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.Table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	var out []dsr.Suppression
	err = queryPages(ctx, s.Client, in, func(item map[string]types.AttributeValue) error {
		var it suppressionItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		since, err := parseTime(it.Since)
		out = append(out, dsr.Suppression{SubjectKey: it.SubjectKey, Scope: strings.TrimSuffix(it.Scope, "#"+it.Channel), Channel: dsr.Channel(it.Channel), Reason: it.Reason, Since: since, RequestID: it.RequestID})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("suppression entries: %w", err)
	}
	return out, nil
}

// scopeKey is entry e's sort key: its scope, and its channel where it has
// one (no scope holds "#").
func scopeKey(e dsr.Suppression) string {
	if e.Channel == "" {
		return e.Scope
	}
	return e.Scope + "#" + string(e.Channel)
}

// Remove deletes the subject's entry for scope if request requestID added it
// (an overridden objection lifts its own suppression, never an erasure's).
func (s *Suppressions) Remove(ctx context.Context, subjectKey, scope, requestID string) error {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("requestId").Equal(expression.Value(requestID))).Build()
	if err != nil {
		return fmt.Errorf("remove suppression: %w", err)
	}
	_, err = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.Table,
		Key: map[string]types.AttributeValue{
			"subjectKey": &types.AttributeValueMemberS{Value: subjectKey}, "scope": &types.AttributeValueMemberS{Value: scope},
		},
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("remove suppression: %w", err)
	}
	return nil
}

// canaryKey is the suppression table's canary entry, which no subject key
// (64 hex digits) can name.
var canaryKey = map[string]types.AttributeValue{
	"subjectKey": &types.AttributeValueMemberS{Value: "#canary"}, "scope": &types.AttributeValueMemberS{Value: "#pepper"},
}

// Canary writes value as the table's canary entry unless it has one, and
// returns the canary as stored: value, or what the first function to start
// with this table wrote.
func (s *Suppressions) Canary(ctx context.Context, value string) (string, error) {
	item := map[string]types.AttributeValue{"check": &types.AttributeValueMemberS{Value: value}}
	for k, v := range canaryKey {
		item[k] = v
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("subjectKey"))).Build()
	if err != nil {
		return "", fmt.Errorf("pepper canary: %w", err)
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.Table, Item: item, ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return value, nil
	case !errors.As(err, &ccf):
		return "", fmt.Errorf("pepper canary: %w", err)
	}
	old := ccf.Item
	if old == nil { // an emulator that does not return the item
		out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: canaryKey, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("pepper canary: %w", err)
		}
		old = out.Item
	}
	check, ok := old["check"].(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("pepper canary: the entry holds no check value")
	}
	return check.Value, nil
}
