package sim

import (
	"sort"
	"strings"
)

// Fault is an injected failure mode.
type Fault string

// The fault modes. Each maps to one error class in the client.
const (
	Fault429        Fault = "429"        // HTTP 429 before any token
	Fault500        Fault = "500"        // HTTP 500 before any token
	Fault503        Fault = "503"        // HTTP 503 before any token
	FaultDisconnect Fault = "disconnect" // half the tokens, then a TCP reset
	FaultHang       Fault = "hang"       // no headers until the client gives up (or HangLimit)
	FaultStall      Fault = "stall"      // half the tokens, then silence until the client gives up
	FaultMalformed  Fault = "malformed"  // half the tokens, then an event that is not JSON
	FaultNoDone     Fault = "no-done"    // every token and the usage chunk, but no [DONE]
)

// FaultHeader, set on a request, forces that request's fault mode.
const FaultHeader = "X-Sim-Fault"

// Faults lists every mode in a fixed order.
var Faults = []Fault{Fault429, Fault500, Fault503, FaultDisconnect, FaultHang, FaultStall, FaultMalformed, FaultNoDone}

func (f Fault) valid() bool {
	for _, k := range Faults {
		if f == k {
			return true
		}
	}
	return false
}

func faultNames() string {
	s := make([]string, len(Faults))
	for i, f := range Faults {
		s[i] = string(f)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// status is the HTTP status of the status-only faults, 0 for the others.
func (f Fault) status() int {
	switch f {
	case Fault429:
		return 429
	case Fault500:
		return 500
	case Fault503:
		return 503
	}
	return 0
}
