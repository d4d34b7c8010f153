// Command provenance is the provenance-queue (SQS) Lambda function. It only
// wires: the handler of package provenance, built from the environment
// template.yaml sets, started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/provenance"
)

func main() {
	awsapp.Main("provenance", awsapp.Provenance, func(h *provenance.Handler) { lambda.Start(h.Handle) })
}
