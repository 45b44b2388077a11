package dataset

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math/bits"
	"slices"
)

// records reads CSV records like encoding/csv (FieldsPerRecord -1, ReuseRecord, no lazy
// quotes) with a fast path for what the Online Retail file is made of: one record a line,
// fields plain or quoted ("" for a quote inside) without line breaks inside. The fast path
// cuts lines from the input's chunks where they are (the gzip read-ahead's own chunks,
// not a copy; only a line cut by a chunk's end is copied): a field is a sub-slice of the line (a
// quoted field with "" inside is copied once, unescaped), so a record costs no allocation
// and the caller converts only the fields it keeps (issue #13: the reader was ~0.7 s of a
// 0.8 s `make rfm`). From the first line that is anything else, the rest of the input
// goes through encoding/csv itself, so any file reads as it did before.
type records struct {
	src     chunker
	cur     []byte      // what is left of the chunk being read
	carry   []byte      // a line begun in an earlier chunk
	srcErr  error       // the source's error (io.EOF at its end), once it has said so
	cr      *csv.Reader // set once the fast path handed over
	fields  [][]byte
	scratch []byte // unescaped quoted fields, and encoding/csv's fields after the hand-over
	rec     []string
}

// A chunker hands out its input a chunk at a time, each the caller's to read until the
// next call, with wordPad bytes of capacity past its end; Read goes on after the last
// chunk handed out.
type chunker interface {
	io.Reader
	chunk() ([]byte, error)
}

// maxCarry is the longest line the fast path looks for the end of; a longer one goes
// to encoding/csv with the rest of the input.
const maxCarry = 1 << 16

func newRecords(r io.Reader) *records {
	return &records{src: chunksOf(r), fields: make([][]byte, 0, 16), rec: make([]string, 0, 16)}
}

// chunksOf reads a file opened by OpenOnlineRetail chunk by chunk where they are (the
// gzip read-ahead's chunks are not copied), and any other reader through a buffer.
func chunksOf(r io.Reader) chunker {
	if s, ok := r.(*stackedCloser); ok {
		if c, ok := s.Reader.(chunker); ok {
			return c
		}
	}
	if c, ok := r.(chunker); ok {
		return c
	}
	return &bufChunks{r: r, buf: make([]byte, 1<<16, 1<<16+wordPad)}
}

// bufChunks reads any reader into one buffer, which each chunk reuses.
type bufChunks struct {
	r   io.Reader
	buf []byte
	err error
}

func (c *bufChunks) chunk() ([]byte, error) {
	for c.err == nil {
		n, err := c.r.Read(c.buf)
		c.err = err
		if n > 0 {
			return c.buf[:n], nil
		}
	}
	return nil, c.err
}

func (c *bufChunks) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	return c.r.Read(p)
}

// csvRecords reads every record through encoding/csv, with no fast path: the reference
// the fast path is tested against.
func csvRecords(r io.Reader) *records {
	rs := newRecords(r)
	rs.cr = csv.NewReader(r)
	rs.cr.ReuseRecord = true
	rs.cr.FieldsPerRecord = -1
	return rs
}

// Read returns the next record as strings (the slice is reused by the next call).
func (r *records) Read() ([]string, error) {
	fs, err := r.readFields()
	if err != nil {
		return nil, err
	}
	rec := r.rec[:0]
	for _, f := range fs {
		rec = append(rec, string(f))
	}
	r.rec = rec
	return rec, nil
}

// nextLine returns the next line with its '\n' (none at the end of the input, when the
// error is io.EOF), valid until the next call, with wordPad bytes of capacity past it.
// A line cut short at maxCarry bytes comes with errLongLine.
func (r *records) nextLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.cur, '\n'); i >= 0 {
			line := r.cur[:i+1]
			r.cur = r.cur[i+1:]
			if len(r.carry) == 0 {
				return line, nil
			}
			line = r.appendCarry(line)
			r.carry = r.carry[:0] // the line keeps the array until the next call
			return line, nil
		}
		if r.srcErr != nil {
			line := r.appendCarry(r.cur)
			r.carry, r.cur = r.carry[:0], nil
			if r.srcErr != io.EOF {
				return nil, r.srcErr
			}
			return line, io.EOF
		}
		// The line goes on in the next chunk: keep its start, which the chunk loses.
		r.appendCarry(r.cur)
		r.cur = nil
		if len(r.carry) > maxCarry {
			line := r.carry
			r.carry = r.carry[:0]
			return line, errLongLine
		}
		r.cur, r.srcErr = r.src.chunk()
	}
}

