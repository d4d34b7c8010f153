// Package sesmail sends e-mail to people through Amazon SES (v2 API).
package sesmail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/privacyops/dsr/internal/dsr"
)

// API is the part of the SES v2 client the mailer uses.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Mailer sends from a verified identity.
type Mailer struct {
	Client API
	From   string
}

// Send sends m as a plain-text message. A mail with an id (dsr.Mail.MailID)
// carries it in the header X-Mail-Id, so that a copy sent again by a
// redelivery is recognizable as the same message.
func (m *Mailer) Send(ctx context.Context, msg dsr.Mail) error {
	content := &types.Message{
		Subject: &types.Content{Data: aws.String(msg.Subject), Charset: aws.String("UTF-8")},
		Body:    &types.Body{Text: &types.Content{Data: aws.String(msg.Text), Charset: aws.String("UTF-8")}},
	}
	if id := msg.MailID(); id != "" {
		content.Headers = []types.MessageHeader{{Name: aws.String("X-Mail-Id"), Value: aws.String(id)}}
	}
	_, err := m.Client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: &m.From,
		Destination:      &types.Destination{ToAddresses: []string{msg.To}},
		Content:          &types.EmailContent{Simple: content},
	})
	if err != nil {
		return sanitize(msg.RequestID, err)
	}
	return nil
}

// sanitize keeps SES's error code and drops its message: SES names the
// recipient in some (MessageRejected: "Email address is not verified. The
// following identities failed the check: ada@example.com"), and errors end up
// in logs.
func sanitize(requestID string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return fmt.Errorf("send e-mail for request %s: SES answered %s", requestID, apiErr.ErrorCode())
	}
	return fmt.Errorf("send e-mail for request %s: %w", requestID, err)
}
