package emulators

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/proctree"
)

// The helper process: started by TestKilledParentLeavesNothingListening, it starts the
// emulators, prints their ports and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("TIERFLOW_EMULATORS_HELPER") == "1" {
		e, err := Start(context.Background(), Options{
			StateDir: os.Getenv("TIERFLOW_EMULATORS_STATE"), CacheDir: os.Getenv("TIERFLOW_EMULATORS_CACHE"),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := json.NewEncoder(os.Stdout).Encode(e.Ports()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		select {}
	}
	os.Exit(m.Run())
}

// TestKilledParentLeavesNothingListening kills (SIGKILL, no clean-up) a process that runs
// the emulators: Pdeathsig and the closed stdin must take the children down with it —
// every child process, by id, and every port.
func TestKilledParentLeavesNothingListening(t *testing.T) {
	o := testOptions(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TIERFLOW_EMULATORS_HELPER=1", "TIERFLOW_EMULATORS_STATE="+o.StateDir, "TIERFLOW_EMULATORS_CACHE="+o.CacheDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var ports map[string]int
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &ports) != nil || len(ports) != 3 {
		t.Fatalf("helper did not start the emulators: %v %q", err, line)
	}
	// The helper's children, by process id: DynamoDB Local's JVM and the two node emulators.
	procs, err := proctree.Descendants(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	comms := map[string]int{}
	for _, p := range procs {
		comms[p.Comm]++
	}
	if comms["java"] < 1 || comms["node"] < 2 {
		t.Fatalf("the helper's children are %+v: want DynamoDB Local (java) and two node emulators", procs)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the helper exited cleanly: it was meant to be killed")
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(proctree.StillRunning(procs)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // polling for the kernel to deliver the parent-death signal
	}
	for _, p := range proctree.StillRunning(procs) {
		t.Errorf("%s (pid %d, child of the killed helper) still runs", p.Comm, p.PID)
	}
	for name, port := range ports {
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Errorf("%s still listens on %d after its parent was killed", name, port)
				break
			}
			time.Sleep(100 * time.Millisecond) // polling for the kernel to finish the kill
		}
	}
}
