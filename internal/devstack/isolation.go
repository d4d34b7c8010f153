package devstack

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// transactions isolates the local stack's DynamoDB transactions from its
// other DynamoDB calls. moto does not: before a TransactWriteItems it copies
// every table the transaction writes and, when the transaction is canceled
// (a condition failed, as one that lost a race for a request's trail head
// does), puts the copies back, undoing every write another call made to
// those tables meanwhile, to any item. DynamoDB isolates a transaction to
// its own items. So here a transaction runs alone, each attempt, and the
// other DynamoDB calls run together between transactions. On DynamoDB, or
// an emulator that isolates transactions, this only costs some waiting.
var transactions sync.RWMutex

// isolated returns cfg with transactions isolated (see transactions).
func isolated(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("IsolateEmulatorTransactions",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetServiceID(ctx) != "DynamoDB" {
					return next.HandleFinalize(ctx, in)
				}
				if awsmiddleware.GetOperationName(ctx) == "TransactWriteItems" {
					transactions.Lock()
					defer transactions.Unlock()
				} else {
					transactions.RLock()
					defer transactions.RUnlock()
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
	return cfg
}
