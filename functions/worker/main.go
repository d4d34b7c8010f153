// Command worker is the task-queue (SQS) Lambda function. It only wires: the
// handler of package worker, built from the environment template.yaml sets,
// started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/worker"
)

func main() {
	awsapp.Main("worker", awsapp.Worker, func(h *worker.Handler) { lambda.Start(h.Handle) })
}
