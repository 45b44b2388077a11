package emulators

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// proc is one emulator child process. Its stdout and stderr go to its log file; a JSON
// line on stdout carrying "port" is also reported on portc (the node launchers print
// one once they listen).
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	stdin   *os.File // our end of the child's stdin: closing it tells the child to exit
	portc   chan int
	done    chan struct{}
	err     error // the child's exit status, valid once done is closed
}

// stopGrace is how long a child gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

func startProc(name, logPath, dir string, argv []string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	defer logf.Close() // the child and the stdout reader hold their own descriptors
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, logf
	// Own process group, so Stop can kill the child and anything it spawned; SIGKILL
	// when we die, so that a crashed parent leaves nothing listening.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, stdin: inW, portc: make(chan int, 1), done: make(chan struct{})}
	copyLog, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		copyLog = nil
	}
	go p.readStdout(outR, copyLog)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) readStdout(r *os.File, logf *os.File) {
	defer r.Close()
	if logf != nil {
		defer logf.Close()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	reported := false
	for sc.Scan() {
		line := sc.Text()
		if logf != nil {
			fmt.Fprintln(logf, line)
		}
		if reported || !strings.HasPrefix(line, "{") {
			continue
		}
		var msg struct {
			Port int `json:"port"`
		}
		if json.Unmarshal([]byte(line), &msg) == nil && msg.Port > 0 {
			p.portc <- msg.Port
			reported = true
		}
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// failure describes a child that exited, with the end of its log.
func (p *proc) failure(doing string) error {
	logText, _ := os.ReadFile(p.logPath)
	return fmt.Errorf("%s exited %s (%v); last log lines:\n%s\n(full log: %s)", p.name, doing, p.err, tail(string(logText), 15), p.logPath)
}

// stop asks the child's process group to end, kills it after stopGrace, and waits.
func (p *proc) stop() error {
	p.stdin.Close()
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop %s: %w", p.name, err)
		}
		select {
		case <-p.done:
		case <-time.After(stopGrace):
		}
	}
	// Whatever is left in the group (the child itself after the grace period, or a
	// grandchild it did not reap) is killed outright.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}
