package lambdart

import (
	"bytes"
	"io"
	"sync"
)

// lineWriter collects a process's output into whole lines before writing them, so that
// lines from several processes of a pool never interleave in the shared log file, and
// keeps the last few lines to explain a crash.
type lineWriter struct {
	mu      sync.Mutex
	file    io.Writer // may be nil
	console io.Writer // may be nil; lines get prefix
	prefix  []byte
	buf     []byte
	tail    [][]byte
}

const tailLines = 8

func newLineWriter(file, console io.Writer, prefix string) *lineWriter {
	return &lineWriter{file: file, console: console, prefix: []byte(prefix)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without newline
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
	return len(p), nil
}

func (w *lineWriter) emit(line []byte) {
	if w.file != nil {
		_, _ = w.file.Write(line)
	}
	if w.console != nil {
		_, _ = w.console.Write(append(append([]byte{}, w.prefix...), line...))
	}
	w.tail = append(w.tail, bytes.Clone(bytes.TrimRight(line, "\n")))
	if len(w.tail) > tailLines {
		w.tail = w.tail[1:]
	}
}

// Flush writes a final partial line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}

// Tail returns the last lines written, joined by " | ".
func (w *lineWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.Join(w.tail, []byte(" | ")))
}

// lockedWriter serialises writes to a destination shared by the sandboxes of a pool (and
// by several pools, for the console).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// LockWriter makes w safe for the concurrent whole-line writes of many sandboxes; pass the
// same locked writer as Console to every pool that shares a terminal.
func LockWriter(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	if lw, ok := w.(*lockedWriter); ok {
		return lw
	}
	return &lockedWriter{w: w}
}
