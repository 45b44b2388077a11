package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// MaxCapturedEvents bounds what the local bus keeps (oldest dropped first).
const MaxCapturedEvents = 10000

// CapturedEvent is one entry a function put on the local bus.
type CapturedEvent struct {
	EventID    string          `json:"eventId"`
	Bus        string          `json:"bus"`
	Source     string          `json:"source"`
	DetailType string          `json:"detailType"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// EventCapture is the local EventBridge: functions reach it through
// AWS_ENDPOINT_URL_EVENTBRIDGE and call PutEvents as they would in AWS (the same SDK
// request); it keeps the entries for GET /_local/events and for tests. Entries whose
// detail is not a JSON object are refused per entry, as EventBridge refuses them.
type EventCapture struct {
	mu  sync.Mutex
	got []CapturedEvent
}

type putEventsIn struct {
	Entries []struct {
		Source, DetailType, Detail, EventBusName string
		Time                                     *float64
	}
}

type putEventsResult struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

func (c *EventCapture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	var in putEventsIn
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ValidationException","message":"body is not JSON"}`))
		return
	}
	out := struct {
		Entries          []putEventsResult
		FailedEntryCount int
	}{}
	c.mu.Lock()
	for _, e := range in.Entries {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(e.Detail), &obj) != nil || e.Source == "" || e.DetailType == "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, putEventsResult{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."})
			continue
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		ce := CapturedEvent{EventID: hex.EncodeToString(b[:]), Bus: e.EventBusName, Source: e.Source, DetailType: e.DetailType,
			Time: time.Now().UTC(), Detail: json.RawMessage(e.Detail)}
		if e.Time != nil {
			ce.Time = time.Unix(0, int64(*e.Time*1e9)).UTC()
		}
		c.got = append(c.got, ce)
		out.Entries = append(out.Entries, putEventsResult{EventID: ce.EventID})
	}
	if n := len(c.got) - MaxCapturedEvents; n > 0 {
		c.got = append([]CapturedEvent(nil), c.got[n:]...)
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// Events returns what was put on the local bus, oldest first.
func (c *EventCapture) Events() []CapturedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CapturedEvent{}, c.got...)
}
