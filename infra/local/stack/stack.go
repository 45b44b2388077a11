// Package stack starts the whole local runtime in one call: the emulators, the
// resources of template.yaml, a process pool per function, the API gateway, the SQS
// event source mappings and the schedules; and stops all of it, in reverse order, leaving
// nothing running or listening. `tierflow-local run` uses it, and so do integration tests
// of other packages, from a TestMain.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tierflow/tierflow/infra/local/ddbguard"
	"github.com/tierflow/tierflow/infra/local/devjwt"
	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/esm"
	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/lambdart"
	"github.com/tierflow/tierflow/infra/local/resources"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
	"github.com/tierflow/tierflow/infra/local/scheduler"
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/secrets"
)

// DefaultPort is the API's port when neither Options.Port nor TIERFLOW_PORT say.
const DefaultPort = 3000

// ErrPortInUse is wrapped by the error for an API port that is taken.
var ErrPortInUse = errors.New("port in use")

// Options say where things are. Zero values take defaults relative to Root.
type Options struct {
	Root     string // project root (template.yaml, go.mod); default: found from the working dir
	Port     int    // API port; 0 = $TIERFLOW_PORT or 3000; -1 = any free port (tests)
	StateDir string // default Root/.local: keys, logs, SMS outbox, stack.json
	BinDir   string // default Root/.build/local; bootstraps at <BinDir>/<LogicalId>/bootstrap

	Build       bool      // build every bootstrap first (test harnesses)
	ConsoleLogs bool      // copy function output to Console
	Console     io.Writer // default os.Stderr
	Params      map[string]string
	// Secrets are the values of shared/secrets names (SMS_INBOUND_SECRET, ...) for the
	// functions whose template passes that secret's parameter name (NAME_PARAM). There is
	// no SSM emulator: the runtime hands the value itself, on the local-only path.
	// LOG_HASH_KEY, when not given, is drawn once into the state folder.
	Secrets     map[string]string
	NoSchedules bool // do not fire schedules on their own (tests fire them by hand)
	MaxProcs    int  // processes per function; default 4
	// DynamoDBProxy, when set, is given each function's DynamoDB endpoint (the emulator's
	// or its IAM guard's) and returns the one the function uses instead: a test harness's
	// meter in front of the table (webtest's BenchmarkOnlineRetailApp). nil = direct.
	DynamoDBProxy func(endpoint string) string
	Logger        *slog.Logger
}

// Stack is a running local runtime.
type Stack struct {
	URL       string // http://127.0.0.1:<port>
	Port      int
	Emulators *emulators.Emulators
	Template  *samtemplate.Template
	Issuer    *devjwt.Issuer
	Resources samtemplate.Resolver
	LogDir    string
	SMSOutbox string
	StartedIn time.Duration
	// AdminKey is the secret the /_local admin routes that act require in
	// gateway.KeyHeader; it is also in AdminKeyFile(StateDir) for the CLI.
	AdminKey string

	opts     Options
	log      *slog.Logger
	pools    map[string]*lambdart.Pool
	guards   []*http.Server // local IAM guards in front of DynamoDB (ddbguard)
	server   *http.Server
	poller   *esm.Poller
	sched    *scheduler.Scheduler
	logs     []*os.File
	stopOnce sync.Once
	stopErr  error
	served   chan struct{}
	// Events is the local EventBridge every function's PutEvents reaches
	// (AWS_ENDPOINT_URL_EVENTBRIDGE); GET /_local/events lists it.
	Events   *gateway.EventCapture
	eventsLn net.Listener
}

