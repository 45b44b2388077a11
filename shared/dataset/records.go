package dataset

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math/bits"
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
		if fs, ok := r.splitSimple(body); ok {
			return fs, nil
		}
		if fs, ok := r.split(body); ok {
			return fs, nil
		}
		return r.handOver(line)
	}
}

// splitSimple cuts a line of at most 128 bytes whose quotes all open or close a field
// (no "" inside one), which is nearly every line of the file, without a branch per byte:
// it makes a bit mask of the line's quotes and one of its commas, eight bytes at a time;
// a running parity of the quotes says which commas are inside quotes, and the others
// separate the fields. Any other line is left to split.
func (r *records) splitSimple(body []byte) ([][]byte, bool) {
	n := len(body)
	s := body[:cap(body)]
	if n > 128 || len(s) < (n+7)&^7 {
		return nil, false
	}
	// Bit i of the line is bit i of q0 and c0 (quotes, commas), or bit i-64 of q1 and c1.
	q0, c0 := masks(s[:min(n, 64)])
	var q1, c1 uint64
	if n > 64 {
		q1, c1 = masks(s[64:n])
	}
	// Bits inside quotes: from an opening quote (included) to its closing one (excluded).
	in0 := prefixXor(q0)
	in1 := prefixXor(q1) ^ -(in0 >> 63)
	if in1>>63 != 0 {
		return nil, false // a quote left open: the line is not simple
	}
	sep0, sep1 := c0&^in0, c1&^in1
	// Every quote must be a field's first or last byte.
	start0, start1 := sep0<<1|1, sep1<<1|sep0>>63
	end0, end1 := sep0>>1|sep1<<63, sep1>>1
	if n <= 64 {
		end0 |= 1 << (n - 1)
	} else {
		end1 |= 1 << (n - 65)
	}
	if q0&^(start0|end0) != 0 || q1&^(start1|end1) != 0 {
		return nil, false
	}
	fs := r.fields[:0]
	a := 0
	field := func(b int) {
		if b-a >= 2 && s[a] == '"' {
			fs = append(fs, s[a+1:b-1:b-1])
		} else {
			fs = append(fs, s[a:b:b])
		}
		a = b + 1
	}
	for m := sep0; m != 0; m &= m - 1 {
		field(bits.TrailingZeros64(m))
	}
	for m := sep1; m != 0; m &= m - 1 {
		field(64 + bits.TrailingZeros64(m))
	}
	field(n)
	r.fields = fs
	return fs, true
}

// masks has bit i set where b[i] is a quote, and where it is a comma (len(b) ≤ 64). It
// reads b eight bytes at a time up to a multiple of eight, past len(b) within cap(b).
func masks(b []byte) (quotes, commas uint64) {
	n := len(b)
	b = b[:(n+7)&^7]
	for w := 0; w < len(b); w += 8 {
		x := binary.LittleEndian.Uint64(b[w:])
		quotes |= movemask(bytesEqual(x, '"')) << w
		commas |= movemask(bytesEqual(x, ',')) << w
	}
	keep := uint64(1)<<n - 1 // all ones when n is 64
	return quotes & keep, commas & keep
}

// movemask gathers the high bit of each byte of m (bytesEqual's answer) into 8 bits.
func movemask(m uint64) uint64 {
	return (m >> 7) * 0x0102040810204080 >> 56
}

// prefixXor sets bit i to the parity of bits 0..i of x.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}

// split cuts one line into fields, or says it is not the simple case. It looks for the
// next quote or comma eight bytes at a time (see quoteAt and stopAt), with no call per
// field: the file's fields are short, and bytes.IndexByte's call cost more than the
// scan. The words may run past the line into what bufio holds after it (never past
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
