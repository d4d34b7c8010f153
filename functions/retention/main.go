// Command retention is the retention job's Lambda function, invoked by its
// daily schedule and by its continuation queue. It only wires: the handler
// of package retention, built from the environment template.yaml sets,
// started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/retention"
)

func main() {
	awsapp.Main("retention", awsapp.Retention, func(h *retention.Handler) { lambda.Start(h.Invoke) })
}
