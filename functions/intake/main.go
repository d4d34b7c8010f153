// Command intake is the subject-routes (API Gateway HTTP API) Lambda function. It only wires: the
// handler of package intake, built from the environment template.yaml sets,
// started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/intake"
)

func main() {
	awsapp.Main("intake", awsapp.Intake, func(h *intake.Handler) { lambda.Start(h.Handle) })
}
