package awsapp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/pepper"
	"github.com/privacyops/dsr/internal/webhook"
)

// receiverPolicy reads RECEIVER_LOOPBACK_HTTP: "true" lets a portability
// request name http://127.0.0.1:<port> (the local stack sets it for its
// tests; a deployment never does); unset or "false": public https only.
func receiverPolicy(env Env) (dsr.ReceiverPolicy, error) {
	switch v := strings.TrimSpace(env("RECEIVER_LOOPBACK_HTTP")); v {
	case "", "false":
		return dsr.ReceiverPolicy{}, nil
	case "true":
		return dsr.ReceiverPolicy{LoopbackHTTP: true}, nil
	default:
		return dsr.ReceiverPolicy{}, fmt.Errorf(`RECEIVER_LOOPBACK_HTTP: want "true" or "false", got %q`, v)
	}
}

// transmitter is the sender of portability exports, signing with the key
// in the secret TRANSMISSION_KEY_SECRET_ARN names (read at the first
// export, then kept), or nil where the registry has no portable purpose.
func transmitter(cfg aws.Config, env Env, reg dsr.Registry) (*webhook.Sender, error) {
	if len(reg.Portable()) == 0 {
		return nil, nil
	}
	secretID := strings.TrimSpace(env("TRANSMISSION_KEY_SECRET_ARN"))
	if secretID == "" {
		return nil, fmt.Errorf("TRANSMISSION_KEY_SECRET_ARN is required: the registry has portable purposes")
	}
	pol, err := receiverPolicy(env)
	if err != nil {
		return nil, err
	}
	k := &transmissionKey{client: secretsmanager.NewFromConfig(cfg), secretID: secretID}
	return &webhook.Sender{
		Key: k.get, Client: webhook.NewClient(pol.LoopbackHTTP), LoopbackAllowed: pol.LoopbackHTTP,
		Attempts: 3, Backoff: time.Second, Timeout: 5 * time.Second,
	}, nil
}

// transmissionKey loads the signing key once it is first needed and keeps
// it; a failed load is tried again on the next export.
type transmissionKey struct {
	client   pepper.API
	secretID string
	mu       sync.Mutex
	key      []byte
}

func (k *transmissionKey) get(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	key, err := pepper.Load(ctx, k.client, k.secretID)
	if err != nil {
		return nil, fmt.Errorf("transmission key: %w", err)
	}
	k.key = key
	return key, nil
}
