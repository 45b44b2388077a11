package awsx

import (
	"context"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// crcCheck validates a DynamoDB response body against X-Amz-Crc32 when the header is
// there, and leaves bodies without one alone.
type crcCheck struct{}

func (crcCheck) ID() string { return ddbChecksumID }

func (crcCheck) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("unknown response type %T", out.RawResponse)}
	}
	v := resp.Header.Get("X-Amz-Crc32")
	if v == "" {
		return out, md, nil
	}
	want, perr := strconv.ParseUint(v, 10, 32)
	if perr != nil {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("unable to parse checksum header %v: %w", v, perr)}
	}
	h := crc32.NewIEEE()
	resp.Body = &crcBody{Reader: io.TeeReader(resp.Body, h), closer: resp.Body, want: uint32(want), hash: h}
	return out, md, nil
}

type crcBody struct {
	io.Reader
	closer io.Closer
	want   uint32
	hash   hash.Hash32
}

// Close reports a body that does not match its checksum.
func (b *crcBody) Close() error {
	if got := b.hash.Sum32(); got != b.want {
		b.closer.Close()
		return fmt.Errorf("response did not match expected checksum, %d, %d", b.want, got)
	}
	return b.closer.Close()
}
