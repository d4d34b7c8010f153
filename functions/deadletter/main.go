// Command deadletter is the dead-letter-queue (SQS) Lambda function. It only wires: the
// handler of package deadletter, built from the environment template.yaml sets,
// started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/deadletter"
)

func main() {
	awsapp.Main("deadletter", awsapp.DeadLetter, func(h *deadletter.Handler) { lambda.Start(h.Handle) })
}
