//go:build integration

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeSession runs what a new user runs: the `make run` program
// (infra/devstack) and, in a second shell, the README's "Try it" session,
// verbatim but for the port. The session must end with ada's report, and
// Ctrl-C must stop the program.
func TestReadmeSession(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The person continues in the same terminal: one shell runs both blocks.
	session := shellBlock(t, string(readme), "## Try it") + shellBlock(t, string(readme), "### Object, erase, and ask the suppression list") +
		shellBlock(t, string(readme), "### The DPO dashboard's routes") + shellBlock(t, string(readme), "### Provenance, recipients and the retention job") +
		shellBlock(t, string(readme), "### Limits and strict input")
	if !strings.Contains(session, "API=http://127.0.0.1:3000") {
		t.Fatalf("the README session no longer starts with API=http://127.0.0.1:3000:\n%s", session)
	}

	stack := startLocalStack(t, "readme")
	work, addr, endpoint, prefix, logs := stack.Work, stack.Addr, stack.Endpoint, stack.Prefix, stack.Logs

	script := strings.Replace(session, "API=http://127.0.0.1:3000", "API=http://"+addr, 1)
	if !strings.Contains(script, "EMULATOR=http://127.0.0.1:4566 PREFIX=dsr-local") {
		t.Fatalf("the README's provenance block no longer sets EMULATOR and PREFIX:\n%s", session)
	}
	script = strings.Replace(script, "EMULATOR=http://127.0.0.1:4566 PREFIX=dsr-local", "EMULATOR="+endpoint+" PREFIX="+prefix, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	sh.Dir = work
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the README session failed: %v\n%s\n--- devstack:\n%s", err, out, logs.String())
	}
	for _, want := range []string{`"status":"awaiting_verification"`, `"status":"queued"`, `"status":"completed"`, `"purpose": "billing"`, "INV-2026-0100",
		`"type":"objection","status":"completed"`, `"scope": "direct_marketing"`, `"suppressed":true,"reason":"objection"`, `{"suppressed":false}`,
		`"type":"erasure","status":"completed"`, `"reason": "erasure (Art. 17(1))"`, `"restrictedUntil"`, `"earlierReportsDeleted": 1`, `"status":410`,
		`{"items":[`, `"subject":"a***@e***.com"`, `"byStatus":{`, `{"intact":true,"entries":`,
		`"recipient": "Example Print GmbH"`, "purpose is not a purpose of the registry", `"recipient": "Call Centre Ltd"`,
		`"source": "support e-mail"`, `"itemsRead":`,
		"400 400 400 429", "HTTP/1.1 429", "Retry-After:", "too many wrong codes were entered for this address today", `"status":415`,
		`"field":"type","reason":"is given more than once"`,
		`"email": "ADA@EXAMPLE.COM"`, `"email": " Ada@Example.com "`, `"customerEmail": "ada@EXAMPLE.com"`, `"dsrSubjectKey": "`,
		`"searched": "Datensätze, die mit der Adresse ada@example.com verknüpft sind`, `"language": "de"`, `"recordsFound": 2`,
		`"dpo": "dpo@example.com"`, `"code": "withdraw_consent"`, `"exists": true`,
		`"searched": "records linked to the address this request was verified for`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the session's output lacks %s:\n%s", want, out)
		}
	}
	page, err := os.ReadFile(filepath.Join(work, ".local", "report.html"))
	if err != nil || !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Errorf("no HTML report saved: %v", err)
	}

	// The deploy guide's smoke test, against the same stack: the code comes
	// from the outbox instead of a person's mailbox.
	smoke := exec.CommandContext(ctx, filepath.Join(root, "infra", "smoke.sh"), "http://"+addr, "grace@example.com")
	smoke.Dir = work
	smoke.Env = append(os.Environ(), "SMOKE_WAIT=60",
		`SMOKE_CODE_COMMAND=grep -h -o 'Your verification code is: [0-9]*' .local/outbox/*-"$SMOKE_ID"-*.eml | grep -o '[0-9]*$'`)
	out, err = smoke.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "smoke: passed") {
		t.Errorf("infra/smoke.sh: %v\n%s\n--- devstack:\n%s", err, out, logs.String())
	}

	// Ctrl-C stops it.
	if err := stack.Interrupt(20 * time.Second); err != nil {
		t.Errorf("%v:\n%s", err, logs.String())
	}
}

// shellBlock returns the first ```sh block after heading in markdown.
func shellBlock(t *testing.T, markdown, heading string) string {
	t.Helper()
	_, after, ok := strings.Cut(markdown, heading+"\n")
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	_, after, ok = strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("no sh block under %q", heading)
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatalf("unterminated sh block under %q", heading)
	}
	return block
}
