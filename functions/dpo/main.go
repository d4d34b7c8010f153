// Command dpo is the DPO-routes (API Gateway HTTP API, JWT-authorized) Lambda
// function. It only wires: the handler of package dpo, built from the
// environment template.yaml sets, started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/dpo"
)

func main() {
	awsapp.Main("dpo", awsapp.Dpo, func(h *dpo.Handler) { lambda.Start(h.Handle) })
}