func (o *Options) defaults() error {
	if o.Root == "" {
		root, err := emulators.FindRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(o.Root, ".local")
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.Root, ".build", "local")
	}
	for _, p := range []*string{&o.Root, &o.StateDir, &o.BinDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	if o.Port == 0 {
		o.Port = DefaultPort
		if v := os.Getenv("TIERFLOW_PORT"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return fmt.Errorf("TIERFLOW_PORT=%q is not a port number", v)
			}
			o.Port = p
		}
	}
	if o.Console == nil {
		o.Console = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Listen takes the API port on loopback, with one clear line when it is taken.
func Listen(port int) (net.Listener, error) {
	if port < 0 {
		port = 0
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("port %d is already in use (another tierflow-local?): stop it, or run with TIERFLOW_PORT=%d: %w", port, port+1, ErrPortInUse)
	}
	return ln, err
}

// Start brings everything up and returns once the API answers. On error nothing it
// started is left running.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	t0 := time.Now()
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	ln, err := Listen(opts.Port)
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s := &Stack{
		URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, opts: opts, log: opts.Logger,
		LogDir:    filepath.Join(opts.StateDir, "logs"),
		SMSOutbox: filepath.Join(opts.StateDir, "sms-outbox.jsonl"),
		pools:     map[string]*lambdart.Pool{},
		served:    make(chan struct{}),
	}
	defer func() {
		if err != nil {
			ln.Close()
			s.Stop()
		}
	}()
	if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return nil, err
	}

	// The template decides everything; only what depends on this run (the issuer on our
	// port, our origin) is passed as parameter overrides, as `sam deploy` would be.
	params, err := readParams(filepath.Join(opts.Root, "infra", "local", "params.local.json"))
	if err != nil {
		return nil, err
	}
	params["JwtIssuer"] = devjwt.IssuerURL(port)
	params["PublicBaseUrl"] = s.URL
	params["CorsAllowOrigins"] = s.URL
	if params["ThankYouUrl"] == "" {
		// The example lead form ends on the stack's own thank-you page (infra/local/pages),
		// not on the template's placeholder site, which a browser cannot reach.
		params["ThankYouUrl"] = s.ThankYouURL()
	}
	for k, v := range opts.Params {
		params[k] = v
	}
	if s.Template, err = samtemplate.Load(filepath.Join(opts.Root, "template.yaml"), params); err != nil {
		return nil, err
	}
	if s.Issuer, err = devjwt.Open(filepath.Join(opts.StateDir, "jwt"), params["JwtIssuer"], s.Template.Params["JwtAudience"]); err != nil {
		return nil, err
	}
	if s.AdminKey, err = adminKey(opts.StateDir); err != nil {
		return nil, err
	}
	if opts.Build {
		if err := Build(ctx, opts.Root, opts.BinDir, s.Template.Functions); err != nil {
			return nil, err
		}
	}
	for _, f := range s.Template.Functions { // fail before the emulators' minute, not after
		if _, err := os.Stat(BootstrapPath(opts.BinDir, f.LogicalID)); err != nil {
			return nil, fmt.Errorf("%s is not built (%s missing): run make build-local", f.LogicalID, BootstrapPath(opts.BinDir, f.LogicalID))
		}
	}

	if s.Emulators, err = emulators.Start(ctx, emulators.Options{
		NodeDir: filepath.Join(opts.Root, "infra", "local", "node"), JavaDir: filepath.Join(opts.Root, "infra", "local", "java"),
		StateDir: opts.StateDir, LogDir: s.LogDir,
		// The compiled DynamoDB Local launcher is kept in the checkout's .local whatever the
		// state folder: test stacks on a temporary one need not compile it again each time.
		CacheDir: filepath.Join(opts.Root, ".local", "cache"),
	}); err != nil {
		return nil, err
	}
	created, err := resources.Create(ctx, s.Template, s.Emulators)
	if err != nil {
		return nil, err
	}
	s.Resources = created

	if err := s.startPools(); err != nil {
		return nil, err
	}
	if err := s.startGateway(ln); err != nil {
		return nil, err
	}
	if err := s.startEventSources(ctx); err != nil {
		return nil, err
	}
	if err := s.waitServing(ctx); err != nil {
		return nil, err
	}
	s.StartedIn = time.Since(t0)
	_ = s.writeState()
	return s, nil
}

func readParams(path string) (map[string]string, error) {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of parameter name to value: %w", path, err)
	}
	return out, nil
}

