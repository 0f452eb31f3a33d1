package results

// ServerDelta is what the server counted between two snapshots. A field is nil
// (null in results.json) when the target does not expose its metric.
type ServerDelta struct {
	Requests         *float64 `json:"requests"`
	GenerationTokens *float64 `json:"generation_tokens"`
	PromptTokens     *float64 `json:"prompt_tokens"`
	// TTFTMeanMs and E2EMeanMs are the server's own means over the cell,
	// from its histograms' sums and counts; 0 when no request ended.
	TTFTMeanMs *float64 `json:"ttft_mean_ms"`
	E2EMeanMs  *float64 `json:"e2e_mean_ms"`
	// RunningAfter and WaitingAfter are the gauges at the end: non-zero
	// means requests were still in the server when the cell ended.
	RunningAfter *float64 `json:"running_after"`
	WaitingAfter *float64 `json:"waiting_after"`
	// KVCacheUsagePeak is the KV cache's highest used fraction seen over
	// the cell (0 to 1; sampled during it, see Peak); Preemptions is how
	// many sequences the server preempted for want of KV cache; QueueMeanMs
	// is the mean time requests waited to be scheduled. The server's side
	// of saturation: each null where the target lacks the metric.
	KVCacheUsagePeak *float64 `json:"kv_cache_usage_peak"`
	Preemptions      *float64 `json:"preemptions"`
	QueueMeanMs      *float64 `json:"queue_time_mean_ms"`
	// PrefixCacheHitRate is the prefix cache's hits over its queries, in
	// tokens, over the cell (vLLM's own measure); null when the target
	// lacks the counters or was queried nothing.
	PrefixCacheHitRate *float64 `json:"prefix_cache_hit_rate"`
}