var errLongLine = errors.New("line longer than the fast path reads")

// appendCarry adds b to the carried line, keeping wordPad bytes of capacity past it.
func (r *records) appendCarry(b []byte) []byte {
	if cap(r.carry)-len(r.carry) < len(b)+wordPad {
		r.carry = slices.Grow(r.carry, len(b)+wordPad)
	}
	r.carry = append(r.carry, b...)
	return r.carry
}

// readFields returns the next record's fields as byte slices. They are valid until the
// next call: copy what you keep.
func (r *records) readFields() ([][]byte, error) {
	if r.cr != nil {
		return r.fromCSV(r.cr.Read())
	}
	for {
		line, err := r.nextLine()
		if err == errLongLine {
			return r.handOver(line)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		body := line
		if n := len(body); n > 0 && body[n-1] == '\n' {
			body = body[:n-1]
			if n := len(body); n > 0 && body[n-1] == '\r' {
				body = body[:n-1]
			}
		}
		if len(body) == 0 {
			if err == io.EOF {
				return nil, io.EOF
			}
			continue // encoding/csv skips empty lines
		}
		if body[len(body)-1] == '\r' {
			return r.handOver(line) // encoding/csv drops a \r before the end of the input
		}
		if fs, ok := r.splitQuoted(body); ok {
			return fs, nil
		}
		if fs, ok := r.split(body); ok {
			return fs, nil
		}
		return r.handOver(line)
	}
}

// splitQuoted cuts a line whose quotes all open or close a field (no "" inside one),
// which is nearly every line of the file, from its quotes alone: it looks for quotes
// eight bytes at a time, and only the bytes between a closing quote and the next
// opening one (the plain fields and the commas between fields) are read one by one;
// a comma inside quotes is never looked at. Any other line is left to split.
func (r *records) splitQuoted(body []byte) ([][]byte, bool) {
	n := len(body)
	s := body[:cap(body)]
	fs := r.fields[:0]
	a := 0     // where the field being read starts
	open := -1 // the opening quote of the field being read, or -1 outside quotes
	w := 0
	for ; w < n && w+8 <= len(s); w += 8 {
		for m := bytesEqual(binary.LittleEndian.Uint64(s[w:]), '"'); m != 0; m &= m - 1 {
			q := w + bits.TrailingZeros64(m)/8
			if q >= n {
				break
			}
			if open < 0 {
				// Plain fields up to this quote, which must open the next field.
				for i := a; i < q; i++ {
					if s[i] == ',' {
						fs = append(fs, s[a:i:i])
						a = i + 1
					}
				}
				if q != a {
					return nil, false // a bare quote
				}
				open = q
				continue
			}
			// The closing quote: the end of the line or a comma must follow.
			fs = append(fs, s[open+1:q:q])
			open = -1
			if q+1 == n {
				r.fields = fs
				return fs, true
			}
			if s[q+1] != ',' {
				return nil, false // "" inside quotes, or text after the closing quote
			}
			a = q + 2
		}
	}
	if w < n {
		return nil, false // no room to read the end of the line a word at a time
	}
	if open >= 0 {
		return nil, false // a quote left open
	}
	for i := a; i < n; i++ {
		if s[i] == ',' {
			fs = append(fs, s[a:i:i])
			a = i + 1
		}
	}
	fs = append(fs, s[a:n:n])
	r.fields = fs
	return fs, true
}

// split cuts one line into fields, or says it is not the simple case. It looks for the
// next quote or comma eight bytes at a time (see quoteAt and stopAt), with no call per
// field: the file's fields are short, and bytes.IndexByte's call cost more than the
// scan. The words may run past the line into what the chunk holds after it (never past
// its buffer): a match there is no match.
func (r *records) split(body []byte) ([][]byte, bool) {
	fs := r.fields[:0]
	r.scratch = r.scratch[:0]
	n := len(body)
	s := body[:cap(body)]
	for i := 0; ; {
		if i < n && s[i] == '"' {
			// The closing quote is the first one not doubled ("" is a quote inside).
			k, escaped := i+1, false
			for {
				k = quoteAt(s, k, n)
				if k == n {
					return nil, false // a quoted field goes on past the line
				}
				if k+1 < n && s[k+1] == '"' {
					k, escaped = k+2, true
					continue
				}
				break
			}
			f := s[i+1 : k : k]
			if escaped {
				f = r.unescape(f)
			}
			fs = append(fs, f)
			switch {
			case k+1 == n:
				r.fields = fs
				return fs, true
			case s[k+1] == ',':
				i = k + 2
			default:
				return nil, false // text after the closing quote
			}
			continue
		}
		k := stopAt(s, i, n)
		if k < n && s[k] == '"' {
			return nil, false // a bare quote: encoding/csv says what is wrong
		}
		fs = append(fs, s[i:k:k])
		if k == n {
			r.fields = fs
			return fs, true
		}
		i = k + 1
	}
}

const (
	ones  = 0x0101010101010101
	low7s = 0x7f7f7f7f7f7f7f7f
)

// bytesEqual sets the high bit of each byte of x that is c, and no other bit.
func bytesEqual(x uint64, c byte) uint64 {
	v := x ^ (ones * uint64(c))
	return ^((v&low7s + low7s) | v | low7s)
}

// quoteAt is the index of the first '"' in s[k:n], or n.
func quoteAt(s []byte, k, n int) int {
	for ; k < n && k+8 <= len(s); k += 8 {
		if m := bytesEqual(binary.LittleEndian.Uint64(s[k:]), '"'); m != 0 {
			return min(k+bits.TrailingZeros64(m)/8, n)
		}
	}
	for ; k < n; k++ {
		if s[k] == '"' {
			return k
		}
	}
	return n
}

// stopAt is the index of the first ',' or '"' in s[k:n], or n.
func stopAt(s []byte, k, n int) int {
	for ; k < n && k+8 <= len(s); k += 8 {
		x := binary.LittleEndian.Uint64(s[k:])
		if m := bytesEqual(x, ',') | bytesEqual(x, '"'); m != 0 {
			return min(k+bits.TrailingZeros64(m)/8, n)
		}
	}
	for ; k < n; k++ {
		if s[k] == ',' || s[k] == '"' {
			return k
		}
	}
	return n
}

// unescape copies a quoted field's inside into scratch with each "" made one quote.
// Fields already returned for this record keep their bytes: scratch only grows (a
// reallocation leaves the earlier array to them).
func (r *records) unescape(f []byte) []byte {
	start := len(r.scratch)
	for {
		q := bytes.Index(f, []byte(`""`))
		if q < 0 {
			r.scratch = append(r.scratch, f...)
			break
		}
		r.scratch = append(r.scratch, f[:q+1]...)
		f = f[q+2:]
	}
	return r.scratch[start:len(r.scratch):len(r.scratch)]
}

// handOver gives the line being read and the rest of the input to encoding/csv.
func (r *records) handOver(line []byte) ([][]byte, error) {
	pending := append(bytes.Clone(line), r.cur...)
	rest := io.Reader(r.src)
	if r.srcErr != nil {
		rest = errReader{r.srcErr}
	}
	r.cur = nil
	r.cr = csv.NewReader(io.MultiReader(bytes.NewReader(pending), rest))
	r.cr.ReuseRecord = true
	r.cr.FieldsPerRecord = -1
	return r.fromCSV(r.cr.Read())
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// fromCSV gives encoding/csv's record as byte slices.
func (r *records) fromCSV(rec []string, err error) ([][]byte, error) {
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	fs := r.fields[:0]
	r.scratch = r.scratch[:0]
	for _, s := range rec {
		start := len(r.scratch)
		r.scratch = append(r.scratch, s...)
		fs = append(fs, r.scratch[start:len(r.scratch):len(r.scratch)])
	}
	r.fields = fs
	return fs, nil
}
