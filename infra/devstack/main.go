// Command devstack is `make run`: it starts the AWS emulator (moto server from
// the project virtualenv) unless AWS_ENDPOINT_URL already points at a running
// one, creates the resources of template.yaml on it, seeds the demo data, and
// serves the pipeline on 127.0.0.1:3000 until Ctrl-C, which stops everything
// it started.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/keying"
)

func main() {
	// The functions' logger, as in Lambda: JSON, with the invocation's request id.
	log := lambdacontext.NewLogger()
	if err := run(log); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

// emulator is the AWS endpoint to use: AWS_ENDPOINT_URL, which must answer,
// or else moto at motoAddr, started from motoPath unless it answers already;
// stop stops what emulator started.
func emulator(motoPath, motoAddr string) (endpoint string, stop func(), err error) {
	endpoint = os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		endpoint = "http://" + motoAddr
	}
	if answers(endpoint) {
		return endpoint, func() {}, nil
	}
	if os.Getenv("AWS_ENDPOINT_URL") != "" {
		return "", nil, fmt.Errorf("AWS_ENDPOINT_URL=%s does not answer; start that emulator or unset AWS_ENDPOINT_URL to use moto", endpoint)
	}
	cmd, err := startMoto(motoPath, motoAddr, endpoint)
	if err != nil {
		return "", nil, err
	}
	return endpoint, func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		fmt.Fprintln(os.Stderr, "devstack: moto stopped")
	}, nil
}

func run(log *slog.Logger) error {
	var (
		template = flag.String("template", "template.yaml", "the SAM template")
		addr     = flag.String("addr", "127.0.0.1:3000", "where to serve the HTTP API")
		prefix   = flag.String("prefix", "dsr-local", "prefix of the resources' physical names")
		outbox   = flag.String("outbox", ".local/outbox", "folder of the local e-mail outbox")
		moto     = flag.String("moto", "infra/moto-server", "moto server, started when no emulator answers")
		motoAddr = flag.String("moto-addr", "127.0.0.1:4566", "where to start moto")
		noSeed   = flag.Bool("no-seed", false, "do not seed the demo data")
		dpoToken = flag.String("dpo-token", ".local/dpo-token", "where to write the DPO routes' JWT")
		web      = flag.String("web", "", "folder of the pages (privacy center, DPO console); default: web next to the template")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	endpoint, stopEmulator, err := emulator(*moto, *motoAddr)
	if err != nil {
		return err
	}
	defer stopEmulator()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithBaseEndpoint(endpoint), config.WithRegion(envOr("AWS_REGION", "us-east-1")),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(envOr("AWS_ACCESS_KEY_ID", "test"), envOr("AWS_SECRET_ACCESS_KEY", "test"), "")))
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(*outbox)
	if err != nil {
		return err
	}
	if *web == "" {
		*web = filepath.Join(filepath.Dir(*template), "web")
	}
	stack, err := devstack.Start(ctx, devstack.Options{
		TemplatePath: *template, Prefix: *prefix, Addr: *addr, OutboxDir: dir, Seed: !*noSeed, SeedRequests: !*noSeed,
		AWS: cfg, Log: log, Console: os.Stderr, WebDir: *web,
	})
	if err != nil {
		return err
	}
	if stack.DpoToken != "" {
		if err := writeToken(*dpoToken, stack.DpoToken); err != nil {
			_ = stack.Close()
			return err
		}
	}
	printTryIt(stack, endpoint, *outbox, cfg.Region, *dpoToken)
	select {
	case <-ctx.Done():
	case err := <-stack.Errors():
		_ = stack.Close()
		return err
	}
	fmt.Fprintln(os.Stderr, "\ndevstack: stopping…")
	return stack.Close()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func answers(endpoint string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(endpoint + "/moto-api/")
	if err != nil {
		// Not moto, perhaps LocalStack: any HTTP answer at the root will do.
		resp, err = c.Get(endpoint)
		if err != nil {
			return false
		}
	}
	resp.Body.Close()
	return true
}

