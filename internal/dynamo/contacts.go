package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// Contacts reads the purpose-partitioned contact tables through each
// purpose's subject index. It never scans.
type Contacts struct {
	Client API
	// Limit caps the items of one page (0: DynamoDB's 1 MB page).
	Limit int32
	// DueTable holds the due list of statutory restrictions (the
	// provenance table; see restrictions.go): required to restrict
	// statutorily, and to end restrictions.
	DueTable string

	keys sync.Map // table name → its key attribute names
}

// FindPage returns one page of subject s's records in purpose p's table
// from cursor on ("" for the first page), every attribute as stored, and the
// cursor of the next page ("" after the last). The subject index holds keys
// only: the items are read from the table, strongly consistent, and only
// those that are still s's are kept (owned). Cursors hold the table's key of
// the last item read, never the subject key.
func (c *Contacts) FindPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]dsr.Record, string, error) {
	keyNames, err := c.keySchema(ctx, p.Table)
	if err != nil {
		return nil, "", fmt.Errorf("find %s records: %w", p.Name, err)
	}
	out, next, err := c.query(ctx, p, s.Key, cursor, projection(keyNames))
	if err != nil {
		return nil, "", fmt.Errorf("find %s records: %w", p.Name, err)
	}
	refs, err := keyRefs(out.Items, keyNames)
	if err != nil {
		return nil, "", fmt.Errorf("find %s records: %w", p.Name, err)
	}
	byRef, err := c.owned(ctx, p, keyNames, refs, s, false)
	if err != nil {
		return nil, "", fmt.Errorf("find %s records: %w", p.Name, err)
	}
	records := make([]dsr.Record, 0, len(byRef))
	for _, ref := range refs { // in the index's order
		if item, ok := byRef[ref]; ok {
			records = append(records, dsr.Record{Table: p.Table, Item: fromAttributeValues(item)})
		}
	}
	return records, next, nil
}

// owned reads the items of refs from p's table, strongly consistent (every
// attribute, or with keysOnly the key, the identifier, the subject key and
// the restriction mark), and returns by reference those that are s's: they
// hold s's subject key, and their identifier is s's address by the one
// address rule (dsr.Subject.Owns). The key alone proves nothing: it is stale
// while the stream has not yet keyed a changed address, and an index can lag
// behind the table.
func (c *Contacts) owned(ctx context.Context, p dsr.Purpose, keyNames, refs []string, s dsr.Subject, keysOnly bool) (map[string]map[string]types.AttributeValue, error) {
	var extra []string
	if keysOnly {
		extra = []string{p.Identifier, p.SubjectKeyAttribute, RestrictionAttribute}
	}
	items, err := c.batchGet(ctx, p.Table, keyNames, refs, extra...)
	if err != nil {
		return nil, err
	}
	byRef := make(map[string]map[string]types.AttributeValue, len(items))
	for _, item := range items {
		if k, ok := item[p.SubjectKeyAttribute].(*types.AttributeValueMemberS); !ok || k.Value != s.Key {
			continue
		}
		var identifier *string
		if v, ok := item[p.Identifier].(*types.AttributeValueMemberS); ok {
			identifier = &v.Value
		}
		if !s.Owns(identifier) {
			continue
		}
		ref, err := keyRefs([]map[string]types.AttributeValue{item}, keyNames)
		if err != nil {
			return nil, err
		}
		byRef[ref[0]] = item
	}
	return byRef, nil
}

// query reads one page of the subject's items through p's subject index
// from cursor on, with proj (none: every attribute the index holds), and
// returns the cursor of the next page without the subject key.
func (c *Contacts) query(ctx context.Context, p dsr.Purpose, subjectKey, cursor string, proj *expression.ProjectionBuilder) (*dynamodb.QueryOutput, string, error) {
	b := expression.NewBuilder().WithKeyCondition(expression.Key(p.SubjectKeyAttribute).Equal(expression.Value(subjectKey)))
	if proj != nil {
		b = b.WithProjection(*proj)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, "", err
	}
	in := &dynamodb.QueryInput{
		TableName: &p.Table, IndexName: &p.SubjectIndex,
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if c.Limit > 0 {
		in.Limit = &c.Limit
	}
	if cursor != "" {
		if in.ExclusiveStartKey, err = DecodeCursor(cursor); err != nil {
			return nil, "", err
		}
		// The subject key is the index key: it was left out of the cursor
		// (which travels in queue messages) and is put back.
		in.ExclusiveStartKey[p.SubjectKeyAttribute] = &types.AttributeValueMemberS{Value: subjectKey}
	}
	out, err := c.Client.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		delete(out.LastEvaluatedKey, p.SubjectKeyAttribute)
		if next, err = EncodeCursor(out.LastEvaluatedKey); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// cursorValue is one key attribute of a LastEvaluatedKey: keys are strings,
// numbers or binary.
type cursorValue struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
	B []byte  `json:"B,omitempty"`
}

// EncodeCursor turns a LastEvaluatedKey into an opaque string that fits in a
// queue message.
func EncodeCursor(k map[string]types.AttributeValue) (string, error) {
	m := make(map[string]cursorValue, len(k))
	for name, v := range k {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			m[name] = cursorValue{S: &v.Value}
		case *types.AttributeValueMemberN:
			m[name] = cursorValue{N: &v.Value}
		case *types.AttributeValueMemberB:
			m[name] = cursorValue{B: v.Value}
		default:
			return "", fmt.Errorf("encode cursor: key attribute %q has a type keys cannot have", name)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeCursor is the inverse of EncodeCursor.
func DecodeCursor(s string) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode cursor: %w", err)
	}
	var m map[string]cursorValue
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode cursor: %w", err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("decode cursor: empty")
	}
	k := make(map[string]types.AttributeValue, len(m))
	for name, v := range m {
		switch {
		case v.S != nil && v.N == nil && v.B == nil:
			k[name] = &types.AttributeValueMemberS{Value: *v.S}
		case v.N != nil && v.S == nil && v.B == nil:
			k[name] = &types.AttributeValueMemberN{Value: *v.N}
		case v.B != nil && v.S == nil && v.N == nil:
			k[name] = &types.AttributeValueMemberB{Value: v.B}
		default:
			return nil, fmt.Errorf("decode cursor: attribute %q must have exactly one of S, N, B", name)
		}
	}
	return k, nil
}

// BatchPut writes items to table in batches of 25, retrying unprocessed items
// with exponential backoff and full jitter until ctx ends.
func BatchPut(ctx context.Context, c API, table string, items []map[string]types.AttributeValue) error {
	reqs := make([]types.WriteRequest, 0, len(items))
	for _, it := range items {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	if err := batchWrite(ctx, c, table, reqs); err != nil {
		return fmt.Errorf("batch put %s: %w", table, err)
	}
	return nil
}

// fromAttributeValues gives an item every attribute as stored: numbers stay
// decimal strings (json.Number), not float64, so 12345678901234567890 and
// 1700000000 reach the report digit for digit.
func fromAttributeValues(item map[string]types.AttributeValue) map[string]any {
	m := make(map[string]any, len(item))
	for k, v := range item {
		m[k] = fromAttributeValue(v)
	}
	return m
}

func fromAttributeValue(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return json.Number(v.Value)
	case *types.AttributeValueMemberB:
		return v.Value
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberM:
		return fromAttributeValues(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = fromAttributeValue(e)
		}
		return l
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberNS:
		l := make([]json.Number, len(v.Value))
		for i, n := range v.Value {
			l[i] = json.Number(n)
		}
		return l
	case *types.AttributeValueMemberBS:
		return v.Value
	default:
		return nil
	}
}
