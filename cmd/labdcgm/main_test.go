package main

import (
	"strings"
	"testing"
)

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-pod", "no-namespace"}, {"-other", "a/b/c"}, {"-nope"}} {
		if err := run(args); err == nil {
			t.Errorf("%v: no error", args)
		} else if strings.Contains(strings.Join(args, " "), "/") && !strings.Contains(err.Error(), "NAMESPACE/NAME") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
