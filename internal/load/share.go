package load

// Share is one load generator's part of a plan that several drive
// together (the distributed sweep's workers). The plan keeps its whole
// figures (every VU, the whole rate and request count); the engine runs
// only the share's part, chosen so that the union of the parts is exactly
// the single-process plan:
//
//   - closed loop: VU g belongs to share g mod Of, so share i has
//     VUs/Of VUs, one more for the first VUs%Of shares; a VU keeps its
//     place in the ramp (it starts at g*RampUp/VUs), and the shared
//     iteration budget is split in proportion to the VUs (SplitCount);
//   - open loop: request k of the schedule belongs to share k mod Of.
//     Every share computes the whole schedule (same rate, arrival process
//     and seed) and keeps its own indices, so the intended starts of all
//     shares together are the single schedule itself, with its arrival
//     statistics; Of independent processes of Rate/Of would not be.
//
// The zero Share is the whole plan.
type Share struct {
	Index int `json:"index"`
	Of    int `json:"of"`
}

// whole reports whether s is the whole plan.
func (s Share) whole() bool { return s.Of <= 1 }

// owns reports whether the share runs item k (a VU, an open-loop request)
// of an interleaved sequence.
func (s Share) owns(k int) bool { return s.whole() || k%s.Of == s.Index }

// count is how many of the items 0..n-1 the share owns.
func (s Share) count(n int) int {
	if s.whole() {
		return n
	}
	c := n / s.Of
	if s.Index < n%s.Of {
		c++
	}
	return c
}

// SplitCount splits total in proportion to the shares' counts of n items
// (the iteration budget over the VUs): share i gets the difference of
// total*cum/n at the bounds of its items, so the parts sum to total and a
// share with v items gets at least v whenever total >= n.
func (s Share) SplitCount(total, n int) int {
	if s.whole() || n <= 0 {
		return total
	}
	before := 0
	for j := range s.Index {
		before += Share{Index: j, Of: s.Of}.count(n)
	}
	mine := s.count(n)
	return total*(before+mine)/n - total*before/n
}

// LocalVUs is how many of the plan's VUs the share runs (closed loop).
func (p Plan) LocalVUs() int { return p.Share.count(p.VUs) }

// Empty reports whether the share runs no request at all (more shares than
// VUs, or than open-loop requests).
func (p Plan) Empty() bool {
	if p.Mode() == Closed {
		return p.LocalVUs() == 0
	}
	return p.Requests > 0 && p.Share.count(p.Requests) == 0
}
