package awsapp_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/dsr"
)

const registry = `
- {purpose: marketing, table: m, subjectIndex: i, identifier: email, subjectKeyAttribute: sk, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: consent, retention: {de: r, en: r}, erasure: delete, objection: delete}
`

func TestConfigurationErrors(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	full := map[string]string{
		"REQUESTS_TABLE": "t", "TASK_QUEUE_URL": "http://q", "REPORTS_BUCKET": "b", "PURPOSE_REGISTRY": registry,
		"CONTROLLER_NAME": "Shop", "CONTROLLER_CONTACT": "privacy@shop.example", "CONTROLLER_DPO_CONTACT": "dpo@shop.example",
		"SUPERVISORY_AUTHORITY_NAME": "Berliner Beauftragte für Datenschutz und Informationsfreiheit", "SUPERVISORY_AUTHORITY_URL": "https://www.datenschutz-berlin.de", "SUPPRESSION_TABLE": "s", "AUDIT_TABLE": "a",
		"PROVENANCE_TABLE": "p", "RECIPIENT_NOTICE_QUEUE_URL": "http://n", "RETENTION_QUEUE_URL": "http://r",
		"KEYING_TABLE": "k",
	}
	env := func(over map[string]string) awsapp.Env {
		return func(k string) string {
			if v, ok := over[k]; ok {
				return v
			}
			return full[k]
		}
	}
	tests := []struct {
		name  string
		build func(awsapp.Env) error
		over  map[string]string
		want  string // "" for success
	}{
		{"worker builds", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"SENDER_ADDRESS": "privacy@shop.example"}, ""},
		{"worker needs the sender (the completion mail)", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		}, nil, "missing configuration: SENDER_ADDRESS"},
		{"dispatch builds", func(e awsapp.Env) error {
			_, err := awsapp.Dispatch(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"REQUEST_QUEUE_URL": "http://q"}, ""},
		{"deadletter builds", func(e awsapp.Env) error {
			_, err := awsapp.DeadLetter(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"SENDER_ADDRESS": "privacy@shop.example"}, ""},
		{"missing variables are named", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		},
			map[string]string{"REQUESTS_TABLE": "", "CONTROLLER_NAME": " "}, "missing configuration: REQUESTS_TABLE, CONTROLLER_NAME"},
		{"worker needs the DPO and the supervisory authority", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"SENDER_ADDRESS": "a@b.co", "CONTROLLER_DPO_CONTACT": "", "SUPERVISORY_AUTHORITY_NAME": ""},
			"missing configuration: CONTROLLER_DPO_CONTACT, SUPERVISORY_AUTHORITY_NAME"},
		{"worker refuses an authority's address that is not https", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"SENDER_ADDRESS": "a@b.co", "SUPERVISORY_AUTHORITY_URL": "http://www.datenschutz-berlin.de"}, "must be an https URL"},
		{"worker refuses an unknown default language", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"SENDER_ADDRESS": "a@b.co", "DEFAULT_LANGUAGE": "fr"}, `DEFAULT_LANGUAGE: want "de" or "en"`},
		{"intake refuses an unknown default language", func(e awsapp.Env) error {
			_, err := awsapp.Intake(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"REQUEST_QUEUE_URL": "http://q", "PEPPER_SECRET_ARN": "arn:s", "LIMITS_TABLE": "l", "SENDER_ADDRESS": "a@b.co",
			"DEFAULT_LANGUAGE": "de-DE"}, "DEFAULT_LANGUAGE"},
		{"bad registry", func(e awsapp.Env) error {
			_, err := awsapp.Dispatch(context.Background(), aws.Config{}, e, log)
			return err
		},
			map[string]string{"PURPOSE_REGISTRY": "- purpose: x", "REQUEST_QUEUE_URL": "http://q"}, "purpose registry"},
		{"bad reserve", func(e awsapp.Env) error {
			_, err := awsapp.Worker(context.Background(), aws.Config{}, e, log)
			return err
		},
			map[string]string{"WORKER_DEADLINE_RESERVE": "soon", "SENDER_ADDRESS": "privacy@shop.example"}, "WORKER_DEADLINE_RESERVE"},
		{"intake needs its queue and secret", func(e awsapp.Env) error {
			_, err := awsapp.Intake(context.Background(), aws.Config{}, e, log)
			return err
		},
			nil, "missing configuration: REQUEST_QUEUE_URL, PEPPER_SECRET_ARN, LIMITS_TABLE, SENDER_ADDRESS"},
		{"intake refuses a bad client limit", func(e awsapp.Env) error {
			_, err := awsapp.Intake(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"REQUEST_QUEUE_URL": "http://q", "PEPPER_SECRET_ARN": "arn:s", "LIMITS_TABLE": "l", "SENDER_ADDRESS": "a@b.co",
			"CLIENT_LIMIT_INTERVAL": "often"}, "CLIENT_LIMIT_INTERVAL: want a duration"},
		{"dpo needs the pepper for its cursors", func(e awsapp.Env) error {
			_, err := awsapp.Dpo(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"REQUEST_QUEUE_URL": "http://q", "SENDER_ADDRESS": "a@b.co"}, "missing configuration: PEPPER_SECRET_ARN"},
		{"dispatch needs the suppression list", func(e awsapp.Env) error {
			_, err := awsapp.Dispatch(context.Background(), aws.Config{}, e, log)
			return err
		},
			map[string]string{"SUPPRESSION_TABLE": ""}, "missing configuration: SUPPRESSION_TABLE"},
		{"monitor needs the sender and the DPO's address", func(e awsapp.Env) error {
			_, err := awsapp.Monitor(context.Background(), aws.Config{}, e, log)
			return err
		},
			nil, "missing configuration: SENDER_ADDRESS, DPO_ADDRESS, LIMITS_TABLE"},
		{"dispatch needs the request queue for requests that wait", func(e awsapp.Env) error {
			_, err := awsapp.Dispatch(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"KEYING_TABLE": ""}, "missing configuration: REQUEST_QUEUE_URL, KEYING_TABLE"},
		{"keying needs the pepper and the keying table", func(e awsapp.Env) error {
			_, err := awsapp.Keying(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"KEYING_TABLE": ""}, "missing configuration: PEPPER_SECRET_ARN, KEYING_TABLE"},
		{"backfill needs its queue", func(e awsapp.Env) error {
			_, err := awsapp.Backfill(context.Background(), aws.Config{}, e, log)
			return err
		}, nil, "missing configuration: BACKFILL_QUEUE_URL"},
		{"retention builds", func(e awsapp.Env) error {
			_, err := awsapp.Retention(context.Background(), aws.Config{}, e, log)
			return err
		}, nil, ""},
		{"retention needs its queue", func(e awsapp.Env) error {
			_, err := awsapp.Retention(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"RETENTION_QUEUE_URL": ""}, "missing configuration: RETENTION_QUEUE_URL"},
		{"retention refuses a bad number", func(e awsapp.Env) error {
			_, err := awsapp.Retention(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"ACCOUNTABILITY_RETENTION_YEARS": "0"}, "ACCOUNTABILITY_RETENTION_YEARS: want a whole number above 0"},
		{"provenance needs its table, secret and dead-letter queue", func(e awsapp.Env) error {
			_, err := awsapp.Provenance(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"PROVENANCE_TABLE": "", "SUPPRESSION_TABLE": ""}, "missing configuration: PROVENANCE_TABLE, PEPPER_SECRET_ARN, PROVENANCE_DLQ_URL, SUPPRESSION_TABLE"},
		{"provenance refuses a bad retention", func(e awsapp.Env) error {
			_, err := awsapp.Provenance(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"PEPPER_SECRET_ARN": "arn:s", "PROVENANCE_DLQ_URL": "http://d", "PROVENANCE_RETENTION_YEARS": "two"}, "PROVENANCE_RETENTION_YEARS"},
		{"provenance refuses an adequacy list with a country that is none", func(e awsapp.Env) error {
			_, err := awsapp.Provenance(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"PEPPER_SECRET_ARN": "arn:s", "PROVENANCE_DLQ_URL": "http://d", "ADEQUACY_COUNTRIES": "GB,ZZ"}, "ADEQUACY_COUNTRIES: adequacy list: \"ZZ\" is not"},
		{"provenance refuses an EEA country on the adequacy list", func(e awsapp.Env) error {
			_, err := awsapp.Provenance(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"PEPPER_SECRET_ARN": "arn:s", "PROVENANCE_DLQ_URL": "http://d", "ADEQUACY_COUNTRIES": "FR"}, "ADEQUACY_COUNTRIES: adequacy list: FR is inside the EEA"},
		{"retention refuses a bad provenance retention", func(e awsapp.Env) error {
			_, err := awsapp.Retention(context.Background(), aws.Config{}, e, log)
			return err
		}, map[string]string{"PROVENANCE_RETENTION_YEARS": "-1"}, "PROVENANCE_RETENTION_YEARS: want a whole number above 0"},
		{"suppression needs its table and secret", func(e awsapp.Env) error {
			_, err := awsapp.Suppression(context.Background(), aws.Config{}, e, log)
			return err
		},
			map[string]string{"SUPPRESSION_TABLE": ""}, "missing configuration: SUPPRESSION_TABLE, PEPPER_SECRET_ARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build(env(tc.over))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestDeadlinePolicy(t *testing.T) {
	env := func(vars map[string]string) awsapp.Env { return func(k string) string { return vars[k] } }
	if p, err := awsapp.DeadlinePolicy(env(nil)); err != nil || p.Start != dsr.ClockAtReceipt || p.Location.String() != "Europe/Berlin" || p.RollForward || p.Holidays != nil {
		t.Errorf("defaults: %+v %v", p, err)
	}
	p, err := awsapp.DeadlinePolicy(env(map[string]string{
		"DEADLINE_CLOCK_START": "verification", "DEADLINE_TIME_ZONE": "Europe/Paris", "DEADLINE_ROLL_FORWARD": "true", "DEADLINE_HOLIDAYS": "2026-12-25, 2026-12-26",
	}))
	if err != nil || p.Start != dsr.ClockAtVerification || p.Location.String() != "Europe/Paris" || !p.RollForward ||
		!p.Holidays["2026-12-25"] || !p.Holidays["2026-12-26"] || len(p.Holidays) != 2 {
		t.Errorf("verification/Paris/roll-forward: %+v %v", p, err)
	}
	if p, err := awsapp.DeadlinePolicy(env(map[string]string{"DEADLINE_CLOCK_START": "receipt", "DEADLINE_ROLL_FORWARD": "false"})); err != nil || p.Start != dsr.ClockAtReceipt || p.RollForward {
		t.Errorf("receipt, no roll-forward: %+v %v", p, err)
	}
	if p, err := awsapp.DeadlinePolicy(env(map[string]string{"DEADLINE_TIME_ZONE": "UTC"})); err != nil || p.Location.String() != "UTC" {
		t.Errorf("UTC, named: %+v %v", p, err)
	}
	for _, bad := range []map[string]string{
		{"DEADLINE_CLOCK_START": "arrival"}, {"DEADLINE_TIME_ZONE": "Mars/Olympus"}, {"DEADLINE_ROLL_FORWARD": "yes"},
		{"DEADLINE_ROLL_FORWARD": "true", "DEADLINE_HOLIDAYS": "25.12.2026"}, {"DEADLINE_HOLIDAYS": "2026-12-25"},
	} {
		if _, err := awsapp.DeadlinePolicy(env(bad)); err == nil {
			t.Errorf("DeadlinePolicy(%v) accepted", bad)
		}
	}
	if _, err := awsapp.DeadlinePolicy(env(map[string]string{"DEADLINE_HOLIDAYS": "2026-12-25"})); err == nil || !strings.Contains(err.Error(), "DEADLINE_ROLL_FORWARD=true") {
		t.Errorf("holidays without roll-forward: %v", err)
	}
}
