// Command suppression is the suppression-check (integration API, IAM-authorized)
// Lambda function. It only wires: the handler of package suppression, built
// from the environment template.yaml sets, started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/suppression"
)

func main() {
	awsapp.Main("suppression", awsapp.Suppression, func(h *suppression.Handler) { lambda.Start(h.Handle) })
}
