// Package seed makes the demo data of the local stack (docs/api.md "Local run"):
// ada@example.com in every purpose table, grace@example.com in customer_care
// and billing only, and over a thousand other generated contacts. The data is
// deterministic, so tests can compare a report with what was seeded. It is
// written only into tables that hold nothing (Load, Empty), so that a second
// start on the same emulator brings back nothing that was erased.
package seed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// The demo subjects of docs/api.md.
const (
	Ada   = "ada@example.com"
	Grace = "grace@example.com"
)

// Others is how many generated contacts are spread over the tables.
const Others = 1200

// Item is one seeded contact record of a purpose table, before its key.
type Item map[string]any

// AdaAsTheCRMWroteHer are the forms of ada's address the CRM stored some of
// her records under, one per purpose: found by her requests like the others
// once the keying function has keyed them.
var AdaAsTheCRMWroteHer = map[string]string{
	"marketing":     "ADA@EXAMPLE.COM",
	"customer_care": " Ada@Example.com ",
	"billing":       "ada@EXAMPLE.com",
}

// Items returns the demo records of every purpose of reg, by purpose name,
// as they are once keyed: each with its subject key (hasher's HMAC of its
// identifier, normalized). keyAttr gives each purpose table's partition key
// attribute.
func Items(reg dsr.Registry, keyAttr map[string]string, hasher *dsr.Hasher) (map[string][]Item, error) {
	out := map[string][]Item{}
	rng := rand.New(rand.NewPCG(2026, 11))
	var err error
	add := func(p dsr.Purpose, email string, n int) {
		idx := len(out[p.Name])
		it := Item{
			keyAttr[p.Name]: fmt.Sprintf("%s-%05d", p.Name, idx),
			p.Identifier:    email,
		}
		normalized, nerr := dsr.NormalizeEmail(email)
		err = errors.Join(err, nerr)
		it[p.SubjectKeyAttribute] = hasher.Subject(normalized)
		for k, v := range fields(p.Name, normalized, n) {
			it[k] = v
		}
		out[p.Name] = append(out[p.Name], it)
	}
	for _, p := range reg {
		if keyAttr[p.Name] == "" {
			return nil, fmt.Errorf("seed: no key attribute for purpose %q", p.Name)
		}
		if keyAttr[p.Name] == p.Identifier {
			return nil, fmt.Errorf("seed: purpose %q: the key attribute cannot be the subject identifier", p.Name)
		}
		for n := range adaRecords(p.Name) {
			add(p, Ada, n)
		}
		if form, ok := AdaAsTheCRMWroteHer[p.Name]; ok {
			add(p, form, 4) // an invoice of 2026, like her first
		}
		for n := range graceRecords(p.Name) {
			add(p, Grace, n)
		}
	}
	for i := range Others {
		email := fmt.Sprintf("person%04d@example.net", i)
		for _, p := range reg {
			if rng.IntN(3) == 0 {
				add(p, email, rng.IntN(3))
			}
		}
	}
	return out, err
}

// Of returns the records of items (of purpose p) whose identifier is email's
// by the one address rule, whatever form the CRM stored it in.
func Of(items []Item, p dsr.Purpose, email string) []Item {
	var out []Item
	for _, it := range items {
		if s, ok := it[p.Identifier].(string); ok {
			if n, err := dsr.NormalizeEmail(s); err == nil && n == email {
				out = append(out, it)
			}
		}
	}
	return out
}

// adaRecords is how many records ada has per demo purpose: at least one in
// every purpose.
func adaRecords(purpose string) int {
	switch purpose {
	case "customer_care":
		return 2
	case "billing":
		return 4
	default:
		return 1
	}
}

// graceRecords is how many records grace has: customer_care and billing only.
func graceRecords(purpose string) int {
	switch purpose {
	case "customer_care":
		return 1
	case "billing":
		return 2
	default:
		return 0
	}
}

