// Package ociimage builds the lab's container images with no registry and
// no container daemon: one layer holding a few files (static binaries), an
// entrypoint, environment and ports, written as an image tarball that
// containerd loads with `ctr -n k8s.io images import` (so a pod can run it
// with imagePullPolicy: Never). It uses go-containerregistry, the library
// crane and ko are built on, for the image format: manifests, digests and
// the tarball layout are its, not hand-written.
//
// Images are reproducible: every timestamp is the Unix epoch and every
// owner root, so the same files give the same digest on every machine.
package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one file of the image.
type File struct {
	// Path in the image, absolute (/usr/local/bin/llm-d-inference-sim).
	Path string
	// Source is the file on this machine whose content it gets.
	Source string
	// Mode is the file's permission bits; 0 takes 0o755 (a program).
	Mode os.FileMode
}

// Image is what to build.
type Image struct {
	// Ref names the image, with its registry host so that no runtime
	// reads it as Docker Hub's: lab.local/llm-d-inference-sim:v0.10.2.
	Ref   string
	Files []File
	// Entrypoint is the command; its first element must be one of Files.
	Entrypoint []string
	Env        []string
	// Ports are exposed ports, such as 8000/tcp (documentation only, as
	// in any image).
	Ports []string
}

// epoch is every timestamp in the image.
var epoch = time.Unix(0, 0).UTC()

// Validate names the first invalid field.
func (im Image) Validate() error {
	if host, _, ok := strings.Cut(im.Ref, "/"); !ok || !strings.ContainsAny(host, ".:") {
		return fmt.Errorf("ociimage: ref %q: name a registry host (e.g. lab.local/%s), or runtimes read it as Docker Hub's", im.Ref, im.Ref)
	}
	if _, err := name.NewTag(im.Ref, name.StrictValidation); err != nil {
		return fmt.Errorf("ociimage: ref %q: %w", im.Ref, err)
	}
	if len(im.Files) == 0 {
		return errors.New("ociimage: files: an image needs at least one file")
	}
	var paths []string
	for i, f := range im.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return fmt.Errorf("ociimage: files[%d].path %q: want a clean absolute path to a file", i, f.Path)
		}
		if slices.Contains(paths, f.Path) {
			return fmt.Errorf("ociimage: files[%d].path %q: given twice", i, f.Path)
		}
		paths = append(paths, f.Path)
	}
	if len(im.Entrypoint) == 0 || !slices.Contains(paths, im.Entrypoint[0]) {
		return fmt.Errorf("ociimage: entrypoint %q: must start with one of the image's files %v", im.Entrypoint, paths)
	}
	for _, p := range im.Ports {
		if n, proto, ok := strings.Cut(p, "/"); !ok || n == "" || (proto != "tcp" && proto != "udp") {
			return fmt.Errorf("ociimage: port %q: want NUMBER/tcp or NUMBER/udp", p)
		}
	}
	return nil
}

// layer is the files as one tar layer, parent folders first.
func (im Image) layer() (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	files := slices.Clone(im.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.Path); d != "/"; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: d[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		src, err := os.Open(f.Source)
		if err != nil {
			return nil, fmt.Errorf("ociimage: %s: %w", f.Path, err)
		}
		fi, err := src.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			src.Close()
			return nil, fmt.Errorf("ociimage: %s: source %s is not a regular file", f.Path, f.Source)
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o755
		}
		err = tw.WriteHeader(&tar.Header{Name: f.Path[1:], Typeflag: tar.TypeReg, Mode: int64(mode), Size: fi.Size(), ModTime: epoch, Format: tar.FormatPAX})
		if err == nil {
			_, err = io.Copy(tw, src)
		}
		src.Close()
		if err != nil {
			return nil, fmt.Errorf("ociimage: %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// Build assembles the image.
func (im Image) Build() (v1.Image, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	layer, err := im.layer()
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "llm-platform harness (internal/ociimage)"}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = runtime.GOARCH, "linux", v1.Time{Time: epoch}
	cf.Config.Entrypoint = slices.Clone(im.Entrypoint)
	cf.Config.Env = slices.Clone(im.Env)
	if len(im.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range im.Ports {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// WriteTarball builds the image and writes it to file as an image tarball
// tagged Ref; it returns the image ID, its config's digest. That is what
// identifies the image once imported (crictl's IMAGE ID, containerd's
// content store): an import writes a manifest of its own, so a manifest
// digest would not survive it.
func (im Image) WriteTarball(file string) (v1.Hash, error) {
	img, err := im.Build()
	if err != nil {
		return v1.Hash{}, err
	}
	tag, err := name.NewTag(im.Ref, name.StrictValidation)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return v1.Hash{}, fmt.Errorf("ociimage: %s: %w", file, err)
	}
	return img.ConfigName()
}
