package settings

import (
	"fmt"
	"net/url"
	"strings"
)

// K6Variable is one of the k6 `-e` variables the team's scripts read
// (`k6 run ... -e BASE_URL=... -e PAYLOAD_TYPE=short -e VUS=4 -e
// ITERATIONS=192`), accepted with k6's meaning, and the setting it stands
// for. Setting both is an error, even when they agree: the names are
// generic, and a stray BASE_URL in a CI shell must never change a target
// silently.
type K6Variable struct {
	Name, Twin, Help string
	set              func(c *Config, v string) error
}

// K6Variables lists them, in the README's order.
var K6Variables = []K6Variable{
	{"BASE_URL", "PERF_TARGET", "the full chat-completions URL, e.g. http://llm.local/v1/chat/completions; the target and Host come from it, and a path before /v1/chat/completions is kept as the API's base. A base URL is accepted too",
		func(c *Config, v string) (err error) { c.Target, err = targetOf(v); return }},
	{"PAYLOAD_TYPE", "PERF_PAYLOADS", "a payload name",
		func(c *Config, v string) error { c.Payloads = []string{strings.TrimSpace(v)}; return nil }},
	{"VUS", "PERF_CONCURRENCY", "one concurrency",
		func(c *Config, v string) error {
			var n int
			if err := wholeAtLeast(1, func(*Config) *int { return &n })(c, v); err != nil {
				return err
			}
			c.Concurrency = []int{n}
			return nil
		}},
	{"ITERATIONS", "PERF_ITERATIONS_PER_VU", "total requests in each closed-loop cell, shared by its VUs (k6's shared-iterations): 192 at 4 VUs is 48 per VU",
		wholeAtLeast(1, func(c *Config) *int { return &c.Iterations })},
}

// targetOf is the base URL in a k6 BASE_URL: the URL without the API's
// path (/v1/chat/completions, or /v1), keeping any path before it.
func targetOf(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	switch {
	case err != nil:
		return "", fmt.Errorf("%q: %w", v, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return "", fmt.Errorf("%q: want a URL such as http://llm.local/v1/chat/completions", v)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q: a query or fragment is not sent; remove it", v)
	}
	p := strings.TrimRight(u.Path, "/")
	for _, api := range []string{"/v1/chat/completions", "/v1"} {
		if strings.HasSuffix(p, api) {
			p = strings.TrimSuffix(p, api)
			break
		}
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// takeK6 applies the k6 variables that are set, refusing one whose twin
// (variable or flag) is set too.
func (c *Config) takeK6(env func(string) string, flagSet map[string]bool) error {
	flagOf := map[string]string{}
	for _, s := range Settings {
		flagOf[s.Env] = s.Flag
	}
	for _, k := range K6Variables {
		v := env(k.Name)
		if v == "" {
			continue
		}
		if env(k.Twin) != "" || flagSet[flagOf[k.Twin]] {
			return fmt.Errorf("settings: %s and %s are both set (k6's name and this harness's for the same thing): set one", k.Name, k.Twin)
		}
		if err := k.set(c, v); err != nil {
			return fmt.Errorf("settings: %s (k6): %w", k.Name, err)
		}
		if c.K6 == nil {
			c.K6 = map[string]string{}
		}
		c.K6[k.Name] = v
	}
	return nil
}

// K6Line names the k6 variables taken and what each became, for the
// suite's first output line; "" when none was.
func (c Config) K6Line() string {
	var parts []string
	for _, k := range K6Variables {
		if v, ok := c.K6[k.Name]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s (for %s)", k.Name, v, k.Twin))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "perf: taken from k6 variables: " + strings.Join(parts, ", ")
}
