package awsapp_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// TestPortabilityConfiguration: with a portable purpose in the registry the
// worker needs the transmission key's secret; RECEIVER_LOOPBACK_HTTP is
// "true", "false" or unset, for the worker and the intake alike.
func TestPortabilityConfiguration(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	full := map[string]string{
		"REQUESTS_TABLE": "t", "TASK_QUEUE_URL": "http://q", "REPORTS_BUCKET": "b", "PURPOSE_REGISTRY": dsrtest.RegistryYAML,
		"CONTROLLER_NAME": "Shop", "CONTROLLER_CONTACT": "privacy@shop.example", "CONTROLLER_DPO_CONTACT": "dpo@shop.example",
		"SUPERVISORY_AUTHORITY_NAME": "Authority", "SUPERVISORY_AUTHORITY_URL": "https://authority.example", "AUDIT_TABLE": "a",
		"PROVENANCE_TABLE": "p", "RECIPIENT_NOTICE_QUEUE_URL": "http://n", "SENDER_ADDRESS": "privacy@shop.example",
		"TRANSMISSION_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-central-1:000000000000:secret:transmission",
		"REQUEST_QUEUE_URL":           "http://q", "PEPPER_SECRET_ARN": "arn:s", "LIMITS_TABLE": "l", "SUPPRESSION_TABLE": "s",
	}
	env := func(over map[string]string) awsapp.Env {
		return func(k string) string {
			if v, ok := over[k]; ok {
				return v
			}
			return full[k]
		}
	}
	worker := func(e awsapp.Env) error {
		_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
		return err
	}
	intake := func(e awsapp.Env) error {
		_, err := awsapp.Intake(context.Background(), aws.Config{}, e, log)
		return err
	}
	tests := []struct {
		name  string
		build func(awsapp.Env) error
		over  map[string]string
		want  string // "" for success
	}{
		{"worker builds", worker, nil, ""},
		{"worker with loopback", worker, map[string]string{"RECEIVER_LOOPBACK_HTTP": "true"}, ""},
		{"worker needs the key's secret", worker, map[string]string{"TRANSMISSION_KEY_SECRET_ARN": ""}, "TRANSMISSION_KEY_SECRET_ARN is required"},
		{"worker refuses a loopback typo", worker, map[string]string{"RECEIVER_LOOPBACK_HTTP": "yes"}, "RECEIVER_LOOPBACK_HTTP"},
		{"intake refuses a loopback typo", intake, map[string]string{"RECEIVER_LOOPBACK_HTTP": "TRUE "}, "RECEIVER_LOOPBACK_HTTP"},
	}
	for _, tc := range tests {
		err := tc.build(env(tc.over))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
