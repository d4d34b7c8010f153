package dsr

// The pipeline's queue messages. They carry ids and positions, never
// personal data. The request queue carries RequestMessages; the task queue
// carries TaskMessages and DecisionMessages; a dead-letter queue holds
// whichever its queue carried. All are decoded strictly (DecodeStrict).

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
// decision on an objection (DecisionUpheld or DecisionOverridden) to
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

// wireMessage is every field a queue message may have.
type wireMessage struct {
	RequestID string `json:"requestId"`
	Purpose   string `json:"purpose"`
	Cursor    string `json:"cursor"`
	Chunk     int    `json:"chunk"`
	Decision  string `json:"decision"`
}

// ParseRequestMessage decodes a request-queue message.
func ParseRequestMessage(body string) (RequestMessage, error) {
	var m RequestMessage
	if err := DecodeStrict([]byte(body), &m); err != nil {
		return m, err
	}
	if m.RequestID == "" {
		return m, Invalid("the message is invalid", FieldError{Field: "requestId", Reason: "is required"})
	}
	return m, nil
}

// ParseMessage decodes any queue message, telling its kind by its fields:
// a decision makes a DecisionMessage, a purpose a TaskMessage, and a bare
// request id a RequestMessage.
func ParseMessage(body string) (Message, error) {
	var w wireMessage
	if err := DecodeStrict([]byte(body), &w); err != nil {
		return nil, err
	}
	var fields []FieldError
	if w.RequestID == "" {
		fields = append(fields, FieldError{Field: "requestId", Reason: "is required"})
	}
	if w.Chunk < 0 {
		fields = append(fields, FieldError{Field: "chunk", Reason: "must not be negative"})
	}
	fields = append(fields, w.kindErrors()...)
	if len(fields) > 0 {
		return nil, Invalid("the message is invalid", fields...)
	}
	switch {
	case w.Decision != "":
		return DecisionMessage{RequestID: w.RequestID, Purpose: w.Purpose, Decision: w.Decision, Cursor: w.Cursor}, nil
	case w.Purpose != "":
		return TaskMessage{RequestID: w.RequestID, Purpose: w.Purpose, Cursor: w.Cursor, Chunk: w.Chunk}, nil
	}
	return RequestMessage{RequestID: w.RequestID}, nil
}

// kindErrors are the fields at fault for the kind of message w is.
func (w wireMessage) kindErrors() []FieldError {
	var fields []FieldError
	switch {
	case w.Decision != "":
		if w.Purpose == "" {
			fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
		}
		if w.Decision != DecisionUpheld && w.Decision != DecisionOverridden {
			fields = append(fields, FieldError{Field: "decision", Reason: `must be "upheld" or "overridden"`})
		}
		if w.Chunk != 0 {
			fields = append(fields, FieldError{Field: "chunk", Reason: "is not part of a decision message"})
		}
	case w.Purpose == "" && (w.Cursor != "" || w.Chunk != 0):
		fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
	}
	return fields
}

// ParseTaskQueueMessage decodes a task-queue message: a TaskMessage or a
// DecisionMessage.
func ParseTaskQueueMessage(body string) (Message, error) {
	m, err := ParseMessage(body)
	if err != nil {
		return nil, err
	}
	if _, ok := m.(RequestMessage); ok {
		return nil, Invalid("the message is invalid", FieldError{Field: "purpose", Reason: "is required"})
	}
	return m, nil
}