func (s *Stack) startPools() error {
	var console io.Writer
	if s.opts.ConsoleLogs {
		console = lambdart.LockWriter(s.opts.Console)
	}
	sealKey, err := localSealKey(s.opts.StateDir)
	if err != nil {
		return err
	}
	localSecrets, err := s.localSecrets()
	if err != nil {
		return err
	}
	if err := s.startEventBus(); err != nil {
		return err
	}
	for _, f := range s.Template.Functions {
		env, err := f.Environment(s.Resources)
		if err != nil {
			return fmt.Errorf("environment of %s: %w", f.LogicalID, err)
		}
		for k, v := range s.Emulators.Env() {
			env[k] = v
		}
		env["AWS_ENDPOINT_URL_EVENTBRIDGE"] = "http://" + s.eventsLn.Addr().String()
		passSecrets(env, localSecrets)
		if err := s.guardDynamoDB(f, env); err != nil {
			return err
		}
		if s.opts.DynamoDBProxy != nil {
			env["AWS_ENDPOINT_URL_DYNAMODB"] = s.opts.DynamoDBProxy(env["AWS_ENDPOINT_URL_DYNAMODB"])
		}
		env["SMS_OUTBOX_PATH"] = s.SMSOutbox
		env[seal.LocalKeyEnv] = sealKey
		logf, err := os.OpenFile(filepath.Join(s.LogDir, f.LogicalID+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		s.logs = append(s.logs, logf)
		p, err := lambdart.NewPool(lambdart.Config{
			Name: f.LogicalID, Binary: BootstrapPath(s.opts.BinDir, f.LogicalID), Env: env,
			Timeout: f.Timeout, MemoryMB: f.MemoryMB, MaxProcs: s.opts.MaxProcs,
			Region: s.Emulators.Region, Account: s.Template.Pseudo["AWS::AccountId"],
			Log: logf, Console: console, Logger: s.log,
		})
		if err != nil {
			return err
		}
		s.pools[f.LogicalID] = p
	}
	return nil
}

// startEventBus serves the local EventBridge on a loopback port of its own.
func (s *Stack) startEventBus() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("local event bus: %w", err)
	}
	s.Events, s.eventsLn = &gateway.EventCapture{}, ln
	srv := &http.Server{Handler: s.Events, ReadHeaderTimeout: 10 * time.Second}
	s.guards = append(s.guards, srv) // stopped with the IAM guards
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (s *Stack) startGateway(ln net.Listener) error {
	admin := &gateway.Admin{
		Invoke:       s.Invoke,
		FireSchedule: s.FireSchedule,
		Token: func(role string, stores []string, sub string) (string, error) {
			return s.MintToken(role, stores, sub, 12*time.Hour)
		},
		JWKS:      s.Issuer.JWKS(),
		Issuer:    s.Issuer.Handler(),
		SMSOutbox: s.SMSOutbox,
		Status:    func() any { return s.Status() },
		Events:    s.Events,
		Key:       s.AdminKey,
	}
	gw, err := gateway.New(gateway.Config{
		Routes: s.Template.Routes(), API: s.Template.API, Keyfunc: s.Issuer.Keyfunc,
		Invoker: gateway.InvokerFunc(s.Invoke), Account: s.Template.Pseudo["AWS::AccountId"],
		PagesDir: filepath.Join(s.opts.Root, "infra", "local", "pages"),
		Admin:    admin.Handler(), Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.server = &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gateway stopped", "err", err)
		}
	}()
	return nil
}

func (s *Stack) startEventSources(ctx context.Context) error {
	var mappings []esm.Mapping
	var jobs []scheduler.Job
	for _, f := range s.Template.Functions {
		for _, ev := range f.SQS {
			if !ev.Enabled {
				continue
			}
			url, ok := s.Resources.Ref(ev.Queue)
			if !ok {
				return fmt.Errorf("%s/%s: queue %s was not created", f.LogicalID, ev.Name, ev.Queue)
			}
			mappings = append(mappings, esm.Mapping{Function: f.LogicalID, Name: ev.Name, QueueURL: url,
				BatchSize: ev.BatchSize, Window: ev.Window, ReportBatchItemFailures: ev.ReportBatchItemFailures,
				Pollers: min(max(ev.MaxConcurrency, 2), 4)})
		}
		for _, sc := range f.Schedules {
			jobs = append(jobs, scheduler.Job{Function: f.LogicalID, Name: sc.Name, Expression: sc.Expression,
				TimeZone: sc.TimeZone, Input: sc.Input, Enabled: sc.Enabled && !s.opts.NoSchedules})
		}
	}
	var err error
	if s.poller, err = esm.Start(ctx, s.Emulators.SQSClient(), s.Invoke, mappings, esm.Options{Region: s.Emulators.Region, Logger: s.log}); err != nil {
		return err
	}
	if s.sched, err = scheduler.New(jobs, s.Invoke, scheduler.Options{Logger: s.log}); err != nil {
		return err
	}
	s.sched.Start(context.WithoutCancel(ctx))
	return nil
}

// waitServing returns once the gateway answers on its port.
func (s *Stack) waitServing(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/_local/status", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the API did not answer on %s: %w", s.URL, err)
		}
		select {
		case <-time.After(20 * time.Millisecond): // polling a readiness probe
		case <-ctx.Done():
		}
	}
}

