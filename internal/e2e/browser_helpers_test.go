//go:build integration

package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// Helpers of TestBrowser that talk to the local stack as a program does:
// the API, the outbox and (for the overdue request only) the emulator.

// readCode waits for the code e-mail of request id and returns the code.
func readCode(t *testing.T, s *localStack, id string) string {
	t.Helper()
	var raw string
	waitFor(t, "the code e-mail of "+id+" in the outbox", 20*time.Second, func() bool {
		files, _ := filepath.Glob(filepath.Join(s.Outbox, "*-"+id+"-*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && codeLine.Match(b) {
				raw = string(b)
				return true
			}
		}
		return false
	})
	return codeIn(t, raw)
}

// outboxFiles lists the outbox's messages.
func outboxFiles(t *testing.T, s *localStack) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.Outbox, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// extensionNotices returns the extension notices e-mailed for request id,
// oldest first (the outbox's names start with the time).
func extensionNotices(t *testing.T, s *localStack, id string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.Outbox, "*-"+id+"-*.eml"))
	var out []string
	for _, f := range files { // Glob sorts: by time, then sequence
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// "Your request: we need more time", after its German form for a
		// German request.
		if strings.Contains(subjectOf(string(b)), "Your request: we need more time") {
			out = append(out, string(b))
		}
	}
	return out
}

// subjectOf is the Subject header of the outbox message raw ("" if none).
func subjectOf(raw string) string {
	_, rest, ok := strings.Cut(raw, "\r\nSubject: ")
	if !ok {
		return ""
	}
	subject, _, _ := strings.Cut(rest, "\r\n")
	return subject
}

// waitFor polls cond (a file or a count, which no browser event announces)
// until it holds or limit passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// submitRequest submits an access request for email and leaves it
// awaiting its code.
func submitRequest(t *testing.T, s *localStack, email string) string {
	t.Helper()
	c := &client{t: t, base: s.URL}
	var sub submitted
	if st, _, b := c.do("POST", "/v1/requests", "", map[string]any{"type": "access", "email": email}, &sub); st != http.StatusAccepted {
		t.Fatalf("submit for %s: %d %s", email, st, b)
	}
	return sub.ID
}

func dpoGet(t *testing.T, s *localStack, token, path string) dpoView {
	t.Helper()
	c := &client{t: t, base: s.URL}
	var v dpoView
	if st, b := c.dpoDo("GET", path, token, nil, &v); st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	return v
}

func dpoPost(t *testing.T, s *localStack, token, path, body string, want int) {
	t.Helper()
	c := &client{t: t, base: s.URL}
	if st, b := c.dpoDo("POST", path, token, body, nil); st != want {
		t.Fatalf("POST %s: %d %s, want %d", path, st, b, want)
	}
}

// makeOverdueRequest makes a verified request that is open and past its
// due date, for the console's overdue filter and extension.
//
// A real request only gets there after a month; the local stack completes
// an access request within seconds. So the request is made as the README
// does (submitted through the API, verified with the code from the
// outbox) and, once completed, its item in the emulator's requests table
// is set back to in_progress with a due date a day ago and its address
// (which completion removed). Its clock (the
// verification time) is today, so an extension is still allowed (Art.
// 12(3): decided within the first month). The audit trail is not touched:
// the console still finds it intact. This is test set-up only: no code of
// the product writes a request this way.
func makeOverdueRequest(t *testing.T, s *localStack, email string) string {
	t.Helper()
	c := &client{t: t, base: s.URL}
	sub := submitVerified(t, c, s.Outbox, map[string]any{"type": "access", "email": email})
	pollUntilDone(t, c, sub, 60*time.Second)
	normalized, err := dsr.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(awsConfig(t))
	past := time.Now().UTC().Add(-24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
	// Completion removed the plain address (Art. 5(1)(e)); an open request has it.
	_, err = db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Prefix + "-RequestsTable"),
		Key:                      map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: sub.ID}},
		UpdateExpression:         aws.String("SET #status = :open, dueAt = :past, email = :email REMOVE completedAt, #result, addressRemovedAt"),
		ConditionExpression:      aws.String("#status = :completed"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#result": "result"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":open":      &types.AttributeValueMemberS{Value: "in_progress"},
			":completed": &types.AttributeValueMemberS{Value: "completed"},
			":past":      &types.AttributeValueMemberS{Value: past},
			":email":     &types.AttributeValueMemberS{Value: normalized},
		},
	})
	if err != nil {
		t.Fatalf("make %s overdue: %v", sub.ID, err)
	}
	return sub.ID
}

var regexps sync.Map

func mustCompile(re string) *regexp.Regexp {
	if r, ok := regexps.Load(re); ok {
		return r.(*regexp.Regexp)
	}
	r := regexp.MustCompile(re)
	regexps.Store(re, r)
	return r
}
