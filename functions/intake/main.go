// Command intake is the subject-routes (API Gateway HTTP API) Lambda function. It only wires: configuration
// from the environment (template.yaml), clients, and the handler of package
// intake, started with aws-lambda-go.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/privacyops/dsr/internal/awsapp"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	if err := run(context.Background(), log); err != nil {
		log.Error("start intake", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := awsapp.LoadConfig(ctx)
	if err != nil {
		return err
	}
	h, err := awsapp.Intake(ctx, cfg, os.Getenv, log)
	if err != nil {
		return err
	}
	lambda.Start(h.Handle)
	return nil
}