func fields(purpose, email string, n int) Item {
	name := map[string]string{Ada: "Ada Lovelace", Grace: "Grace Hopper"}[email]
	if name == "" {
		name = "Demo Person"
	}
	switch purpose {
	case "marketing":
		// A consent per channel (§7 UWG): e-mail and post, both given.
		return Item{"name": name, "emailConsentAt": "2025-03-14T09:30:00Z", "postConsentAt": "2025-03-14T09:31:00Z", "segment": "loyal-customers"}
	case "newsletter":
		return Item{"name": name, "subscribedAt": "2025-06-01T12:00:00Z", "frequency": "monthly", "doubleOptIn": true}
	case "customer_care":
		return Item{"name": name, "ticket": fmt.Sprintf("T-%04d", 1000+n), "note": "Asked about delivery times.", "lastPurchase": "2026-02-20"}
	case "billing":
		// Invoices of several years: their statutory retention (8 years)
		// ends year by year; ada's of 2014 is past it (deletable from
		// 2023), her 2020 one restricted until 2029.
		year := []int{2026, 2023, 2020, 2014}[n%4]
		return Item{"name": name, "invoiceNumber": fmt.Sprintf("INV-%d-%04d", year, 100+n), "amountCents": 4990 + 100*n, "currency": "EUR", "issuedOn": fmt.Sprintf("%d-01-15", year)}
	default:
		return Item{"name": name, "note": "generated demo record"}
	}
}

// KeyAttributes reads each purpose table's partition key attribute.
func KeyAttributes(ctx context.Context, c *dynamodb.Client, reg dsr.Registry) (map[string]string, error) {
	keys := map[string]string{}
	for _, p := range reg {
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &p.Table})
		if err != nil {
			return nil, fmt.Errorf("seed: describe %s: %w", p.Table, err)
		}
		for _, k := range out.Table.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				keys[p.Name] = *k.AttributeName
			}
		}
	}
	return keys, nil
}

// Load writes the demo records into the purpose tables that hold no item
// and returns how many it wrote per purpose, and the tables it left as they
// were: one that holds anything was seeded before (the local stack started
// again on an emulator that still runs), and what was erased from it since
// must stay erased. Records whose address is in its normalized form are
// written with their subject key, as a stack that has been running holds
// them; the others, as the CRM wrote them (AdaAsTheCRMWroteHer), without:
// the keying keys them. The records are made from the whole registry
// whichever tables are written, so that each table's are always the same.
func Load(ctx context.Context, c *dynamodb.Client, reg dsr.Registry, hasher *dsr.Hasher) (counts map[string]int, skipped []string, err error) {
	keys, err := KeyAttributes(ctx, c, reg)
	if err != nil {
		return nil, nil, err
	}
	items, err := Items(reg, keys, hasher)
	if err != nil {
		return nil, nil, err
	}
	counts = map[string]int{}
	for _, p := range reg {
		switch empty, err := Empty(ctx, c, p.Table); {
		case err != nil:
			return nil, nil, err
		case !empty:
			skipped = append(skipped, p.Table)
			continue
		}
		avs, err := asWritten(p, items[p.Name])
		if err != nil {
			return nil, nil, err
		}
		if err := dynamo.BatchPut(ctx, c, p.Table, avs); err != nil {
			return nil, nil, fmt.Errorf("seed: %w", err)
		}
		counts[p.Name] = len(avs)
	}
	return counts, skipped, nil
}

// asWritten marshals the records of purpose p as they are stored: without
// the subject key where the address is not in its normalized form.
func asWritten(p dsr.Purpose, items []Item) ([]map[string]types.AttributeValue, error) {
	avs := make([]map[string]types.AttributeValue, 0, len(items))
	for _, it := range items {
		if n, _ := dsr.NormalizeEmail(it[p.Identifier].(string)); n != it[p.Identifier] {
			it = maps.Clone(it)
			delete(it, p.SubjectKeyAttribute)
		}
		av, err := attributevalue.MarshalMap(map[string]any(it))
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", p.Name, err)
		}
		avs = append(avs, av)
	}
	return avs, nil
}

// Empty reports whether table holds no item; it reads one at most.
func Empty(ctx context.Context, c *dynamodb.Client, table string) (bool, error) {
	out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: &table, Limit: aws.Int32(1), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("seed: read %s: %w", table, err)
	}
	return len(out.Items) == 0, nil
}
