// Package provenance says which commit of the harness is running, for the
// report's "Harness commit": the commit the binary was built from, never
// the git repository of the working directory (a suite binary copied to a
// GPU machine, or run from another checkout, would name that one).
//
// It asks, in order:
//   - the build info Go stamps into binaries built from a checkout
//     (vcs.revision, vcs.modified);
//   - Commit and Dirty, set by the Makefile with -ldflags -X for test
//     binaries, which Go does not stamp;
//   - the git repository holding this package's own source file, whose path
//     the compiler records (absent under -trimpath).
package provenance

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Set at link time by the Makefile:
//
//	-ldflags "-X github.com/llm-platform/harness/internal/provenance.Commit=<sha> -X ...provenance.Dirty=true"
var (
	Commit string
	Dirty  string
)

// Build is where the running harness came from.
type Build struct {
	// Commit is the full commit hash, "" when nothing says.
	Commit string
	// Dirty says the tree it was built from had uncommitted changes.
	Dirty bool
	// Source says how Commit was found: "build info", "ldflags", "source
	// tree", or "" when it was not.
	Source string
}

// String is "<commit>", "<commit> (dirty tree)" or "unknown".
func (b Build) String() string {
	switch {
	case b.Commit == "":
		return "unknown"
	case b.Dirty:
		return b.Commit + " (dirty tree)"
	}
	return b.Commit
}

// gitTimeout bounds the git calls of the last resort.
const gitTimeout = 5 * time.Second

// Harness returns the running harness's build.
func Harness(ctx context.Context) Build {
	var settings []debug.BuildSetting
	if info, ok := debug.ReadBuildInfo(); ok {
		settings = info.Settings
	}
	return resolve(settings, Commit, Dirty, func() Build {
		_, file, _, ok := runtime.Caller(0)
		if !ok || !filepath.IsAbs(file) {
			return Build{}
		}
		return FromTree(ctx, filepath.Dir(file))
	})
}

// resolve picks the first source that knows: the build info, the ldflags,
// then the source tree (asked only when needed: it runs git).
func resolve(settings []debug.BuildSetting, commit, dirty string, tree func() Build) Build {
	if b := fromBuildInfo(settings); b.Commit != "" {
		return b
	}
	if commit != "" {
		return Build{Commit: commit, Dirty: dirty == "true", Source: "ldflags"}
	}
	return tree()
}

// fromBuildInfo reads vcs.revision and vcs.modified.
func fromBuildInfo(settings []debug.BuildSetting) Build {
	var b Build
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit, b.Source = s.Value, "build info"
		case "vcs.modified":
			b.Dirty = s.Value == "true"
		}
	}
	return b
}

// FromTree is the HEAD commit of the git repository holding dir, and
// whether its tracked files differ from it; an empty Build outside one.
func FromTree(ctx context.Context, dir string) Build {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return Build{}
	}
	b := Build{Commit: strings.TrimSpace(string(out)), Source: "source tree"}
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	b.Dirty = err == nil && len(strings.TrimSpace(string(status))) > 0
	return b
}
