package lambdart

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	apiPrefix = "/2018-06-01/runtime"
	// maxResponseBytes is Lambda's synchronous response limit.
	maxResponseBytes = 6 << 20
)

// invocation is one event on its way through a sandbox.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan result // buffered 1; written once
	once     sync.Once
}

type result struct {
	body []byte
	err  error
}

func (inv *invocation) finish(r result) { inv.once.Do(func() { inv.done <- r }) }

// sandbox is one bootstrap process with its own Runtime API listener.
type sandbox struct {
	forgotten bool // removed from its pool (guarded by the pool's mutex)
	pool      *Pool
	id        int
	started   time.Time
	ready     chan struct{} // closed on the first GET next
	readyAt   time.Time
	invoke    chan *invocation
	dead      chan struct{} // closed when the process has exited
	exitErr   error
	srv       *http.Server
	cmd       *exec.Cmd
	out       *lineWriter

	mu      sync.Mutex
	readyOn sync.Once
	current *invocation
	initErr *FunctionError
}

func (p *Pool) startSandbox(id int) (*sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for runtime API of %s: %w", p.cfg.Name, err)
	}
	s := &sandbox{
		pool:   p,
		id:     id,
		ready:  make(chan struct{}),
		invoke: make(chan *invocation),
		dead:   make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", s.handleNext)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", s.handleResponse)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", s.handleError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", s.handleInitError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)

	env := p.environment(ln.Addr().String())
	s.out = newLineWriter(p.cfg.Log, p.cfg.Console, "["+p.cfg.Name+"] ")
	cmd := exec.Command(p.cfg.Binary)
	cmd.Dir = filepath.Dir(p.cfg.Binary)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = s.out, s.out
	// Own process group so a kill takes anything the function started; SIGKILL if we die
	// so that no bootstrap outlives the runtime.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	s.cmd = cmd
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		s.srv.Close()
		return nil, fmt.Errorf("start %s (%s): %w", p.cfg.Name, p.cfg.Binary, err)
	}
	go func() {
		s.exitErr = cmd.Wait()
		s.out.Flush()
		s.srv.Close()
		close(s.dead)
		p.reap(s)
	}()
	return s, nil
}

// awaitReady waits for the process to ask for its first invocation (the end of a cold start).
func (s *sandbox) awaitReady(ctx context.Context, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-s.ready:
		return nil
	case <-s.dead:
		s.mu.Lock()
		ie := s.initErr
		s.mu.Unlock()
		msg := fmt.Sprintf("process exited before its first invocation: %v", s.exitErr)
		if ie != nil {
			msg = fmt.Sprintf("%s: %s (%s)", ie.Type, ie.Message, msg)
		}
		if tail := s.out.Tail(); tail != "" {
			msg += "; last output: " + tail
		}
		return &RuntimeError{Type: "Runtime.InitError", Message: msg, cause: ErrInit}
	case <-t.C:
		s.kill()
		return &RuntimeError{Type: "Runtime.InitError", Message: fmt.Sprintf("no request for an invocation within %s of start", limit), cause: ErrInit}
	case <-ctx.Done():
		s.kill()
		return ctx.Err()
	}
}

// kill ends the whole process group; the Wait goroutine then closes dead.
func (s *sandbox) kill() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (s *sandbox) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

func (s *sandbox) handleNext(w http.ResponseWriter, r *http.Request) {
	s.readyOn.Do(func() { s.readyAt = time.Now(); close(s.ready) })
	var inv *invocation
	select {
	case inv = <-s.invoke:
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	s.current = inv
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", s.pool.arn)
	h.Set("Lambda-Runtime-Trace-Id", traceID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// take returns the in-flight invocation with the given id and clears it.
func (s *sandbox) take(id string) *invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil || s.current.id != id {
		return nil
	}
	inv := s.current
	s.current = nil
	return inv
}

func (s *sandbox) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := s.take(r.PathValue("id"))
	if inv == nil {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with this id")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	switch {
	case err != nil:
		inv.finish(result{err: &FunctionError{Type: "Runtime.ResponseError", Message: err.Error()}})
	case len(body) > maxResponseBytes:
		inv.finish(result{err: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("response is larger than %d bytes", maxResponseBytes)}})
		runtimeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response too large")
		return
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// aws-lambda-go streams responses and reports a failed stream in trailers.
		inv.finish(result{err: &FunctionError{Type: r.Trailer.Get("Lambda-Runtime-Function-Error-Type"), Message: "response stream failed"}})
	default:
		inv.finish(result{body: body})
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (s *sandbox) handleError(w http.ResponseWriter, r *http.Request) {
	inv := s.take(r.PathValue("id"))
	if inv == nil {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with this id")
		return
	}
	inv.finish(result{err: readFunctionError(r)})
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (s *sandbox) handleInitError(w http.ResponseWriter, r *http.Request) {
	fe := readFunctionError(r)
	s.mu.Lock()
	s.initErr = fe
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func readFunctionError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	fe := &FunctionError{}
	if err := json.Unmarshal(body, fe); err != nil || (fe.Type == "" && fe.Message == "") {
		fe = &FunctionError{Message: string(bytes.TrimSpace(body))}
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func runtimeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func traceID() string {
	var b [12]byte
	var p [8]byte
	_, _ = rand.Read(b[:])
	_, _ = rand.Read(p[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(b[:]), hex.EncodeToString(p[:]))
}
