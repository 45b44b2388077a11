package lambdart

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Config describes one function.
type Config struct {
	Name     string            // logical ID; also AWS_LAMBDA_FUNCTION_NAME
	Binary   string            // path to the built bootstrap
	Env      map[string]string // template environment plus SDK endpoints; wins over defaults
	Timeout  time.Duration     // per invocation; default 3s as in Lambda
	MemoryMB int               // reported to the function; not enforced
	MaxProcs int               // most processes at once; default 4
	Region   string            // default us-east-1
	Account  string            // default 000000000000
	// InitTimeout bounds a cold start (process start → first request for work); Lambda's
	// on-demand init limit is 10s.
	InitTimeout time.Duration
	Log         io.Writer // stdout and stderr of every process, whole lines; nil = discard
	Console     io.Writer // optional copy of the lines, prefixed with [Name]
	Logger      *slog.Logger
}

// Stats is a snapshot of a pool for status pages and benchmarks.
type Stats struct {
	Processes   int           `json:"processes"`
	Idle        int           `json:"idle"`
	Invocations int64         `json:"invocations"`
	ColdStarts  int64         `json:"coldStarts"`
	Errors      int64         `json:"errors"`
	Timeouts    int64         `json:"timeouts"`
	Crashes     int64         `json:"crashes"`
	LastCold    time.Duration `json:"lastColdStartNs"`
}

// Pool runs the processes of one function.
type Pool struct {
	cfg Config
	arn string
	log *slog.Logger

	mu      sync.Mutex
	closed  bool
	procs   int        // live or starting
	idle    []*sandbox // LIFO: the warmest process serves next
	all     map[*sandbox]struct{}
	wake    chan struct{} // closed when a process frees up
	nextID  int
	stats   Stats
	workers sync.WaitGroup
}

// NewPool checks the binary and returns a pool with no process yet: the first invocation
// is a cold start, as on Lambda.
func NewPool(cfg Config) (*Pool, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("lambdart: function name is empty")
	}
	st, err := os.Stat(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("function %s: bootstrap not built (%w); run make build", cfg.Name, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("function %s: %s is not an executable", cfg.Name, cfg.Binary)
	}
	if cfg.Binary, err = filepath.Abs(cfg.Binary); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = 128
	}
	if cfg.MaxProcs <= 0 {
		cfg.MaxProcs = 4
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	cfg.Log, cfg.Console = LockWriter(cfg.Log), LockWriter(cfg.Console)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pool{
		cfg:  cfg,
		arn:  fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, cfg.Account, cfg.Name),
		log:  cfg.Logger.With("function", cfg.Name),
		all:  map[*sandbox]struct{}{},
		wake: make(chan struct{}),
	}, nil
}

// Name is the function's logical ID.
func (p *Pool) Name() string { return p.cfg.Name }

// ARN is the function ARN handed to the function as Lambda-Runtime-Invoked-Function-Arn.
func (p *Pool) ARN() string { return p.arn }

// Stats returns counters and the current pool size.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Processes, s.Idle = p.procs, len(p.idle)
	return s
}

// environment is what a Lambda sandbox sees, less what only AWS has: the function's own
// variables win, the Runtime API address always points at this sandbox.
func (p *Pool) environment(runtimeAPI string) []string {
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC", // as on Lambda: code must not rely on the host's zone
		"LAMBDA_TASK_ROOT":                filepath.Dir(p.cfg.Binary),
		"_HANDLER":                        "bootstrap",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_LAMBDA_FUNCTION_NAME":        p.cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(p.cfg.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(p.cfg.Timeout / time.Second)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + p.cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local/" + p.cfg.Name,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      p.cfg.Region,
		"AWS_DEFAULT_REGION":              p.cfg.Region,
		// Dummy credentials: the emulators accept any, and a developer's real profile must
		// never be picked up by a local run.
		"AWS_ACCESS_KEY_ID":           "local",
		"AWS_SECRET_ACCESS_KEY":       "local",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	if home, err := os.UserHomeDir(); err == nil {
		env["HOME"] = home
	}
	if path := os.Getenv("PATH"); path != "" {
		env["PATH"] = path
	}
	maps.Copy(env, p.cfg.Env)
	env["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Invoke runs one invocation synchronously and returns the function's response. A
// handler error is a *FunctionError; a crash, a timeout or a failed cold start is a
// *RuntimeError wrapping ErrCrashed, ErrTimeout or ErrInit.
func (p *Pool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	for {
		s, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		inv := &invocation{id: requestID(), payload: payload, done: make(chan result, 1)}
		inv.deadline = time.Now().Add(p.cfg.Timeout)
		select {
		case s.invoke <- inv:
		case <-s.dead:
			// Died while idle (aws-lambda-go exits after reporting a panic): the event was
			// never delivered, so another process may take it.
			p.remove(s, false)
			continue
		case <-ctx.Done():
			p.release(s)
			return nil, ctx.Err()
		}
		p.count(func(st *Stats) { st.Invocations++ })
		return p.await(ctx, s, inv)
	}
}

func (p *Pool) await(ctx context.Context, s *sandbox, inv *invocation) ([]byte, error) {
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case r := <-inv.done:
		return p.settle(s, r)
	case <-s.dead:
		select { // the response may have arrived just before the exit
		case r := <-inv.done:
			return p.settle(s, r)
		default:
		}
		p.remove(s, true)
		p.count(func(st *Stats) { st.Crashes++ })
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", inv.id, s.exitErr)
		if tail := s.out.Tail(); tail != "" {
			msg += "; last output: " + tail
		}
		p.log.Warn("function process exited during invocation", "requestId", inv.id, "err", s.exitErr)
		return nil, &RuntimeError{Type: "Runtime.ExitError", Message: msg, cause: ErrCrashed}
	case <-timer.C:
		s.kill()
		<-s.dead
		p.remove(s, true)
		p.count(func(st *Stats) { st.Timeouts++ })
		p.log.Warn("function timed out; process killed", "requestId", inv.id, "timeout", p.cfg.Timeout)
		return nil, &RuntimeError{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, p.cfg.Timeout.Seconds()), cause: ErrTimeout}
	case <-ctx.Done():
		// The caller left; the process keeps the invocation until it finishes or times out.
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			s.kill()
			return nil, ctx.Err()
		}
		p.workers.Add(1)
		go func() {
			defer p.workers.Done()
			_, _ = p.await(context.Background(), s, inv)
		}()
		return nil, ctx.Err()
	}
}

