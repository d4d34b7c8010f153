package dynamo_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

var streamPurpose = dsr.Purpose{Name: "marketing", Table: "t", Identifier: "email", SubjectKeyAttribute: "dsrSubjectKey"}

func TestStreamKeyState(t *testing.T) {
	tests := []struct {
		name       string
		record     string
		ok         bool
		wantErr    bool
		identifier string // "" for none
		key        string
	}{
		{name: "insert", ok: true, identifier: " Ada@Example.com ",
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"contactId":{"S":"c1"}},"NewImage":{"contactId":{"S":"c1"},"email":{"S":" Ada@Example.com "}}}}`},
		{name: "change with a key", ok: true, identifier: "ada@example.com", key: "k1",
			record: `{"eventName":"MODIFY","dynamodb":{"Keys":{"contactId":{"S":"c1"}},"NewImage":{"contactId":{"S":"c1"},"email":{"S":"ada@example.com"},"dsrSubjectKey":{"S":"k1"}}}}`},
		{name: "identifier not a string", ok: true,
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"contactId":{"S":"c1"}},"NewImage":{"contactId":{"S":"c1"},"email":{"N":"42"}}}}`},
		{name: "no identifier", ok: true,
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"contactId":{"S":"c1"}},"NewImage":{"contactId":{"S":"c1"}}}}`},
		{name: "numeric table key", ok: true, identifier: "ada@example.com",
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"n":{"N":"7"}},"NewImage":{"n":{"N":"7"},"email":{"S":"ada@example.com"}}}}`},
		{name: "removal",
			record: `{"eventName":"REMOVE","dynamodb":{"Keys":{"contactId":{"S":"c1"}}}}`},
		{name: "no keys", wantErr: true,
			record: `{"eventName":"INSERT","dynamodb":{"NewImage":{"email":{"S":"ada@example.com"}}}}`},
		{name: "an empty binary key", wantErr: true,
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"b":{"B":""}},"NewImage":{"email":{"S":"ada@example.com"}}}}`},
		{name: "an empty string key", wantErr: true,
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"contactId":{"S":""}},"NewImage":{"email":{"S":"ada@example.com"}}}}`},
		{name: "a list as key", wantErr: true,
			record: `{"eventName":"INSERT","dynamodb":{"Keys":{"l":{"L":[]}},"NewImage":{"email":{"S":"ada@example.com"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec events.DynamoDBEventRecord
			if err := json.Unmarshal([]byte(tt.record), &rec); err != nil {
				t.Fatal(err)
			}
			st, ok, err := dynamo.StreamKeyState(rec, streamPurpose)
			if (err != nil) != tt.wantErr || ok != tt.ok {
				t.Fatalf("ok %v err %v, want ok %v error %v", ok, err, tt.ok, tt.wantErr)
			}
			if !ok {
				return
			}
			if _, err := dynamo.DecodeCursor(st.Ref); err != nil {
				t.Errorf("ref %q is no table key: %v", st.Ref, err)
			}
			got := ""
			if st.Identifier != nil {
				got = *st.Identifier
			}
			if got != tt.identifier || st.SubjectKey != tt.key {
				t.Errorf("identifier %q key %q, want %q %q", got, st.SubjectKey, tt.identifier, tt.key)
			}
		})
	}
}

// FuzzStreamKeyState: whatever a stream record holds (the CRM writes any
// attribute of any type), reading it never panics, and a record it reads
// has a ref that is a table key.
func FuzzStreamKeyState(f *testing.F) {
	f.Add(`{"eventName":"INSERT","dynamodb":{"Keys":{"contactId":{"S":"c1"}},"NewImage":{"contactId":{"S":"c1"},"email":{"S":"ada@example.com"}}}}`)
	f.Add(`{"eventName":"MODIFY","dynamodb":{"Keys":{"b":{"B":"AAE="}},"NewImage":{"email":{"SS":["a"]},"dsrSubjectKey":{"BOOL":true}}}}`)
	f.Add(`{"eventName":"REMOVE","dynamodb":{"Keys":{"contactId":{"S":"c1"}}}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var rec events.DynamoDBEventRecord
		if json.Unmarshal([]byte(raw), &rec) != nil {
			return
		}
		st, ok, err := dynamo.StreamKeyState(rec, streamPurpose)
		if err != nil || !ok {
			return
		}
		if _, err := dynamo.DecodeCursor(st.Ref); err != nil {
			t.Fatalf("ref %q is no table key: %v", st.Ref, err)
		}
	})
}
