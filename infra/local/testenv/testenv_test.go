package testenv_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/proctree"
	"github.com/tierflow/tierflow/infra/local/testenv"
	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// launcher builds tierflow-local once for the package's tests.
var launcher = sync.OnceValues(func() (string, error) {
	root, err := emulators.FindRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "tierflow-testenv-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tierflow-local")
	cmd := exec.Command("go", "build", "-o", bin, "./infra/local/cmd/tierflow-local")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("build tierflow-local: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := launcher(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// run is one `tierflow-local test -- sh -c script` in progress. The script prints the
// variables it was given, then "ready", then does what the test wants.
type run struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *bytes.Buffer
	vars   map[string]string
	procs  []proctree.Proc // what the launcher had started once the script was ready
	done   chan error
}

func start(t *testing.T, script string) *run {
	t.Helper()
	bin, err := launcher()
	if err != nil {
		t.Fatal(err)
	}
	show := `for v in ` + strings.Join([]string{storetest.EnvDynamoDB, storetest.EnvSQS, storetest.EnvSES, storetest.EnvTable, dataset.EnvReport}, " ") +
		`; do eval "echo $v=\$$v"; done; echo ready; `
	cmd := exec.Command(bin, "test", "--", "sh", "-c", show+script)
	r := &run{cmd: cmd, stderr: &bytes.Buffer{}, vars: map[string]string{}, done: make(chan error, 1)}
	cmd.Stderr = r.stderr
	if r.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // a test that failed half-way
			<-r.done
		}
	})
	sc := bufio.NewScanner(stdout)
	ready := false
	for !ready && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		r.vars[k] = v
		ready = sc.Text() == "ready"
	}
	go func() {
		_, copyErr := io.Copy(io.Discard, stdout) // the pipe must be read to its end before Wait
		err := cmd.Wait()
		if copyErr != nil {
			err = fmt.Errorf("reading the launcher's output: %w", copyErr) // not an exit status: wait fails
		}
		r.done <- err
	}()
	if !ready {
		<-r.done
		t.Fatalf("the command never ran: %s", r.stderr)
	}
	if r.procs, err = proctree.Descendants(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return r
}

// wait returns the launcher's exit status.
func (r *run) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-r.done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(time.Minute):
		t.Fatalf("tierflow-local test did not end within a minute; stderr:\n%s", r.stderr)
		return 0
	}
}

// checkNothingLeft asserts that every process the launcher started (emulators, the
// command and its children) has ended, by process id, and that no endpoint answers.
func (r *run) checkNothingLeft(t *testing.T) {
	t.Helper()
	names := map[string]bool{}
	for _, p := range r.procs {
		names[p.Comm] = true
	}
	if !names["java"] || !names["node"] || !names["sh"] {
		t.Fatalf("while running, the launcher's processes were %+v: want java (DynamoDB Local), node (fauxqs, SES) and the command", r.procs)
	}
	if left := proctree.StillRunning(r.procs); len(left) > 0 {
		t.Errorf("still running after tierflow-local test ended: %+v", left)
	}
	for _, k := range []string{storetest.EnvDynamoDB, storetest.EnvSQS, storetest.EnvSES} {
		addr := strings.TrimPrefix(r.vars[k], "http://")
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s (%s) still accepts connections", k, addr)
		}
	}
}

func TestAFailingCommandStopsTheEmulatorsAndKeepsItsStatus(t *testing.T) {
	t.Parallel()
	// The script notes one missing data set as dataset.Require does, then waits for its
	// stdin to close and fails.
	r := start(t, `printf '/data/online_retail.csv.gz\tTestA\n/data/online_retail.csv.gz\tTestB\n' >> "$`+dataset.EnvReport+`"; read x; exit 3`)

	// While it runs: the prototype table is there, on the endpoint the command was given.
	db := dynamodb.NewFromConfig(aws.Config{Region: emulators.Region, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")},
		func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(r.vars[storetest.EnvDynamoDB]) })
	tables, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("DynamoDB Local at %q: %v", r.vars[storetest.EnvDynamoDB], err)
	}
	if want := "tierflow-" + testenv.Stage; len(tables.TableNames) != 1 || tables.TableNames[0] != want || r.vars[storetest.EnvTable] != want {
		t.Errorf("tables %v, %s=%q: want the prototype %s alone", tables.TableNames, storetest.EnvTable, r.vars[storetest.EnvTable], want)
	}

	r.stdin.Close()
	if code := r.wait(t); code != 3 {
		t.Errorf("exit status %d, want the command's 3; stderr:\n%s", code, r.stderr)
	}
	r.checkNothingLeft(t)
	var lines []string
	for l := range strings.Lines(r.stderr.String()) {
		if strings.Contains(l, "DATA SETS MISSING") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "2 test(s)") || !strings.Contains(lines[0], "/data/online_retail.csv.gz") ||
		!strings.Contains(lines[0], dataset.EnvDataDir) {
		t.Errorf("the terminal got %q: want one line naming the file, the 2 tests and %s", lines, dataset.EnvDataDir)
	}
}

// Ctrl-C in a terminal sends SIGINT to the launcher: the command's process group gets it,
// and everything ends.
func TestAnInterruptStopsTheCommandAndTheEmulators(t *testing.T) {
	t.Parallel()
	// sleep runs as a child of sh, as a test binary runs under go test.
	r := start(t, `sleep 60; echo "sleep was not interrupted"; exit 0`)
	t0 := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != int(testenv.Interrupted) {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, testenv.Interrupted, r.stderr)
	}
	if took := time.Since(t0); took > 20*time.Second {
		t.Errorf("took %s to stop after SIGINT", took)
	}
	r.checkNothingLeft(t)
	if strings.Contains(r.stderr.String(), "DATA SETS MISSING") {
		t.Errorf("a run that noted no missing data set printed the line:\n%s", r.stderr)
	}
}
