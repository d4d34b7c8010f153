// Package pepper loads the secret pepper of keyed hashes from AWS Secrets
// Manager, once per cold start, and checks that it is the pepper the
// suppression list was keyed with.
package pepper

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/privacyops/dsr/internal/dsr"
)

// API is the part of the Secrets Manager client the loader uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Load returns the secret's value. The value is never logged.
func Load(ctx context.Context, c API, secretID string) ([]byte, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
	if err != nil {
		return nil, fmt.Errorf("load pepper: %w", err)
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	if len(out.SecretBinary) > 0 {
		return out.SecretBinary, nil
	}
	return nil, fmt.Errorf("load pepper: secret is empty")
}

// Canary keeps the canary of the pepper the suppression list is keyed with
// (dynamo.Suppressions.Canary).
type Canary interface {
	Canary(ctx context.Context, value string) (string, error)
}

// ErrMismatch is a pepper other than the one the suppression list was
// written with: with it, no suppression would match.
var ErrMismatch = errors.New("the pepper is not the one the suppression table was written with: " +
	"every suppression would silently stop matching, so this function refuses to run; " +
	"restore the secret's value from its backup (README: restoring the pepper)")

// Check compares h's canary with the suppression table's, writing it there
// if the table has none yet (its first start): ErrMismatch if they differ.
func Check(ctx context.Context, c Canary, h *dsr.Hasher) error {
	stored, err := c.Canary(ctx, h.Canary())
	if err != nil {
		return fmt.Errorf("check pepper: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(h.Canary())) != 1 {
		return ErrMismatch
	}
	return nil
}
