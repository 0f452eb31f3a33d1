// Package history is the run history the regression gate and the trend
// report read: a folder holding each run's results.json (one file per run,
// named by its start time and commit, never overwritten) and each
// acceptance of a new level (one file per acceptance). One file per event
// keeps the folder a plain, append-only store that merges cleanly on a git
// branch, which is where the GPU workflow keeps it.
//
// A series is one cell's metric over the runs of one route kind, model,
// GPU and target kind (Identity): runs of another route or GPU are another
// series. Pools cuts a series where it changed level (package changepoint)
// or where a person accepted a change, and gives the gate the runs since.
package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/results"
)

// Entry is one run of the history.
type Entry struct {
	// File is the run's file name in the history folder.
	File string
	Run  *results.Run
}

// Acceptance records that a person accepted the level a run shows (a new
// vLLM, an intended change): the gate pools from that run on.
type Acceptance struct {
	// Run is the accepted run's file name.
	Run    string    `json:"run"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// File is the acceptance's own file name (not stored in it).
	File string `json:"-"`
}

// History is a history folder read into memory, oldest run first.
type History struct {
	Dir      string
	Entries  []Entry
	Accepted []Acceptance
}

const (
	runPrefix    = "run-"
	acceptPrefix = "accept-"
	stamp        = "20060102T150405Z"
)

// Load reads the history in dir. A folder that does not exist yet is an
// empty history (the first run creates it); a file that does not parse is
// an error naming it, never skipped in silence.
func Load(dir string) (*History, error) {
	h := &History{Dir: dir}
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	for _, d := range names {
		name, path := d.Name(), filepath.Join(dir, d.Name())
		switch {
		case d.IsDir() || !strings.HasSuffix(name, ".json"):
		case strings.HasPrefix(name, runPrefix):
			run, err := results.Load(path)
			if err != nil {
				return nil, fmt.Errorf("history: %s: %w", name, err)
			}
			h.Entries = append(h.Entries, Entry{File: name, Run: run})
		case strings.HasPrefix(name, acceptPrefix):
			var a Acceptance
			data, err := os.ReadFile(path)
			if err == nil {
				err = json.Unmarshal(data, &a)
			}
			if err != nil {
				return nil, fmt.Errorf("history: %s: %w", name, err)
			}
			a.File = name
			h.Accepted = append(h.Accepted, a)
		}
	}
	slices.SortStableFunc(h.Entries, func(a, b Entry) int { return a.Run.Start.Compare(b.Run.Start) })
	slices.SortStableFunc(h.Accepted, func(a, b Acceptance) int { return a.At.Compare(b.At) })
	return h, nil
}

// FileName is a run's name in the history: its start time (UTC) and the
// first 12 characters of its commit ("nocommit" when unknown).
func FileName(r *results.Run) string {
	commit := "nocommit"
	if r.GitCommit != "" {
		commit = ShortCommit(r.GitCommit)
		if r.GitDirty {
			commit += "-dirty"
		}
	}
	return runPrefix + r.Start.UTC().Format(stamp) + "-" + commit + ".json"
}

// ShortCommit is a commit's first 12 characters, as run files name it.
func ShortCommit(commit string) string { return commit[:min(12, len(commit))] }

// Append adds run to the history, in memory and in its folder (created if
// missing). A file of that name is never overwritten: a second run of the
// same second and commit gets a suffix. An interrupted run is not a
// night's figures and is refused.
func (h *History) Append(run *results.Run) (string, error) {
	if run.Interrupted {
		return "", errors.New("history: an interrupted run is not appended")
	}
	data, err := run.Marshal()
	if err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	base := strings.TrimSuffix(FileName(run), ".json")
	name, err := create(h.Dir, base, data)
	if err != nil {
		return "", err
	}
	h.Entries = append(h.Entries, Entry{File: name, Run: run})
	return name, nil
}

// Accept records that the run in file runName shows a level to accept,
// with the reason; later runs pool from that run on.
func (h *History) Accept(runName, reason string, now time.Time) (Acceptance, error) {
	if strings.TrimSpace(reason) == "" {
		return Acceptance{}, errors.New("history: accept: REASON: empty; say why the new level is right (e.g. \"vLLM 0.11.1: slower decode, accepted\")")
	}
	runName = filepath.Base(runName)
	if !slices.ContainsFunc(h.Entries, func(e Entry) bool { return e.File == runName }) {
		return Acceptance{}, fmt.Errorf("history: accept: RUN: %s is not a run of %s", runName, h.Dir)
	}
	a := Acceptance{Run: runName, Reason: reason, At: now.UTC()}
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return Acceptance{}, err
	}
	name, err := create(h.Dir, acceptPrefix+now.UTC().Format(stamp), append(data, '\n'))
	if err != nil {
		return Acceptance{}, err
	}
	a.File = name
	h.Accepted = append(h.Accepted, a)
	return a, nil
}

// create writes data to dir/base.json, or base-2.json, ... : the first
// name not taken (O_EXCL, so two writers never share one).
func create(dir, base string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	for i := 1; i < 1000; i++ {
		name := base + ".json"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.json", base, i)
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("history: %w", err)
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", fmt.Errorf("history: %s: %w", name, werr)
		}
		return name, nil
	}
	return "", fmt.Errorf("history: %s: 999 files of that name", base)
}
