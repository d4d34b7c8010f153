package dsr

// The pipeline's queue messages. They carry ids and positions, never
// personal data. The request queue carries RequestMessages; the task queue
// carries TaskMessages and DecisionMessages; a dead-letter queue holds
// whichever its queue carried. All are decoded strictly (package jsonbody)
// and checked here.

// Message is one of RequestMessage, TaskMessage and DecisionMessage.
type Message interface {
	// Request is the id of the request the message is about.
	Request() string
}

// RequestMessage is the body of a request-queue message: a verified request
// to dispatch.
type RequestMessage struct {
	RequestID string `json:"requestId"`
}

// TaskMessage is the body of a task-queue message: one purpose of one
// request, from Cursor on (empty: the first page), writing chunks from Chunk.
type TaskMessage struct {
	RequestID string `json:"requestId"`
	Purpose   string `json:"purpose"`
	Cursor    string `json:"cursor,omitempty"`
	Chunk     int    `json:"chunk,omitempty"`
}

// DecisionMessage is the body of a task-queue message that applies a DPO's
// decision on an objection (DecisionUpheld or DecisionOverridden), or a
// DPO's lifting of a restriction request's restriction (DecisionLifted), to
// Purpose's items of the subject, from Cursor on.
type DecisionMessage struct {
	RequestID string `json:"requestId"`
	Purpose   string `json:"purpose"`
	Decision  string `json:"decision"`
	Cursor    string `json:"cursor,omitempty"`
}

// Request implements Message.
func (m RequestMessage) Request() string { return m.RequestID }

// Request implements Message.
func (m TaskMessage) Request() string { return m.RequestID }

// Request implements Message.
func (m DecisionMessage) Request() string { return m.RequestID }

// MessageInput is a queue message as decoded, whatever its kind: every
// field a queue message may have (zero where left out).
type MessageInput struct {
	RequestID string
	Purpose   string
	Cursor    string
	Chunk     int
	Decision  string
}

// Check reports what is wrong with a request-queue message: an EInvalid
// error, or nil.
func (m RequestMessage) Check() error {
	if m.RequestID == "" {
		return Invalid("the message is invalid", FieldError{Field: "requestId", Reason: "is required"})
	}
	return nil
}

// ParseMessage checks any queue message, telling its kind by its fields:
// a decision makes a DecisionMessage, a purpose a TaskMessage, and a bare
// request id a RequestMessage.
func ParseMessage(in MessageInput) (Message, error) {
	var fields []FieldError
	if in.RequestID == "" {
		fields = append(fields, FieldError{Field: "requestId", Reason: "is required"})
	}
	if in.Chunk < 0 {
		fields = append(fields, FieldError{Field: "chunk", Reason: "must not be negative"})
	}
	fields = append(fields, in.kindErrors()...)
	if len(fields) > 0 {
		return nil, Invalid("the message is invalid", fields...)
	}
	switch {
	case in.Decision != "":
		return DecisionMessage{RequestID: in.RequestID, Purpose: in.Purpose, Decision: in.Decision, Cursor: in.Cursor}, nil
	case in.Purpose != "":
		return TaskMessage{RequestID: in.RequestID, Purpose: in.Purpose, Cursor: in.Cursor, Chunk: in.Chunk}, nil
	}
	return RequestMessage{RequestID: in.RequestID}, nil
}

// kindErrors are the fields at fault for the kind of message in is.
func (in MessageInput) kindErrors() []FieldError {
	var fields []FieldError
	switch {
	case in.Decision != "":
		if in.Purpose == "" {
			fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
		}
		if in.Decision != DecisionUpheld && in.Decision != DecisionOverridden && in.Decision != DecisionLifted {
			fields = append(fields, FieldError{Field: "decision", Reason: `must be "upheld", "overridden" or "lifted"`})
		}
		if in.Chunk != 0 {
			fields = append(fields, FieldError{Field: "chunk", Reason: "is not part of a decision message"})
		}
	case in.Purpose == "" && (in.Cursor != "" || in.Chunk != 0):
		fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
	}
	return fields
}

// TaskQueueMessage checks that m is a message of the task queue: a
// TaskMessage or a DecisionMessage, not a RequestMessage.
func TaskQueueMessage(m Message) (Message, error) {
	if _, ok := m.(RequestMessage); ok {
		return nil, Invalid("the message is invalid", FieldError{Field: "purpose", Reason: "is required"})
	}
	return m, nil
}
