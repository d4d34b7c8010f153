//go:build integration

package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/pepper"
)

// TestWrongPepperRefusesToRun: the stack's functions started with the pepper
// and wrote the suppression table's canary. Once the secret holds another
// value (a stack created again without restoring it), every function that
// loads the pepper refuses to start; with the old value back, they start.
func TestWrongPepperRefusesToRun(t *testing.T) {
	cfg := awsConfig(t)
	stack, _ := startStack(t, cfg, nil)
	ctx := context.Background()
	secret := stack.Names["PepperSecret"].Ref
	sm := secretsmanager.NewFromConfig(cfg)
	old, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secret})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]map[string]string{}
	for _, fn := range stack.Functions {
		e := map[string]string{"AWS_ENDPOINT_URL": *cfg.BaseEndpoint, "AWS_LAMBDA_FUNCTION_NAME": fn.LogicalID}
		for k, v := range fn.Environment {
			e[k] = v
		}
		env[fn.LogicalID] = e
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	builds := map[string]func(map[string]string) error{
		"IntakeFunction": func(e map[string]string) error {
			_, err := awsapp.Intake(ctx, cfg, func(k string) string { return e[k] }, log)
			return err
		},
		"SuppressionFunction": func(e map[string]string) error {
			_, err := awsapp.Suppression(ctx, cfg, func(k string) string { return e[k] }, log)
			return err
		},
		"ProvenanceFunction": func(e map[string]string) error {
			_, err := awsapp.Provenance(ctx, cfg, func(k string) string { return e[k] }, log)
			return err
		},
		"DpoFunction": func(e map[string]string) error {
			_, err := awsapp.Dpo(ctx, cfg, func(k string) string { return e[k] }, log)
			return err
		},
	}
	put := func(v string) {
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &secret, SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	put("a new pepper, as a stack created again would generate it")
	for name, build := range builds {
		if err := build(env[name]); !errors.Is(err, pepper.ErrMismatch) {
			t.Errorf("%s with a new pepper: %v, want it to refuse (pepper.ErrMismatch)", name, err)
		}
	}
	put(*old.SecretString)
	for name, build := range builds {
		if err := build(env[name]); err != nil {
			t.Errorf("%s with the restored pepper: %v", name, err)
		}
	}
}
