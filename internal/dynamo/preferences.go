package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// preferenceItem is one change of a preferences request as stored (an
// element of "preferences").
type preferenceItem struct {
	Purpose   string `dynamodbav:"purpose"`
	Channel   string `dynamodbav:"channel,omitempty"`
	Consent   string `dynamodbav:"consent,omitempty"`
	Frequency string `dynamodbav:"frequency,omitempty"`
}

func toPreferenceItems(cs []dsr.PreferenceChange) []preferenceItem {
	var out []preferenceItem
	for _, c := range cs {
		out = append(out, preferenceItem{Purpose: c.Purpose, Channel: string(c.Channel), Consent: c.Consent, Frequency: c.Frequency})
	}
	return out
}

func fromPreferenceItems(items []preferenceItem) []dsr.PreferenceChange {
	var out []dsr.PreferenceChange
	for _, it := range items {
		out = append(out, dsr.PreferenceChange{Purpose: it.Purpose, Channel: dsr.Channel(it.Channel), Consent: it.Consent, Frequency: it.Frequency})
	}
	return out
}

// SetPreferences applies u to the items of refs in p's table, each with a
// conditional UpdateItem: only an item that still holds s's subject key is
// changed (one gone meanwhile, or the CRM's since it changed the address,
// is left alone). The withdrawal attributes take u.At, the frequency its
// value: the same update again changes nothing, so a redelivered task may
// repeat it. It returns how many items it changed.
func (c *Contacts) SetPreferences(ctx context.Context, p dsr.Purpose, s dsr.Subject, refs []string, u dsr.PreferenceUpdate) (int, error) {
	if u.Empty() || len(refs) == 0 {
		return 0, nil
	}
	expr, err := preferenceExpression(p, s, u)
	if err != nil {
		return 0, fmt.Errorf("set %s preferences: %w", p.Name, err)
	}
	var changed atomic.Int64
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
		switch {
		case errors.As(err, &ccf):
			return nil
		case err == nil:
			changed.Add(1)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("set %s preferences: %w", p.Name, err)
	}
	return int(changed.Load()), nil
}

// preferenceExpression sets u's attributes on an item that holds s's
// subject key.
func preferenceExpression(p dsr.Purpose, s dsr.Subject, u dsr.PreferenceUpdate) (expression.Expression, error) {
	var upd expression.UpdateBuilder
	at := expression.Value(u.At.UTC().Format(time.RFC3339))
	for _, a := range u.Withdraw {
		upd = upd.Set(expression.Name(a), at)
	}
	if u.FrequencyAttr != "" {
		upd = upd.Set(expression.Name(u.FrequencyAttr), expression.Value(u.FrequencyValue))
	}
	cond := expression.Name(p.SubjectKeyAttribute).Equal(expression.Value(s.Key))
	return expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
}
