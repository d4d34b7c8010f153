// Command backfill is the subject-key backfill's Lambda function, invoked
// directly ({"purpose": "*"}) and by its continuation queue. It only wires:
// the job of package keying, built from the environment template.yaml sets,
// started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/keying"
)

func main() {
	awsapp.Main("backfill", awsapp.Backfill, func(b *keying.Backfill) { lambda.Start(b.Invoke) })
}
