package sim

import (
	"hash/maphash"
	"strconv"
	"sync"
)

// prefixBlock is the prefix cache's block: 64 bytes of prompt text, which
// the simulator counts as 16 tokens (about four bytes a token), vLLM's
// default block of 16 tokens.
const (
	prefixBlockBytes  = 64
	prefixBlockTokens = 16
	// prefixCacheBlocks bounds the cache; when full it starts over, as a
	// cache whose blocks were all evicted would.
	prefixCacheBlocks = 1 << 20
)

// prefixCache is vLLM's automatic prefix caching, modelled: a prompt is cut
// into full blocks, each identified by a hash chained over every block
// before it (so a block matches only after the same prefix), and the
// leading blocks already cached are a hit whose prefill is skipped. vLLM
// counts both in tokens (vllm:prefix_cache_queries_total: the prompt's
// tokens; vllm:prefix_cache_hits_total: the cached ones), as here. A
// prompt's last block never hits in full: at least one token is always
// computed.
type prefixCache struct {
	seed   maphash.Seed
	mu     sync.Mutex
	blocks map[uint64]struct{}
}

func newPrefixCache() *prefixCache {
	return &prefixCache{seed: maphash.MakeSeed(), blocks: map[uint64]struct{}{}}
}

// lookup returns how many of text's leading tokens (of promptTokens) are
// cached, then caches all of text's full blocks.
func (c *prefixCache) lookup(text string, promptTokens int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var h uint64
	hit, missed := 0, false
	for i := 0; i+prefixBlockBytes <= len(text); i += prefixBlockBytes {
		h = maphash.String(c.seed, strconv.FormatUint(h, 16)+"\x00"+text[i:i+prefixBlockBytes]) // chained: a block matches only after the same prefix
		if _, ok := c.blocks[h]; ok && !missed {
			hit += prefixBlockTokens
		} else {
			missed = true
		}
		if len(c.blocks) >= prefixCacheBlocks {
			clear(c.blocks)
		}
		c.blocks[h] = struct{}{}
	}
	return min(hit, promptTokens-1)
}
