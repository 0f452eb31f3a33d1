package sim

import (
	"context"
	"sync"
)

// kvCache is the simulator's KV cache: a budget of tokens that running
// sequences hold (their prompt and what they generated so far), as vLLM's
// paged KV cache holds their blocks. Without a budget (Config.KVCacheTokens
// zero) it never runs out. When a running sequence needs a token the cache
// does not have, it is preempted, as vLLM preempts by recomputation: its
// tokens are freed, it goes back to the waiting queue, and when a slot and
// room come back it prefills everything again (vllm:num_preemptions_total).
// vLLM picks the newest sequence to preempt; the simulator preempts the one
// that hit the wall, which moves the same counters and costs the same kind
// of latency.
type kvCache struct {
	capacity int64 // tokens; 0: unlimited
	onChange func(used, capacity int64)

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed and replaced whenever tokens are freed
}

func newKVCache(capacity int64, onChange func(used, capacity int64)) *kvCache {
	return &kvCache{capacity: capacity, onChange: onChange, freed: make(chan struct{})}
}

// try takes n tokens if the cache has them.
func (c *kvCache) try(n int64) bool {
	if c.capacity == 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used+n > c.capacity {
		return false
	}
	c.used += n
	c.onChange(c.used, c.capacity)
	return true
}

// wait takes n tokens, waiting for sequences to free them; false when ctx
// ended first.
func (c *kvCache) wait(ctx context.Context, n int64) bool {
	for {
		if c.try(n) {
			return true
		}
		c.mu.Lock()
		ch := c.freed
		c.mu.Unlock()
		if c.try(n) { // freed between the try and taking the channel
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// free returns n tokens.
func (c *kvCache) free(n int64) {
	if c.capacity == 0 || n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used -= n
	c.onChange(c.used, c.capacity)
	close(c.freed)
	c.freed = make(chan struct{})
}
