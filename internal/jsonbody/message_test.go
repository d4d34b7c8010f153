package jsonbody_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name string
		body string
		want dsr.Message // nil: invalid
	}{
		{"request", `{"requestId":"r1"}`, dsr.RequestMessage{RequestID: "r1"}},
		{"task", `{"requestId":"r1","purpose":"marketing"}`, dsr.TaskMessage{RequestID: "r1", Purpose: "marketing"}},
		{"task continued", `{"requestId":"r1","purpose":"marketing","cursor":"c","chunk":2}`,
			dsr.TaskMessage{RequestID: "r1", Purpose: "marketing", Cursor: "c", Chunk: 2}},
		{"decision", `{"requestId":"r1","purpose":"billing","decision":"upheld"}`,
			dsr.DecisionMessage{RequestID: "r1", Purpose: "billing", Decision: dsr.DecisionUpheld}},
		{"decision continued", `{"requestId":"r1","purpose":"billing","decision":"overridden","cursor":"c"}`,
			dsr.DecisionMessage{RequestID: "r1", Purpose: "billing", Decision: dsr.DecisionOverridden, Cursor: "c"}},
		{"no request id", `{"purpose":"marketing"}`, nil},
		{"negative chunk", `{"requestId":"r1","purpose":"marketing","chunk":-1}`, nil},
		{"cursor without purpose", `{"requestId":"r1","cursor":"c"}`, nil},
		{"decision without purpose", `{"requestId":"r1","decision":"upheld"}`, nil},
		{"unknown decision", `{"requestId":"r1","purpose":"billing","decision":"maybe"}`, nil},
		{"decision with a chunk", `{"requestId":"r1","purpose":"billing","decision":"upheld","chunk":1}`, nil},
		{"duplicate key", `{"requestId":"r1","purpose":"marketing","requestId":"r2"}`, nil},
		{"wrong case", `{"RequestId":"r1","purpose":"marketing"}`, nil},
		{"null", `{"requestId":null,"purpose":"marketing"}`, nil},
		{"unknown field", `{"requestId":"r1","purpose":"marketing","extra":1}`, nil},
		{"not an object", `[]`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := jsonbody.ParseMessage(c.body)
			if c.want == nil {
				if code := dsr.ErrorCodeOf(err); code != dsr.EInvalid {
					t.Fatalf("got %+v, error code %q; want invalid", got, code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestQueuesTakeTheirOwnMessages: the request queue reads only request
// messages, the task queue only tasks and decisions.
func TestQueuesTakeTheirOwnMessages(t *testing.T) {
	if _, err := jsonbody.ParseRequestMessage(`{"requestId":"r1","requestId":"r2"}`); err == nil {
		t.Error("a request message with a duplicate key was read")
	}
	if _, err := jsonbody.ParseRequestMessage(`{"requestId":"r1","purpose":"marketing"}`); err == nil {
		t.Error("a task read as a request message")
	}
	if _, err := jsonbody.ParseTaskQueueMessage(`{"requestId":"r1"}`); dsr.ErrorCodeOf(err) != dsr.EInvalid {
		t.Errorf("a request message on the task queue: %v", err)
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add(`{"requestId":"r1","purpose":"marketing","cursor":"c","chunk":2}`)
	f.Add(`{"requestId":"r1","purpose":"billing","decision":"upheld","cursor":"c"}`)
	f.Add(`{"requestId":"r1"}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := jsonbody.ParseMessage(body)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q", dsr.ErrorCodeOf(err))
			}
			return
		}
		if m.Request() == "" {
			t.Fatalf("accepted %+v", m)
		}
		if tm, ok := m.(dsr.TaskMessage); ok && (tm.Purpose == "" || tm.Chunk < 0) {
			t.Fatalf("accepted %+v", tm)
		}
		// What the pipeline sends again reads back as the same message.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := jsonbody.ParseMessage(string(b))
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("round trip of %s (-first +again):\n%s", b, diff)
		}
	})
}