func startMoto(bin, addr, endpoint string) (*exec.Cmd, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("moto server not found at %s: run `make venv` (make run does it)", bin)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("moto address: %w", err)
	}
	cmd := exec.Command(bin, "-H", host, "-p", port)
	if err := os.MkdirAll(".local", 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(".local/moto.log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches us; we stop moto
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto: %w", err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if answers(endpoint) {
			fmt.Fprintf(os.Stderr, "devstack: moto server started on %s (log: .local/moto.log)\n", addr)
			return cmd, nil
		}
	}
	_ = cmd.Process.Kill()
	return nil, errors.New("moto did not answer within 30 s; see .local/moto.log")
}

// writeToken writes a token to path, readable by its owner only, creating
// its folder if needed.
func writeToken(path, token string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the DPO token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write the DPO token: %w", err)
	}
	// An older file keeps its mode through O_TRUNC: make it private first.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write the DPO token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write the DPO token: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the DPO token: %w", err)
	}
	return nil
}

func printTryIt(s *devstack.Stack, endpoint, outbox, region, tokenPath string) {
	dpo := ""
	if s.DpoToken != "" {
		dpo = fmt.Sprintf(`
    DPO dashboard routes (JWT, group "dpo"): the token is in %[2]s (valid %[3]g h):
      curl -s %[1]s/v1/dpo/requests -H "Authorization: Bearer $(cat %[2]s)"
`, s.URL, tokenPath, devstack.DpoTokenTTL.Hours())
	}
	fmt.Fprintf(os.Stderr, `
==> The pipeline is served on %[1]s (emulator: %[2]s).
    Seeded records per purpose: %[3]v; provenance entries per subject: %[7]v%[14]s
    E-mail goes to %[4]s and is echoed here.

    In a browser:
      the privacy center   %[1]s/privacy/
      the DPO console      %[1]s/console/  (sign in with the token in %[12]s; demo requests: %[13]d)
      the embeddable form  %[1]s/embed/example.html

    Try it (the whole session is in README.md, "Try it"):
      curl -s -X POST %[1]s/v1/requests -H 'Content-Type: application/json' \
           -d '{"type":"access","email":"ada@example.com"}'
    then verify with the code from the outbox, poll GET /v1/requests/{id}, and fetch
    GET /v1/requests/{id}/report?format=html, each with "Authorization: Bearer <statusToken>".
    Erasure and objection work the same way and end with GET /v1/requests/{id}/certificate.

    The CRM's suppression check is IAM-authorized; sign with the local credentials:
      curl -s --aws-sigv4 'aws:amz:%[5]s:execute-api' --user test:test -X POST %[1]s/v1/suppressions/check \
           -H 'Content-Type: application/json' -d '{"email":"ada@example.com","purpose":"newsletter"}'
%[6]s
    Subject keys: the purpose tables' streams are delivered to KeyingFunction. The backfill ran at start
    (%[11]s); run it again (it walks a table once per pass; "restart":true starts a new pass) with:
      curl -s -X POST %[1]s%[10]sBackfillFunction -d '{"purpose":"*"}'

    The CRM's provenance events go to the SQS queue %[8]s
    (README.md, "Provenance, recipients and the retention job"). The retention job runs daily; run it now with:
      curl -s -X POST %[1]s%[9]sRetentionFunction

    Ctrl-C stops everything this command started.
`, s.URL, endpoint, s.Seeded, outbox, region, dpo, s.SeededProvenance, s.QueueURL("ProvenanceQueue"), devstack.FirePath,
		devstack.InvokePath, backfilled(s.Backfilled), tokenPath, len(s.SeededRequests), seedSkipped(s.SeedSkipped))
}

// seedSkipped names the tables the seed left as they were, if any.
func seedSkipped(tables []string) string {
	if len(tables) == 0 {
		return ""
	}
	return "\n    Not seeded again, as they already held items (what you erased stays erased; -prefix or a fresh\n" +
		"    emulator gives a fresh demo): " + strings.Join(tables, ", ")
}

// backfilled sums up the backfill's answer at start: what it keyed per purpose.
func backfilled(answer []byte) string {
	var sums []keying.Summary
	if err := json.Unmarshal(answer, &sums); err != nil || len(sums) == 0 {
		return "no answer"
	}
	parts := make([]string, 0, len(sums))
	for _, s := range sums {
		state := "complete"
		if !s.Complete {
			state = "continues"
		}
		parts = append(parts, fmt.Sprintf("%s: %d of %d keyed, %s", s.Purpose, s.Keyed, s.Scanned, state))
	}
	return strings.Join(parts, "; ")
}
