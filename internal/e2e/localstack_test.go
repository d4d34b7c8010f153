//go:build integration

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// localStack is the `make run` program (infra/devstack), built and started
// against the emulator of AWS_ENDPOINT_URL with a random prefix, on a free
// port, in a fresh working folder (its .local/outbox and .local/dpo-token).
type localStack struct {
	Endpoint string // the emulator
	Addr     string // host:port the stack serves on
	URL      string // http://Addr
	Prefix   string // the resources' physical-name prefix
	Work     string // the program's working folder
	Outbox   string // Work/.local/outbox
	Logs     *dsrtest.LockedBuffer

	cmd  *exec.Cmd
	done chan error
}

// startLocalStack builds infra/devstack and runs it until the test ends;
// name starts the prefix. It returns once the stack answers HTTP.
func startLocalStack(t *testing.T, name string) *localStack {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set: the integration tests need the emulator that `make test` starts")
	}
	root := repoRoot(t)
	work := t.TempDir()
	bin := filepath.Join(work, "devstack")
	goBuild(t, root, nil, "-o", bin, "./infra/devstack")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	s := &localStack{
		Endpoint: endpoint, Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		Prefix: name + "-" + hex.EncodeToString(b), Work: work,
		Outbox: filepath.Join(work, ".local", "outbox"), Logs: &dsrtest.LockedBuffer{},
		done: make(chan error, 1),
	}
	s.URL = "http://" + s.Addr
	s.cmd = exec.Command(bin, "-template", filepath.Join(root, "template.yaml"), "-addr", s.Addr,
		"-prefix", s.Prefix, "-outbox", s.Outbox)
	s.cmd.Dir = work
	s.cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+endpoint)
	s.cmd.Stdout, s.cmd.Stderr = s.Logs, s.Logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		s.done <- <-s.done // a test's own Interrupt may have taken it already
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get(s.URL + "/"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("devstack exited before serving: %v\n%s", err, s.Logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("devstack did not serve in time:\n%s", s.Logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s
}

// Interrupt sends Ctrl-C and waits up to wait for the program to end; it
// returns the program's exit error, or an error if it is still running.
func (s *localStack) Interrupt(wait time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			return fmt.Errorf("devstack exited with %v after Ctrl-C", err)
		}
		return nil
	case <-time.After(wait):
		return fmt.Errorf("devstack still running %s after Ctrl-C", wait)
	}
}
