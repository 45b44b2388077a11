// Package testenv gives a whole test run one set of emulators. Start runs DynamoDB
// Local, fauxqs and aws-ses-v2-local on loopback, creates template.yaml's table and
// queues there as prototypes, and returns the variables shared/store/storetest reads;
// every test binary then copies the prototypes under names of its own. Run does that
// around one command (`make test` runs `go test` this way) and stops the emulators when
// the command ends, fails, or is interrupted.
package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/resources"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// Stage is the template's Stage for the prototypes: tierflow-test, tierflow-test-ingest...
const Stage = "test"

// Options say where the project is and where messages go.
type Options struct {
	Root   string    // project root (template.yaml, go.mod); default: found from the working dir
	Stderr io.Writer // the launcher's own lines; default os.Stderr
	// Grace is how long an interrupted command gets to end before it is killed; default 15 s.
	Grace time.Duration
}

func (o *Options) defaults() error {
	if o.Root == "" {
		root, err := emulators.FindRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Grace == 0 {
		o.Grace = 15 * time.Second
	}
	return nil
}

// Env is a running set of emulators with the template's prototypes.
type Env struct {
	Emulators *emulators.Emulators
	// Vars are the variables storetest reads (endpoints, region, prototype names).
	Vars  map[string]string
	state string
}

// Start starts the emulators and creates the prototypes. On error nothing is left running.
func Start(ctx context.Context, o Options) (*Env, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("", "tierflow-testenv-")
	if err != nil {
		return nil, err
	}
	emu, err := emulators.Start(ctx, emulators.Options{
		NodeDir: filepath.Join(o.Root, "infra", "local", "node"), JavaDir: filepath.Join(o.Root, "infra", "local", "java"),
		// Fresh state and logs; the compiled DynamoDB Local launcher is shared with make run.
		StateDir: state, CacheDir: filepath.Join(o.Root, ".local", "cache"),
	})
	if err != nil {
		os.RemoveAll(state)
		return nil, fmt.Errorf("the emulators did not start: %w", err)
	}
	e := &Env{Emulators: emu, state: state}
	tpl, err := samtemplate.Load(filepath.Join(o.Root, "template.yaml"), map[string]string{"Stage": Stage})
	if err != nil {
		e.Stop()
		return nil, err
	}
	created, err := resources.Create(ctx, tpl, emu)
	if err != nil {
		e.Stop()
		return nil, fmt.Errorf("create the template's table and queues: %w", err)
	}
	var queues []string
	for _, q := range tpl.Queues {
		queues = append(queues, q.LogicalID+"="+q.Name)
	}
	sort.Strings(queues)
	e.Vars = map[string]string{
		storetest.EnvDynamoDB: emu.DynamoDB,
		storetest.EnvSQS:      emu.SQS,
		storetest.EnvSES:      emu.SES,
		storetest.EnvRegion:   emu.Region,
		storetest.EnvTable:    created.Table,
		storetest.EnvQueues:   strings.Join(queues, ","),
	}
	return e, nil
}

// Stop stops the emulators and removes their state; a second call returns the first result.
func (e *Env) Stop() error {
	err := e.Emulators.Stop()
	os.RemoveAll(e.state)
	return err
}

// Exports is Vars as shell `export` lines, sorted.
func (e *Env) Exports() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(e.Vars)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, e.Vars[k])
	}
	return b.String()
}

// ExitCode is returned by Run for a command that ran and did not succeed.
type ExitCode int

func (c ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// Interrupted is the exit status after SIGINT (128 + 2), as a shell reports it.
const Interrupted ExitCode = 130

// Run starts the emulators, runs argv with their variables (and dataset.EnvReport) in
// its environment, stops them, and prints one line naming the public data sets the
// command's tests found missing. SIGINT or SIGTERM to this process is passed on to the
// command's process group; the emulators are stopped in every case. The error is
// ExitCode for a command that failed or was interrupted.
func Run(ctx context.Context, o Options, argv []string) error {
	if len(argv) == 0 {
		return errors.New("no command to run")
	}
	if err := o.defaults(); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-startCtx.Done():
		}
	}()
	t0 := time.Now()
	env, err := Start(startCtx, o)
	if err != nil {
		if startCtx.Err() != nil && ctx.Err() == nil {
			return Interrupted
		}
		return err
	}
	cancel()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return env.Stop()
	}
	defer stop()
	fmt.Fprintf(o.Stderr, "tierflow-local test: emulators ready in %s (DynamoDB %s, SQS %s, SES %s)\n",
		time.Since(t0).Round(100*time.Millisecond), env.Emulators.DynamoDB, env.Emulators.SQS, env.Emulators.SES)

	report := filepath.Join(env.state, "missing-data.txt")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = os.Environ()
	for k, v := range env.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, dataset.EnvReport+"="+report)
	// Its own process group, so that an interrupt reaches the command and everything it
	// started (go test's test binaries) however it was sent; SIGTERM should this launcher die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pgid := cmd.Process.Pid

	var interrupted, emulatorDied bool
	var waitErr error
	var kill <-chan time.Time
wait:
	for {
		select {
		case waitErr = <-done:
			break wait
		case sig := <-sigs:
			if !interrupted {
				interrupted = true
				fmt.Fprintf(o.Stderr, "\ntierflow-local test: %s: stopping the tests, then the emulators\n", sig)
				kill = time.After(o.Grace)
			}
			syscall.Kill(-pgid, sig.(syscall.Signal)) // a group already gone is fine
		case err := <-env.Emulators.Failed():
			emulatorDied = true
			fmt.Fprintf(o.Stderr, "tierflow-local test: an emulator stopped during the run, stopping the tests: %v\n", err)
			syscall.Kill(-pgid, syscall.SIGINT)
			kill = time.After(o.Grace)
		case <-kill:
			fmt.Fprintf(o.Stderr, "tierflow-local test: the command did not end within %s: killing it\n", o.Grace)
			syscall.Kill(-pgid, syscall.SIGKILL)
			kill = nil
		}
	}
	// Whatever the command left in its group (a test binary whose parent died first).
	syscall.Kill(-pgid, syscall.SIGKILL)
	line := missingDataLine(report) // before stop removes the state folder it is in
	stopErr := stop()
	if line != "" {
		fmt.Fprintln(o.Stderr, line)
	}
	switch {
	case interrupted:
		return Interrupted
	case waitErr != nil:
		var exit *exec.ExitError
		if errors.As(waitErr, &exit) && exit.ExitCode() > 0 {
			return ExitCode(exit.ExitCode())
		}
		return fmt.Errorf("%s: %w", argv[0], waitErr)
	case emulatorDied:
		return ExitCode(1)
	case stopErr != nil:
		return fmt.Errorf("stop the emulators: %w", stopErr)
	}
	return nil
}

// missingDataLine reads the report the tests wrote (one line per data set found
// missing, see dataset.Require) and says it in one line; "" when nothing was missing.
func missingDataLine(report string) string {
	f, err := os.Open(report)
	if err != nil {
		return ""
	}
	defer f.Close()
	var files []string
	tests := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, _, ok := strings.Cut(sc.Text(), "\t")
		if !ok || path == "" {
			continue
		}
		tests++
		if !slices.Contains(files, path) {
			files = append(files, path)
		}
	}
	if len(files) == 0 {
		return ""
	}
	sort.Strings(files)
	return fmt.Sprintf("!!! DATA SETS MISSING: %d test(s) skipped their real-data checks for lack of %s — put the public data sets in ../shared/data or set %s (CI: %s=1 makes this a failure)",
		tests, strings.Join(files, ", "), dataset.EnvDataDir, dataset.EnvRequire)
}
