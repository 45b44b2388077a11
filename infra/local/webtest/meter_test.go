package webtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// ddbMeter is set when benchmarks run: every function's DynamoDB calls pass through it.
var ddbMeter *meter

// meter is a reverse proxy in front of DynamoDB (Local, or a function's IAM guard) that
// adds up the ConsumedCapacity the table returns — the store asks for it on every call
// (store.Table.Units counts the same figure inside one process; the functions of the
// stack are separate processes, so the benchmark counts at the wire).
type meter struct {
	mu          sync.Mutex
	read, write float64
	calls       int
	last        time.Time
	err         error
}

// units is a reading of the meter.
type units struct {
	Read, Write float64
	Calls       int
}

func (u units) sub(v units) units {
	return units{Read: u.Read - v.Read, Write: u.Write - v.Write, Calls: u.Calls - v.Calls}
}

func (m *meter) snapshot() units {
	m.mu.Lock()
	defer m.mu.Unlock()
	return units{Read: m.read, Write: m.write, Calls: m.calls}
}

// quietFor is how long no DynamoDB call has passed through the meter.
func (m *meter) quietFor() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Since(m.last)
}

// proxy is stack.Options.DynamoDBProxy: a meter in front of endpoint.
func (m *meter) proxy(endpoint string) string {
	target, err := url.Parse(endpoint)
	if err == nil && target.Host == "" {
		err = fmt.Errorf("no host in %q", endpoint)
	}
	var ln net.Listener
	if err == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		m.mu.Lock()
		m.err = fmt.Errorf("DynamoDB meter in front of %s: %w", endpoint, err)
		m.mu.Unlock()
		return endpoint
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		// The body is read as it came: the SDK checks its CRC32.
		r.Header.Set("Accept-Encoding", "identity")
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		m.count(resp.Request.Header.Get("X-Amz-Target"), b)
		return nil
	}
	go func() {
		if err := http.Serve(ln, rp); err != nil && !errors.Is(err, net.ErrClosed) {
			fmt.Fprintln(os.Stderr, "!!! webtest meter: the DynamoDB proxy stopped:", err)
		}
	}()
	return "http://" + ln.Addr().String()
}

// capacity is one ConsumedCapacity entry of a DynamoDB response.
type capacity struct {
	CapacityUnits, ReadCapacityUnits, WriteCapacityUnits float64
}

// readOps are the operations whose capacity is read capacity.
var readOps = map[string]bool{"GetItem": true, "BatchGetItem": true, "Query": true, "Scan": true, "TransactGetItems": true}

func (m *meter) count(target string, body []byte) {
	op := target[strings.LastIndexByte(target, '.')+1:]
	var one struct {
		ConsumedCapacity json.RawMessage
	}
	if err := json.Unmarshal(body, &one); err != nil {
		// DynamoDB answers JSON, errors included: a body that is not JSON is counted as a
		// call without capacity, and said loudly, since the figures would then be short.
		fmt.Fprintln(os.Stderr, "!!! webtest meter: a DynamoDB answer that is not JSON:", err)
	}
	var cs []capacity
	if raw := bytes.TrimSpace(one.ConsumedCapacity); len(raw) > 0 {
		if raw[0] == '[' {
			if err := json.Unmarshal(raw, &cs); err != nil {
				fmt.Fprintln(os.Stderr, "!!! webtest meter: unreadable ConsumedCapacity:", err)
			}
		} else {
			var c capacity
			if json.Unmarshal(raw, &c) == nil {
				cs = append(cs, c)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.last = time.Now()
	for _, c := range cs {
		switch {
		case c.ReadCapacityUnits+c.WriteCapacityUnits > 0:
			m.read += c.ReadCapacityUnits
			m.write += c.WriteCapacityUnits
		case readOps[op]:
			m.read += c.CapacityUnits
		default:
			m.write += c.CapacityUnits
		}
	}
}
