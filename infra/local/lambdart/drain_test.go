package lambdart_test

import "testing"

// Drain is how the cold-start benchmark starts a real bootstrap again and again: after
// it no process is left, none is started in its place, and the next invocation is cold.
func TestDrainMakesTheNextInvocationCold(t *testing.T) {
	p, _ := newPool(t, nil)
	for i := range 2 {
		if _, err := invoke(t, p, `{"action":"echo"}`); err != nil {
			t.Fatal(err)
		}
		if st := p.Stats(); st.ColdStarts != int64(i+1) {
			t.Fatalf("invocation %d: %d cold starts, want %d", i+1, st.ColdStarts, i+1)
		}
		p.Drain()
		if st := p.Stats(); st.Processes != 0 || st.Idle != 0 {
			t.Fatalf("after Drain: %d processes (%d idle), want none", st.Processes, st.Idle)
		}
	}
}
