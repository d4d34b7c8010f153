// Command auditcheck proves a request's audit trail intact, or names its first
// broken entry (exit status 1). It reads the trail from the audit table with
// the usual AWS configuration (AWS_ENDPOINT_URL for the local stack); with
// the requests table too (-requests, $REQUESTS_TABLE) it checks what the DPO
// route checks: also the trail's head and the steps the request's status
// implies.
//
//	AUDIT_TABLE=dsr-local-AuditTable AWS_ENDPOINT_URL=http://127.0.0.1:4566 go run ./infra/auditcheck -request 01J...
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

func main() {
	ok, err := run(context.Background(), os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "auditcheck:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) (bool, error) {
	fs := flag.NewFlagSet("auditcheck", flag.ContinueOnError)
	id := fs.String("request", "", "the request's id")
	table := fs.String("table", os.Getenv("AUDIT_TABLE"), "the audit table (default: $AUDIT_TABLE)")
	requests := fs.String("requests", os.Getenv("REQUESTS_TABLE"), "the requests table, to check the head and the implied steps too (default: $REQUESTS_TABLE)")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if _, err := ulid.ParseStrict(*id); err != nil {
		return false, errors.New("-request must be a request id (a ULID)")
	}
	if *table == "" {
		return false, errors.New("no audit table: set AUDIT_TABLE or -table")
	}
	cfg, err := awsapp.LoadConfig(ctx)
	if err != nil {
		return false, err
	}
	c := dsr.NewAuditChecker(*id)
	entries := 0
	err = (&dynamo.Audit{Client: dynamodb.NewFromConfig(cfg), Table: *table}).Walk(ctx, *id, func(page []dsr.AuditEntry) error {
		for _, e := range page {
			c.Add(e)
		}
		entries += len(page)
		return nil
	})
	if err != nil {
		return false, err
	}
	if entries == 0 {
		return false, fmt.Errorf("request %s has no audit trail in %s", *id, *table)
	}
	check := c.Result()
	if *requests != "" {
		r, err := (&dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: *requests}).Get(ctx, *id)
		if err != nil {
			return false, fmt.Errorf("request %s: %w", *id, err)
		}
		check = c.Check(r)
	}
	out, _ := json.Marshal(check)
	fmt.Println(string(out))
	return check.Intact, nil
}
