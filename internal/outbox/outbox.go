// Package outbox is the local stand-in for e-mail: every message becomes one
// .eml file in a folder (docs/api.md: .local/outbox/) and is echoed on the console,
// so that a person or a test can read the code. It is never used when deployed.
package outbox

import (
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Outbox writes messages to Dir and echoes them to Console (if not nil).
type Outbox struct {
	Dir     string
	From    string
	Console io.Writer

	mu  sync.Mutex
	seq int
}

// Send writes msg as an RFC 5322 message to a new .eml file, atomically. A
// mail with an id (dsr.Mail.MailID) is written once: its file is named
// after it, and a second send of the same id writes nothing.
func (o *Outbox) Send(_ context.Context, msg dsr.Mail) error {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	now := time.Now().UTC()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	name := fmt.Sprintf("%s-%s-%03d.eml", now.Format("20060102T150405.000Z"), msg.RequestID, o.seq)
	if id := msg.MailID(); id != "" {
		if sent, _ := filepath.Glob(filepath.Join(o.Dir, "*-"+id+".eml")); len(sent) > 0 {
			return nil
		}
		name = fmt.Sprintf("%s-%s.eml", now.Format("20060102T150405.000Z"), id)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nX-Request-Id: %s\r\n",
		o.From, msg.To, mime.QEncoding.Encode("utf-8", msg.Subject), now.Format(time.RFC1123Z), msg.RequestID)
	if id := msg.MailID(); id != "" {
		fmt.Fprintf(&b, "X-Mail-Id: %s\r\n", id)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(msg.Text, "\n", "\r\n"))
	tmp, err := os.CreateTemp(o.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(o.Dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if o.Console != nil {
		fmt.Fprintf(o.Console, "\n---- outbox: %s ----\nTo: %s\nSubject: %s\n\n%s---- end of message ----\n\n", path, msg.To, msg.Subject, msg.Text)
	}
	return nil
}
