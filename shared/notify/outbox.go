package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/tierflow/tierflow/shared/followup/app"
)

// Outbox is the local SMS channel (Linux/Unix: it locks the file with flock): one JSON line per message appended to a file the
// operator can read (tail -f). It honours the idempotency key like a real provider with
// one: a key already in the file is not written again, and Lookup finds it, so a
// redelivered dispatch never produces a second line.
type Outbox struct {
	Path string
	Now  func() time.Time

	mu     sync.Mutex
	offset int64             // bytes of the file already indexed
	sent   map[string]string // idempotency key → provider id
}

// OutboxLine is one message in the outbox file. To is the customer's number: the file is
// a local stand-in for the SMS provider, never a log.
type OutboxLine struct {
	ID         string    `json:"id"`
	Key        string    `json:"key"`
	At         time.Time `json:"at"`
	To         string    `json:"to"`
	Category   string    `json:"category"`
	Text       string    `json:"text"`
	ReminderID string    `json:"reminderId"`
}

// NewOutbox returns an outbox appending to path.
func NewOutbox(path string) *Outbox {
	return &Outbox{Path: path, Now: time.Now, sent: map[string]string{}}
}

// refresh indexes lines appended since the last call (by this or another process).
func (o *Outbox) refresh() error {
	f, err := os.Open(o.Path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sms outbox: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(o.offset, io.SeekStart); err != nil {
		return fmt.Errorf("sms outbox: %w", err)
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			o.offset += int64(len(line))
			var l OutboxLine
			if json.Unmarshal(bytes.TrimSpace(line), &l) == nil && l.Key != "" {
				if _, dup := o.sent[l.Key]; !dup {
					o.sent[l.Key] = l.ID
				}
			}
		}
		if err != nil { // io.EOF, or a partial last line another writer is finishing
			return nil
		}
	}
}

// Send implements Channel. The file is locked (flock) while the key is checked and the
// line appended, so two dispatch processes sharing the outbox write a key once.
func (o *Outbox) Send(_ context.Context, m app.Outgoing) (string, error) {
	if m.To == "" {
		return "", fmt.Errorf("sms %s: no number: %w", m.ReminderID, app.ErrPermanent)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.OpenFile(o.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("sms outbox: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("sms outbox: lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	if err := o.refresh(); err != nil {
		return "", err
	}
	if id, ok := o.sent[m.IdempotencyKey]; ok {
		return id, nil
	}
	l := OutboxLine{ID: "outbox-" + m.IdempotencyKey, Key: m.IdempotencyKey, At: o.Now().UTC(), To: m.To,
		Category: string(m.Category), Text: m.Message.Text, ReminderID: m.ReminderID}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("sms outbox: %w", err)
	}
	// One write of the whole line: O_APPEND keeps readers from seeing half a line's place taken.
	if _, err := f.Write(append(b, '\n')); err != nil {
		return "", fmt.Errorf("sms outbox: %w: %w", app.ErrAmbiguous, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sms outbox: %w: %w", app.ErrAmbiguous, err)
	}
	return l.ID, nil
}

// Lookup implements Channel by reading the file back.
func (o *Outbox) Lookup(_ context.Context, key string) (app.Lookup, string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.refresh(); err != nil {
		return app.LookupUnknown, "", err
	}
	if id, ok := o.sent[key]; ok {
		return app.LookupSent, id, nil
	}
	return app.LookupNotFound, "", nil
}

// ReadOutbox returns every line of an outbox file (tests, the operator's CLI).
func ReadOutbox(path string) ([]OutboxLine, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []OutboxLine
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var l OutboxLine
		if err := json.Unmarshal(line, &l); err != nil {
			return out, fmt.Errorf("sms outbox line: %w", err)
		}
		out = append(out, l)
	}
	return out, nil
}
