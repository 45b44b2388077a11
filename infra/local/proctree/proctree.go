// Package proctree reads the process tree from /proc (Linux), so that tests can check
// that what a harness started is gone by process id, not only by the ports it listened
// on: a child that lost its port but kept running would pass a port check.
package proctree

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Proc is one process: its id, its parent's, its state letter (R, S, Z, ...) and name.
type Proc struct {
	PID, PPID int
	State     byte
	Comm      string
}

// Read returns the process pid, or ok=false when it does not exist.
func Read(pid int) (p Proc, ok bool, err error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if os.IsNotExist(err) {
		return Proc{}, false, nil
	}
	if err != nil {
		return Proc{}, false, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses: cut at the last ')'.
	open, closing := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || closing < open || len(raw) < closing+4 {
		return Proc{}, false, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, raw)
	}
	rest := bytes.Fields(raw[closing+1:])
	if len(rest) < 2 {
		return Proc{}, false, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, raw)
	}
	ppid, err := strconv.Atoi(string(rest[1]))
	if err != nil {
		return Proc{}, false, fmt.Errorf("/proc/%d/stat: parent id: %w", pid, err)
	}
	return Proc{PID: pid, PPID: ppid, State: rest[0][0], Comm: string(raw[open+1 : closing])}, true, nil
}

// Running reports whether pid exists and is not a zombie (a zombie has exited and only
// waits for its parent to collect the status).
func Running(pid int) (Proc, bool) {
	p, ok, err := Read(pid)
	return p, err == nil && ok && p.State != 'Z' && p.State != 'X'
}

// Descendants returns every running process below pid (children, their children, ...).
func Descendants(pid int) ([]Proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]Proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok, err := Read(n)
		if err != nil || !ok || p.State == 'Z' || p.State == 'X' {
			continue // exited between ReadDir and Read, or a zombie
		}
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []Proc
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out, nil
}

// StillRunning returns those of procs that still run as the same program (a recycled
// id running something else does not count).
func StillRunning(procs []Proc) []Proc {
	var out []Proc
	for _, p := range procs {
		if now, ok := Running(p.PID); ok && now.Comm == p.Comm {
			out = append(out, now)
		}
	}
	return out
}
