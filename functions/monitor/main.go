// Command monitor is the daily deadline-monitor Lambda function (scheduled).
// It only wires: the handler of package monitor, built from the environment
// template.yaml sets, started with aws-lambda-go.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/monitor"
)

func main() {
	awsapp.Main("monitor", awsapp.Monitor, func(h *monitor.Handler) { lambda.Start(h.Handle) })
}
