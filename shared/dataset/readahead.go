package dataset

import (
	"io"
	"sync"
)

// readAhead decompresses on its own goroutine while the caller parses what came before:
// gzip is the floor of reading the Online Retail file (issue #13 asks the whole rfm run
// to stay within 1.5× of decompressing alone), and parsing then overlaps it instead of
// adding to it. Chunks of 256 KiB, at most four ahead.
func readAhead(r io.Reader) *aheadReader {
	a := &aheadReader{chunks: make(chan []byte, 4), done: make(chan struct{}), finished: make(chan struct{}), free: make(chan []byte, 6)}
	go a.fill(r)
	return a
}

const (
	aheadChunk = 256 << 10
	// wordPad is capacity past the end of every chunk the records reader cuts lines from,
	// so that a line's last bytes can be read a word at a time.
	wordPad = 8
)

type aheadReader struct {
	chunks chan []byte   // filled chunks, closed at the end of the input
	free   chan []byte   // chunks handed back for reuse
	done   chan struct{} // closed by Close: the filler stops
	// finished is closed when the filler has returned: only then may the caller close
	// the reader it reads from.
	finished chan struct{}
	once     sync.Once
	err      error // the input's error other than io.EOF; read after chunks is closed
	cur      []byte
	buf      []byte // the chunk cur is part of, returned to free when used up
}

func (a *aheadReader) fill(r io.Reader) {
	defer close(a.finished)
	defer close(a.chunks)
	for {
		var b []byte
		select {
		case b = <-a.free:
		default:
			b = make([]byte, aheadChunk, aheadChunk+wordPad)
		}
		n, err := fillChunk(r, b[:aheadChunk])
		if n > 0 {
			select {
			case a.chunks <- b[:n]:
			case <-a.done:
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		b, err := a.chunk()
		if err != nil {
			return 0, err
		}
		a.cur = b
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// chunk hands out the next chunk itself, without a copy: it stays the caller's until
// the next call (of chunk or Read), when it goes back to the filler. Bytes that Read
// has not returned yet from the chunk before are skipped.
func (a *aheadReader) chunk() ([]byte, error) {
	if a.buf != nil {
		select {
		case a.free <- a.buf:
		default:
		}
		a.buf, a.cur = nil, nil
	}
	b, ok := <-a.chunks
	if !ok {
		if a.err != nil {
			return nil, a.err
		}
		return nil, io.EOF
	}
	a.buf = b
	return b, nil
}

// Close stops the filler and waits for it: the readers under it are closed next.
func (a *aheadReader) Close() error {
	a.once.Do(func() { close(a.done) })
	<-a.finished
	return nil
}

// fillChunk reads into b until it is full or the input ends; io.EOF only when nothing
// was read (a truncated gzip stream keeps its own error).
func fillChunk(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			if err == io.EOF && n > 0 {
				return n, io.EOF
			}
			return n, err
		}
	}
	return n, nil
}
