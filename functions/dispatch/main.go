// Command dispatch is the request-queue (SQS) Lambda function. It only wires: the
// handler of package dispatch, built from the environment template.yaml sets,
// started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/dispatch"
)

func main() {
	awsapp.Main("dispatch", awsapp.Dispatch, func(h *dispatch.Handler) { lambda.Start(h.Handle) })
}
