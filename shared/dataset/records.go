package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
)

// records reads CSV records like encoding/csv (FieldsPerRecord -1, ReuseRecord, no lazy
// quotes) with a fast path for what the Online Retail file is made of: one record a line,
// fields plain or quoted ("" for a quote inside) without line breaks inside. The fast path
// works on the line's bytes where bufio holds them: a field is a sub-slice of the line (a
// quoted field with "" inside is copied once, unescaped), so a record costs no allocation
// and the caller converts only the fields it keeps (issue #13: the reader was ~0.7 s of a
// 0.8 s `make rfm`). From the first line that is anything else, the rest of the input
// goes through encoding/csv itself, so any file reads as it did before.
type records struct {
	br      *bufio.Reader
	cr      *csv.Reader // set once the fast path handed over
	fields  [][]byte
	scratch []byte // unescaped quoted fields, and encoding/csv's fields after the hand-over
	rec     []string
}

func newRecords(r io.Reader) *records {
	return &records{br: bufio.NewReaderSize(r, 1<<16), fields: make([][]byte, 0, 16), rec: make([]string, 0, 16)}
}

// csvRecords reads every record through encoding/csv, with no fast path: the reference
// the fast path is tested against.
func csvRecords(r io.Reader) *records {
	rs := newRecords(r)
	rs.cr = csv.NewReader(rs.br)
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

// readFields returns the next record's fields as byte slices. They are valid until the
// next call: copy what you keep.
func (r *records) readFields() ([][]byte, error) {
	if r.cr != nil {
		return r.fromCSV(r.cr.Read())
	}
	for {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
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
		if fs, ok := r.split(body); ok {
			return fs, nil
		}
		return r.handOver(line)
	}
}

// split cuts one line into fields, or says it is not the simple case. A quoted field (the
// file's text) is found with bytes.IndexByte; a plain one (its numbers, a few bytes) is
// walked byte by byte, which costs less than the two calls that would look for its comma
// and for a stray quote.
func (r *records) split(s []byte) ([][]byte, bool) {
	fs := r.fields[:0]
	r.scratch = r.scratch[:0]
	n := len(s)
	for i := 0; ; {
		if i < n && s[i] == '"' {
			// The closing quote is the first one not doubled ("" is a quote inside).
			k, escaped := i+1, false
			for {
				end := bytes.IndexByte(s[k:], '"')
				if end < 0 {
					return nil, false // a quoted field goes on past the line
				}
				k += end
				if k+1 < n && s[k+1] == '"' {
					k, escaped = k+2, true
					continue
				}
				break
			}
			f := s[i+1 : k]
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
		k := i
		for k < n && s[k] != ',' {
			if s[k] == '"' {
				return nil, false // a bare quote: encoding/csv says what is wrong
			}
			k++
		}
		fs = append(fs, s[i:k:k])
		if k == n {
			r.fields = fs
			return fs, true
		}
		i = k + 1
	}
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
	pending := bytes.Clone(line)
	r.cr = csv.NewReader(io.MultiReader(bytes.NewReader(pending), r.br))
	r.cr.ReuseRecord = true
	r.cr.FieldsPerRecord = -1
	return r.fromCSV(r.cr.Read())
}

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
