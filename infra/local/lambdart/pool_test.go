package lambdart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/lambdart"
	"github.com/tierflow/tierflow/infra/local/lambdart/lambdarttest"
)

// syncBuffer is a log sink the test can read while processes write to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newPool(t testing.TB, mutate func(*lambdart.Config)) (*lambdart.Pool, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	cfg := lambdart.Config{
		Name:     "TestFunction",
		Binary:   lambdarttest.Bootstrap(t),
		Env:      map[string]string{"TESTFN_VALUE": "from-template"},
		Timeout:  2 * time.Second,
		MemoryMB: 256,
		MaxProcs: 4,
		Log:      &logs,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := lambdart.NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p, &logs
}

func invoke(t *testing.T, p *lambdart.Pool, event string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.Invoke(ctx, []byte(event))
}

func TestResponseRoundTrip(t *testing.T) {
	p, _ := newPool(t, nil)
	out, err := invoke(t, p, `{"action":"echo","n":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"action":"echo","n":1}` {
		t.Fatalf("response = %s", out)
	}
	// The second invocation reuses the warm process.
	if _, err := invoke(t, p, `{"action":"echo"}`); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.ColdStarts != 1 || st.Invocations != 2 || st.Processes != 1 {
		t.Fatalf("stats = %+v, want one cold start serving two invocations", st)
	}
}

func TestFunctionSeesLambdaEnvironment(t *testing.T) {
	p, _ := newPool(t, nil)
	out, err := invoke(t, p, `{"action":"env"}`)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "TestFunction",
		"AWS_REGION":               "us-east-1",
		"TESTFN_VALUE":             "from-template",
		"arn":                      "arn:aws:lambda:us-east-1:000000000000:function:TestFunction",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}

func TestReturnedErrorIsAFunctionError(t *testing.T) {
	p, logs := newPool(t, nil)
	_, err := invoke(t, p, `{"action":"error","message":"customer not found"}`)
	var fe *lambdart.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want *FunctionError", err, err)
	}
	if fe.Message != "customer not found" || fe.Type != "errorString" {
		t.Fatalf("function error = %+v", fe)
	}
	// The process survives a returned error.
	if _, err := invoke(t, p, `{"action":"echo"}`); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.ColdStarts != 1 {
		t.Fatalf("a returned error restarted the process: %+v", st)
	}
	if !strings.Contains(logs.String(), `"msg":"invoked"`) {
		t.Fatalf("function output not in the log: %q", logs.String())
	}
}

func TestPanicReplacesOnlyThatProcess(t *testing.T) {
	p, _ := newPool(t, nil)
	_, err := invoke(t, p, `{"action":"panic"}`)
	var fe *lambdart.FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "panic on purpose") {
		t.Fatalf("err = %v, want the panic reported as a function error", err)
	}
	for i := range 3 {
		if _, err := invoke(t, p, `{"action":"echo"}`); err != nil {
			t.Fatalf("invoke %d after panic: %v", i, err)
		}
	}
}

func TestCrashIsReportedAndProcessReplaced(t *testing.T) {
	p, _ := newPool(t, nil)
	_, err := invoke(t, p, `{"action":"exit"}`)
	if !errors.Is(err, lambdart.ErrCrashed) || lambdart.ErrorType(err) != "Runtime.ExitError" {
		t.Fatalf("err = %v, want Runtime.ExitError", err)
	}
	if !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("error does not say how the process ended: %v", err)
	}
	if _, err := invoke(t, p, `{"action":"echo"}`); err != nil {
		t.Fatal(err)
	}
}

func TestTimeoutKillsAndReplacesTheProcess(t *testing.T) {
	p, _ := newPool(t, func(c *lambdart.Config) { c.Timeout = 300 * time.Millisecond })
	before := pid(t, p)
	start := time.Now()
	_, err := invoke(t, p, `{"action":"sleep","ms":60000}`)
	if !errors.Is(err, lambdart.ErrTimeout) || lambdart.ErrorType(err) != "Sandbox.Timedout" {
		t.Fatalf("err = %v, want Sandbox.Timedout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("timeout reported after %s", took)
	}
	after := pid(t, p)
	if after == before {
		t.Fatalf("timed-out process %s still serving", before)
	}
	if st := p.Stats(); st.Timeouts != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func pid(t *testing.T, p *lambdart.Pool) string {
	out, err := invoke(t, p, `{"action":"env"}`)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(out, &env); err != nil || env["pid"] == "" {
		t.Fatalf("env answer %s: %v", out, err) // "" == "" would pass a check that the process changed
	}
	return env["pid"]
}

func TestConcurrentInvocationsGrowThePool(t *testing.T) {
	p, _ := newPool(t, nil)
	// Four invocations that each hold a process for a while must run side by side on
	// four processes; the pool never exceeds its maximum.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := invoke(t, p, `{"action":"sleep","ms":200}`)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := p.Stats()
	if st.Processes != 4 || st.ColdStarts != 4 || st.Invocations != 8 {
		t.Fatalf("stats = %+v, want 4 processes serving 8 invocations", st)
	}
}

func TestInitFailureIsReported(t *testing.T) {
	p, _ := newPool(t, func(c *lambdart.Config) { c.Env["TESTFN_INIT_FAIL"] = "1" })
	_, err := invoke(t, p, `{}`)
	if !errors.Is(err, lambdart.ErrInit) || !strings.Contains(err.Error(), "cold start failed on purpose") {
		t.Fatalf("err = %v, want Runtime.InitError with the function's last output", err)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	p, _ := newPool(t, nil)
	if _, err := invoke(t, p, `{"action":"echo"}`); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if _, err := invoke(t, p, `{"action":"echo"}`); !errors.Is(err, lambdart.ErrStopped) {
		t.Fatalf("invoke after stop: %v", err)
	}
	if st := p.Stats(); st.Processes != 0 {
		t.Fatalf("processes left after Stop: %+v", st)
	}
}