// ThankYouURL is the local thank-you page the example lead form redirects to.
func (s *Stack) ThankYouURL() string { return s.URL + "/thanks.html" }

// AppURL is the staff web app (the WebFunction's routes).
func (s *Stack) AppURL() string { return s.URL + "/app/" }

// Invoke runs a function by logical id, as the Lambda Invoke API would.
func (s *Stack) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	p, ok := s.pools[s.resolve(function)]
	if !ok {
		return nil, fmt.Errorf("function %q: %w (have %s)", function, gateway.ErrUnknown, strings.Join(s.functionNames(), ", "))
	}
	return p.Invoke(ctx, payload)
}

// resolve accepts a logical id or a function folder name ("sweep", "public-api"), so
// `make invoke FN=sweep` and FN=SweepFunction both work.
func (s *Stack) resolve(name string) string {
	for _, f := range s.Template.Functions {
		if strings.EqualFold(f.LogicalID, name) || filepath.Base(f.Dir) == name {
			return f.LogicalID
		}
	}
	return name
}

func (s *Stack) functionNames() []string {
	var names []string
	for _, f := range s.Template.Functions {
		names = append(names, f.LogicalID)
	}
	return names
}

// FireSchedule runs a schedule of the template now.
func (s *Stack) FireSchedule(ctx context.Context, function, event string) ([]byte, error) {
	out, err := s.sched.Fire(ctx, s.resolve(function), event)
	if errors.Is(err, scheduler.ErrUnknownSchedule) {
		return nil, fmt.Errorf("%w: %w", gateway.ErrUnknown, err)
	}
	return out, err
}

// MintToken returns a staff token the stack's API accepts.
func (s *Stack) MintToken(role string, stores []string, sub string, ttl time.Duration) (string, error) {
	return s.Issuer.Mint(role, stores, sub, ttl)
}

// Status is what GET /_local/status answers.
func (s *Stack) Status() map[string]any {
	fns := map[string]lambdart.Stats{}
	for id, p := range s.pools {
		fns[id] = p.Stats()
	}
	st := map[string]any{
		"api":         s.URL,
		"emulators":   map[string]string{"dynamodb": s.Emulators.DynamoDB, "sqs": s.Emulators.SQS, "ses": s.Emulators.SES},
		"emailOutbox": s.Emulators.OutboxURL(),
		"smsOutbox":   s.URL + "/_local/sms",
		"logs":        s.LogDir,
		"functions":   fns,
		"startedIn":   s.StartedIn.String(),
	}
	if s.poller != nil {
		st["eventSources"] = s.poller.Stats()
	}
	if s.sched != nil {
		st["schedules"] = s.sched.Status()
	}
	return st
}

// StateFile is where a running stack records its URL, for `tierflow-local invoke`.
func StateFile(stateDir string) string { return filepath.Join(stateDir, "stack.json") }

func (s *Stack) writeState() error {
	b, _ := json.Marshal(map[string]any{"url": s.URL, "pid": os.Getpid()})
	return os.WriteFile(StateFile(s.opts.StateDir), b, 0o644)
}

