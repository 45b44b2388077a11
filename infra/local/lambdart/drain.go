package lambdart

import "slices"

// Drain stops the pool's idle processes without replacing them, so the next invocation
// is a cold start again: the cold-start benchmark measures a function's real bootstrap
// this way many times over one pool (infra/local/stack.ColdStart).
func (p *Pool) Drain() {
	p.mu.Lock()
	idle := slices.Clone(p.idle) // removeLocked deletes from p.idle in place
	for _, s := range idle {
		p.removeLocked(s, false) // out of idle first: reap then does not replace it
	}
	p.mu.Unlock()
	for _, s := range idle {
		s.kill()
	}
	for _, s := range idle {
		<-s.dead
	}
}