func (p *Pool) settle(s *sandbox, r result) ([]byte, error) {
	if r.err != nil {
		p.count(func(st *Stats) { st.Errors++ })
	}
	p.release(s)
	return r.body, r.err
}

func (p *Pool) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// acquire returns an idle process, or starts one if the pool may grow, or waits.
func (p *Pool) acquire(ctx context.Context) (*sandbox, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, &RuntimeError{Type: "Runtime.Stopped", Message: p.cfg.Name + " is stopping", cause: ErrStopped}
		}
		if n := len(p.idle); n > 0 {
			s := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			if s.isDead() {
				p.remove(s, false)
				continue
			}
			return s, nil
		}
		if p.procs < p.cfg.MaxProcs {
			p.procs++
			p.mu.Unlock()
			return p.spawn(ctx)
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// spawn starts a process (one slot is already reserved in procs) and waits for it to be
// ready: this is the cold start.
func (p *Pool) spawn(ctx context.Context) (*sandbox, error) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	s, err := p.startSandbox(id)
	if err == nil {
		p.mu.Lock()
		p.all[s] = struct{}{}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			s.kill()
		}
		err = s.awaitReady(ctx, p.cfg.InitTimeout)
		if err != nil {
			s.kill()
			<-s.dead
		}
	}
	if err != nil {
		p.remove(s, false)
		p.log.Error("cold start failed", "err", err)
		return nil, err
	}
	cold := s.readyAt.Sub(s.started)
	p.count(func(st *Stats) { st.ColdStarts++; st.LastCold = cold })
	p.log.Debug("cold start", "process", id, "took", cold)
	return s, nil
}

// release returns a process to the idle set.
func (p *Pool) release(s *sandbox) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		s.kill()
	case s.isDead():
		p.removeLocked(s, false)
	default:
		p.idle = append(p.idle, s)
		p.signal()
	}
}

// reap runs when a process has exited: one that exits while idle (aws-lambda-go exits
// after reporting a panic) is replaced at once; a busy one is handled by its invocation.
func (p *Pool) reap(s *sandbox) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slices.Contains(p.idle, s) {
		p.removeLocked(s, true)
	}
}

// remove forgets a dead (or never started) process and frees its slot. With replace, a
// fresh process is started in the background so the pool keeps its warm capacity.
func (p *Pool) remove(s *sandbox, replace bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(s, replace)
}

func (p *Pool) removeLocked(s *sandbox, replace bool) {
	if s != nil {
		if s.forgotten {
			return // Stop, or the reaper of its exit, freed its slot already
		}
		s.forgotten = true
		delete(p.all, s)
		p.idle = slices.DeleteFunc(p.idle, func(x *sandbox) bool { return x == s })
	}
	p.procs--
	if replace && !p.closed {
		p.procs++
		p.workers.Add(1)
		go func() {
			defer p.workers.Done()
			ns, err := p.spawn(context.Background())
			if err == nil {
				p.release(ns)
			}
		}()
	}
	p.signal()
}

func (p *Pool) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// Stop kills every process and waits for them to exit; invocations in flight fail.
func (p *Pool) Stop() {
	p.mu.Lock()
	p.closed = true
	all := make([]*sandbox, 0, len(p.all))
	for s := range p.all {
		all = append(all, s)
	}
	p.signal()
	p.mu.Unlock()
	for _, s := range all {
		s.kill()
	}
	for _, s := range all {
		<-s.dead
	}
	p.workers.Wait()
	// Every process is gone: free their slots now rather than when each exit is reaped, so
	// that Stats says so as soon as Stop returns.
	p.mu.Lock()
	for _, s := range all {
		p.removeLocked(s, false)
	}
	p.mu.Unlock()
}