// Stop stops everything in reverse order of start and waits for it: schedules, event
// sources (their batches in flight finish), the gateway, the function processes, the
// emulators. Safe to call more than once.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.sched != nil {
			s.sched.Stop()
		}
		if s.poller != nil {
			s.poller.Stop()
		}
		if s.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.server.Shutdown(ctx); err != nil {
				s.server.Close()
			}
			cancel()
			<-s.served
		}
		for _, p := range s.pools {
			p.Stop()
		}
		for _, g := range s.guards {
			g.Close()
		}
		if s.Emulators != nil {
			errs = append(errs, s.Emulators.Stop())
		}
		for _, f := range s.logs {
			f.Close()
		}
		if s.server != nil {
			_ = os.Remove(StateFile(s.opts.StateDir))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// AdminKeyFile is where the key of the /_local admin routes is kept (mode 0600): the
// CLI (`make invoke`) reads it from there.
func AdminKeyFile(stateDir string) string { return filepath.Join(stateDir, "admin.key") }

// ReadAdminKey returns the admin key a stack using stateDir wrote.
func ReadAdminKey(stateDir string) (string, error) {
	b, err := os.ReadFile(AdminKeyFile(stateDir))
	if err != nil {
		return "", fmt.Errorf("read the local admin key (written by `tierflow-local run`): %w", err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("%s is empty: delete it and start the stack again", AdminKeyFile(stateDir))
	}
	return k, nil
}

// adminKey returns the admin key of this state folder, drawing it on first use. It is
// kept across runs, like the token signing key beside it: whoever can read one can read
// the other, and a second stack on the same folder must not lock the CLI out of the
// first. The file is made owner-only whatever mode it was found with.
func adminKey(stateDir string) (string, error) {
	path := AdminKeyFile(stateDir)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	if k, err := ReadAdminKey(stateDir); err == nil && len(k) >= 32 {
		return k, os.Chmod(path, 0o600)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	k := base64.RawURLEncoding.EncodeToString(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	return k, nil
}

// guardDynamoDB puts a ddbguard in front of DynamoDB Local for a function whose policies
// limit it by dynamodb:LeadingKeys, so that it can do locally only what its role lets it
// do in AWS.
func (s *Stack) guardDynamoDB(f samtemplate.Function, env map[string]string) error {
	policy, guarded, err := ddbguard.Compile(s.Template, f, s.Resources)
	if err != nil || !guarded {
		return err
	}
	target, err := url.Parse(s.Emulators.DynamoDB)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("IAM guard for %s: %w", f.LogicalID, err)
	}
	srv := &http.Server{Handler: policy.Handler(target, s.log), ReadHeaderTimeout: 10 * time.Second}
	s.guards = append(s.guards, srv)
	go func() { _ = srv.Serve(ln) }()
	env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://" + ln.Addr().String()
	return nil
}

// localSecrets are the values the runtime hands to functions in place of SSM parameters:
// Options.Secrets, and a LOG_HASH_KEY kept in the state folder (0600) so that hashed
// values in the local logs correlate across functions and runs, as in AWS.
func (s *Stack) localSecrets() (map[string]string, error) {
	out := map[string]string{}
	for k, v := range s.opts.Secrets {
		if !slices.Contains(secrets.Names, k) {
			return nil, fmt.Errorf("stack secret %s: not one of %s", k, strings.Join(secrets.Names, ", "))
		}
		out[k] = v
	}
	if _, ok := out[secrets.LogHashKey]; !ok {
		k, err := stateKey(filepath.Join(s.opts.StateDir, "log-hash.key"))
		if err != nil {
			return nil, fmt.Errorf("local LOG_HASH_KEY: %w", err)
		}
		out[secrets.LogHashKey] = k
	}
	return out, nil
}

// passSecrets is the local stand-in for the SSM read at cold start: where the template
// passes a secret's parameter name (NAME_PARAM), the function gets the value (NAME)
// instead, on the path shared/secrets accepts only under the local runtime.
func passSecrets(env, values map[string]string) {
	env[secrets.LocalRuntimeEnv] = "local"
	for _, name := range secrets.Names {
		if _, named := env[name+secrets.ParamSuffix]; !named {
			continue
		}
		delete(env, name+secrets.ParamSuffix)
		if v, ok := values[name]; ok && v != "" {
			env[name] = v
		}
	}
}

// stateKey returns base64 of 32 random bytes kept in path (0600), drawn on first use.
func stateKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	enc := base64.StdEncoding.EncodeToString(key)
	if err := os.WriteFile(path, []byte(enc+"\n"), 0o600); err != nil {
		return "", err
	}
	return enc, nil
}

// localSealKey stands in for KMS: the data keys of sensitive sections are wrapped with a
// master key from $TIERFLOW_LOCAL_KEY, or one generated once into the state folder (0600),
// so data sealed in one run can be opened in the next.
func localSealKey(stateDir string) (string, error) {
	if k := os.Getenv(seal.LocalKeyEnv); k != "" {
		return k, nil
	}
	path := filepath.Join(stateDir, "seal-local.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key := make([]byte, seal.DataKeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("local seal key: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(key)
	if err := os.WriteFile(path, []byte(enc+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("local seal key: %w", err)
	}
	return enc, nil
}
