// Command keying is the purpose tables' stream consumer (DynamoDB Streams)
// Lambda function. It only wires: the handler of package keying, built from
// the environment template.yaml sets, started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/keying"
)

func main() {
	awsapp.Main("keying", awsapp.Keying, func(h *keying.Handler) { lambda.Start(h.Handle) })
}
