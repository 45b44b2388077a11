package proctree

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestDescendantsFindsAGrandchildAndStillRunningSeesItGo(t *testing.T) {
	// sh starts sleep as its child (no exec: the trailing "; true" keeps sh alive).
	cmd := exec.Command("sh", "-c", "sleep 30; true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // on an early failure; the test kills it itself
	var procs []Proc
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if procs, err = Descendants(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if hasComm(procs, "sleep") || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling for sh to fork sleep and the child to exec it (until then it is named sh)
	}
	names := map[string]int{}
	for _, p := range procs {
		names[p.Comm] = p.PID
	}
	if names["sh"] != cmd.Process.Pid || names["sleep"] == 0 {
		t.Fatalf("descendants %+v: want sh (%d) and its child sleep", procs, cmd.Process.Pid)
	}
	if got := StillRunning(procs); len(got) != len(procs) {
		t.Fatalf("StillRunning(%v) = %v while they run", procs, got)
	}
	// Killing sh alone orphans sleep: a port check would not notice, this must.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("sh exited cleanly after SIGKILL")
	}
	left := StillRunning(procs)
	if len(left) != 1 || left[0].Comm != "sleep" {
		t.Fatalf("after killing sh, still running %+v, want only the orphaned sleep", left)
	}
	orphan, err := os.FindProcess(left[0].PID)
	if err != nil {
		t.Fatal(err)
	}
	if err := orphan.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(StillRunning(left)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling for the kernel to finish the kill
	}
	if l := StillRunning(left); len(l) != 0 {
		t.Fatalf("sleep %d still running after SIGKILL", l[0].PID)
	}
}

func TestReadOfAMissingProcess(t *testing.T) {
	if _, ok, err := Read(1 << 30); ok || err != nil {
		t.Fatalf("Read(2^30) = ok %v, err %v; want not found", ok, err)
	}
}

// hasComm reports whether a process named comm is among procs.
func hasComm(procs []Proc, comm string) bool {
	for _, p := range procs {
		if p.Comm == comm {
			return true
		}
	}
	return false
}
