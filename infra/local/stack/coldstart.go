package stack

import (
	"context"
	"fmt"
	"time"
)

// ColdStart is one measured cold start of a function through the local runtime.
type ColdStart struct {
	Init          time.Duration // process start → the bootstrap asks for its first event
	FirstResponse time.Duration // process start → the first response (init + one invocation)
}

// ColdStart stops the function's idle processes and invokes it once, so the real
// bootstrap starts from scratch, as on a Lambda cold start.
func (s *Stack) ColdStart(ctx context.Context, function string, payload []byte) (ColdStart, error) {
	p, ok := s.pools[s.resolve(function)]
	if !ok {
		return ColdStart{}, fmt.Errorf("function %q: not in this stack", function)
	}
	p.Drain()
	before := p.Stats().ColdStarts
	start := time.Now()
	if _, err := p.Invoke(ctx, payload); err != nil {
		return ColdStart{}, fmt.Errorf("%s: %w", function, err)
	}
	first := time.Since(start)
	st := p.Stats()
	if st.ColdStarts != before+1 {
		return ColdStart{}, fmt.Errorf("%s: %d cold starts for one drained invocation, want 1", function, st.ColdStarts-before)
	}
	return ColdStart{Init: st.LastCold, FirstResponse: first}, nil
}
