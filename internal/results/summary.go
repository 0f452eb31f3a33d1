package results

// Summary describes one gated metric over a cell's repeats: their median,
// the order-statistic interval that bounds it, and their spread. Package
// nonparam computes it (nonparam.Summary has the same fields, untagged:
// the statistics know nothing of the file).
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	// Lo and Hi bound the median at Level (order statistics).
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Level float64 `json:"level"`
	// CV is the standard deviation over the mean (0 for n < 2 or a zero
	// mean).
	CV float64 `json:"cv"`
}
