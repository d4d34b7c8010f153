package sesmail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/privacyops/dsr/internal/dsr"
)

type rejecting struct{ err error }

func (r rejecting) SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return nil, r.err
}

func TestErrorsDoNotNameTheRecipient(t *testing.T) {
	sandbox := &smithy.GenericAPIError{Code: "MessageRejected",
		Message: "Email address is not verified. The following identities failed the check in region US-EAST-1: ada@example.com"}
	m := &Mailer{Client: rejecting{sandbox}, From: "privacy@shop.example"}
	err := m.Send(context.Background(), dsr.Mail{To: "ada@example.com", RequestID: "R1"})
	if err == nil || strings.Contains(err.Error(), "ada@") || !strings.Contains(err.Error(), "MessageRejected") || !strings.Contains(err.Error(), "R1") {
		t.Errorf("error = %v", err)
	}
	network := errors.New("dial tcp: connection refused")
	m.Client = rejecting{network}
	if err := m.Send(context.Background(), dsr.Mail{To: "ada@example.com", RequestID: "R1"}); !errors.Is(err, network) {
		t.Errorf("transport error not wrapped: %v", err)
	}
}
