package queue

import (
	"context"
	"slices"
	"sync"
)

// Memory is a queue in memory, first in first out, for code that runs a queue's consumer
// itself (tests, the cost harness): Send accepts every body, Pop hands them back in order.
type Memory struct {
	mu     sync.Mutex
	bodies []string
}

// Send queues bodies; every one is accepted.
func (q *Memory) Send(_ context.Context, bodies []string) ([]bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies = append(q.bodies, bodies...)
	return slices.Repeat([]bool{true}, len(bodies)), nil
}

// Pop takes the oldest body; ok is false when the queue is empty.
func (q *Memory) Pop() (body string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.bodies) == 0 {
		return "", false
	}
	body, q.bodies = q.bodies[0], q.bodies[1:]
	return body, true
}
