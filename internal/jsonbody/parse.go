package jsonbody

import (
	"errors"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// The bodies of the API's routes and the messages of the queues, as JSON
// names their members, and their Parse functions: decode, then the
// domain's check. The structs convert to the domain's inputs (the same
// fields, without tags).

// bodyInvalid is the API's answer to a body whose values the domain
// refused (its EInvalid error: "the submission is invalid"): the API
// words every such refusal "the request body is invalid", with the
// domain's fields (docs/openapi.yaml).
func bodyInvalid(err error) error {
	var de *dsr.Error
	if errors.As(err, &de) && de.Code == dsr.EInvalid {
		return dsr.Invalid(string(Body)+" is invalid", de.Fields...)
	}
	return err
}

// parseBody decodes an API request body into B and hands it to the domain's
// check, worded as the API answers a refusal (bodyInvalid).
func parseBody[B, T any](body []byte, check func(B) (T, error)) (T, error) {
	var b B
	if err := Body.Decode(body, &b); err != nil {
		var zero T
		return zero, err
	}
	v, err := check(b)
	return v, bodyInvalid(err)
}

type submissionBody struct {
	Type     *string   `json:"type"`
	Email    *string   `json:"email"`
	Scope    *string   `json:"scope"`
	Purposes *[]string `json:"purposes"`
	Grounds  *string   `json:"grounds"`
	Ground   *string   `json:"ground"`
	Reason   *string   `json:"reason"`
	Language *string   `json:"language"`
	// A rectification's members.
	Attribute *string `json:"attribute"`
	Corrected *string `json:"corrected"`
	Purpose   *string `json:"purpose"`
	Evidence  *string `json:"evidence"`
	// portability only
	Format     *string `json:"format"`
	TransmitTo *string `json:"transmitTo"`

	Changes *[]dsr.ChangeInput `json:"changes"` // preferences
}

// ParseSubmission reads a POST /v1/requests body (dsr.ParseSubmission).
func ParseSubmission(body []byte, reg dsr.Registry) (dsr.Submission, error) {
	return ParseSubmissionFor(body, reg, dsr.ReceiverPolicy{})
}

// ParseSubmissionFor reads a POST /v1/requests body with the deployment's
// policy for portability's receiving endpoints (dsr.ParseSubmissionFor).
func ParseSubmissionFor(body []byte, reg dsr.Registry, pol dsr.ReceiverPolicy) (dsr.Submission, error) {
	return parseBody(body, func(b submissionBody) (dsr.Submission, error) {
		return dsr.ParseSubmissionFor(dsr.SubmissionInput(b), reg, pol)
	})
}

type registrationBody struct {
	Type          *string   `json:"type"`
	Email         *string   `json:"email"`
	Scope         *string   `json:"scope"`
	Purposes      *[]string `json:"purposes"`
	Grounds       *string   `json:"grounds"`
	Ground        *string   `json:"ground"`
	Reason        *string   `json:"reason"`
	ReceivedAt    *string   `json:"receivedAt"`
	Channel       *string   `json:"channel"`
	IdentityCheck *string   `json:"identityCheck"`
	IdentityNote  *string   `json:"identityNote"`
	Language      *string   `json:"language"`
	// A rectification's members.
	Attribute *string `json:"attribute"`
	Corrected *string `json:"corrected"`
	Purpose   *string `json:"purpose"`
	Evidence  *string `json:"evidence"`
}

// ParseRegistration reads a POST /v1/dpo/requests body at now
// (dsr.ParseRegistration).
func ParseRegistration(body []byte, reg dsr.Registry, policy dsr.DeadlinePolicy, now time.Time) (dsr.Registration, error) {
	return parseBody(body, func(b registrationBody) (dsr.Registration, error) {
		return dsr.ParseRegistration(dsr.RegistrationInput{
			SubmissionInput: dsr.SubmissionInput{Type: b.Type, Email: b.Email, Scope: b.Scope, Purposes: b.Purposes, Grounds: b.Grounds, Ground: b.Ground, Reason: b.Reason, Language: b.Language,
				Attribute: b.Attribute, Corrected: b.Corrected, Purpose: b.Purpose, Evidence: b.Evidence},
			ReceivedAt: b.ReceivedAt, Channel: b.Channel, IdentityCheck: b.IdentityCheck, IdentityNote: b.IdentityNote,
		}, reg, policy, now)
	})
}

type verificationBody struct {
	Code *string `json:"code"`
}

// ParseVerify reads a POST /v1/requests/{id}/verify body: the code.
func ParseVerify(body []byte) (string, error) {
	return parseBody(body, func(b verificationBody) (string, error) { return dsr.ParseVerify(dsr.VerificationInput(b)) })
}

type suppressionCheckBody struct {
	Email     *string `json:"email"`
	Purpose   *string `json:"purpose"`
	ConsentAt *string `json:"consentAt"`
	Channel   *string `json:"channel"`
}

// ParseSuppressionCheck reads a POST /v1/suppressions/check body.
func ParseSuppressionCheck(body []byte, reg dsr.Registry) (dsr.SuppressionCheck, error) {
	return parseBody(body, func(b suppressionCheckBody) (dsr.SuppressionCheck, error) {
		return dsr.ParseSuppressionCheck(dsr.SuppressionCheckInput(b), reg)
	})
}

type rejectionBody struct {
	Reason *string `json:"reason"`
	Detail *string `json:"detail"`
}

// ParseRejection reads a POST /v1/dpo/requests/{id}/reject body.
func ParseRejection(body []byte) (dsr.Rejection, error) {
	return parseBody(body, func(b rejectionBody) (dsr.Rejection, error) { return dsr.ParseRejection(dsr.RejectionInput(b)) })
}

type extensionBody struct {
	Months *int    `json:"months"`
	Reason *string `json:"reason"`
}

// ParseExtension reads a POST /v1/dpo/requests/{id}/extend body; the
// policy's Extend checks its values.
func ParseExtension(body []byte) (months int, reason string, err error) {
	var b extensionBody
	if err := Body.Decode(body, &b); err != nil {
		return 0, "", err
	}
	months, reason, err = dsr.ParseExtension(dsr.ExtensionInput(b))
	return months, reason, bodyInvalid(err)
}

type decisionBody struct {
	Purpose *string `json:"purpose"`
	Outcome *string `json:"outcome"`
	Grounds *string `json:"grounds"`
}

// ParseDecision reads a POST /v1/dpo/requests/{id}/objection-decision body.
func ParseDecision(body []byte) (dsr.Decision, error) {
	return parseBody(body, func(b decisionBody) (dsr.Decision, error) { return dsr.ParseDecision(dsr.DecisionInput(b)) })
}

type liftBody struct {
	Purpose *string `json:"purpose"`
	Reason  *string `json:"reason"`
}

// ParseLift reads a POST /v1/dpo/requests/{id}/lift body (dsr.ParseLift).
func ParseLift(body []byte) (dsr.Lift, error) {
	return parseBody(body, func(b liftBody) (dsr.Lift, error) { return dsr.ParseLift(dsr.LiftInput(b)) })
}

type restrictionExtensionBody struct {
	Purpose *string `json:"purpose"`
	Until   *string `json:"until"`
	Reason  *string `json:"reason"`
}

// ParseRestrictionExtension reads a POST /v1/dpo/requests/{id}/restrictions
// body (dsr.ParseRestrictionExtension, at now).
func ParseRestrictionExtension(body []byte, reg dsr.Registry, now time.Time) (dsr.RestrictionExtension, error) {
	return parseBody(body, func(b restrictionExtensionBody) (dsr.RestrictionExtension, error) {
		return dsr.ParseRestrictionExtension(dsr.RestrictionExtensionInput(b), reg, now)
	})
}

type provenanceMessage struct {
	Email     *string `json:"email"`
	Purpose   *string `json:"purpose"`
	Event     *string `json:"event"`
	Source    *string `json:"source"`
	Recipient *string `json:"recipient"`
	Country   *string `json:"country"`
	Safeguard *string `json:"safeguard"`
	At        *string `json:"at"`
}

// ParseProvenanceEvent reads a message of the provenance queue (docs/api.md,
// "Provenance queue"; dsr.ParseProvenanceEvent says the rest).
func ParseProvenanceEvent(body []byte, reg dsr.Registry, now time.Time, pol dsr.ProvenancePolicy) (dsr.ProvenanceEvent, error) {
	var m provenanceMessage
	if err := Message.Decode(body, &m); err != nil {
		return dsr.ProvenanceEvent{}, err
	}
	return dsr.ParseProvenanceEvent(dsr.ProvenanceInput(m), reg, now, pol)
}

// ParseRequestMessage reads a message of the request queue: a request
// message only (a member of another kind is unknown).
func ParseRequestMessage(body string) (dsr.RequestMessage, error) {
	var m dsr.RequestMessage
	if err := Message.Decode([]byte(body), &m); err != nil {
		return m, err
	}
	return m, m.Check()
}

// queueMessage is every member a queue message may have.
type queueMessage struct {
	RequestID string `json:"requestId"`
	Purpose   string `json:"purpose"`
	Cursor    string `json:"cursor"`
	Chunk     int    `json:"chunk"`
	Decision  string `json:"decision"`
}

// ParseMessage reads any queue message (a dead-letter queue's), of the
// kind its members tell (dsr.ParseMessage).
func ParseMessage(body string) (dsr.Message, error) {
	var m queueMessage
	if err := Message.Decode([]byte(body), &m); err != nil {
		return nil, err
	}
	return dsr.ParseMessage(dsr.MessageInput(m))
}

// ParseTaskQueueMessage reads a message of the task queue: a TaskMessage
// or a DecisionMessage.
func ParseTaskQueueMessage(body string) (dsr.Message, error) {
	m, err := ParseMessage(body)
	if err != nil {
		return nil, err
	}
	return dsr.TaskQueueMessage(m)
}

type unsubscribeIssueBody struct {
	Email   *string `json:"email"`
	Purpose *string `json:"purpose"`
	Channel *string `json:"channel"`
}

// ParseUnsubscribeIssue reads a POST /v1/unsubscribe-tokens body
// (dsr.ParseUnsubscribeIssue).
func ParseUnsubscribeIssue(body []byte, reg dsr.Registry) (dsr.UnsubscribeIssue, error) {
	return parseBody(body, func(b unsubscribeIssueBody) (dsr.UnsubscribeIssue, error) {
		return dsr.ParseUnsubscribeIssue(dsr.UnsubscribeIssueInput(b), reg)
	})
}
