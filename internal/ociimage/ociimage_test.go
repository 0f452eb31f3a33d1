package ociimage_test

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/llm-platform/harness/internal/ociimage"
)

func file(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sample(t *testing.T) ociimage.Image {
	return ociimage.Image{
		Ref: "lab.local/sim:v1",
		Files: []ociimage.File{
			{Path: "/usr/local/bin/sim", Source: file(t, "#!binary")},
			{Path: "/etc/sim/model.txt", Source: file(t, "TinyLlama"), Mode: 0o644},
		},
		Entrypoint: []string{"/usr/local/bin/sim", "--port", "8000"},
		Env:        []string{"A=1"},
		Ports:      []string{"8000/tcp"},
	}
}

// The tarball reads back, as containerd's import reads it, with the
// config, the files and their modes the Image named.
func TestWriteTarball(t *testing.T) {
	out := filepath.Join(t.TempDir(), "img.tar")
	digest, err := sample(t).WriteTarball(out)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("lab.local/sim:v1")
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := img.ConfigName(); id != digest {
		t.Errorf("image ID read back %v, written %v", id, digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != "/usr/local/bin/sim --port 8000" || strings.Join(cf.Config.Env, ",") != "A=1" || cf.OS != "linux" {
		t.Errorf("config %+v", cf.Config)
	}
	if _, ok := cf.Config.ExposedPorts["8000/tcp"]; !ok {
		t.Errorf("exposed ports %v", cf.Config.ExposedPorts)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = os.FileMode(h.Mode).String() + " " + string(b)
		if h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != 0 {
			t.Errorf("%s: uid %d gid %d time %v, want root and the epoch", h.Name, h.Uid, h.Gid, h.ModTime)
		}
	}
	want := map[string]string{
		"etc/": "-rwxr-xr-x ", "etc/sim/": "-rwxr-xr-x ", "etc/sim/model.txt": "-rw-r--r-- TinyLlama",
		"usr/": "-rwxr-xr-x ", "usr/local/": "-rwxr-xr-x ", "usr/local/bin/": "-rwxr-xr-x ", "usr/local/bin/sim": "-rwxr-xr-x #!binary",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("layer holds %v", got)
	}
}

// The same files give the same digest (built twice, from copies made at
// different times, in a different order).
func TestReproducible(t *testing.T) {
	a := sample(t)
	b := sample(t)
	b.Files[0], b.Files[1] = b.Files[1], b.Files[0]
	da, err := a.WriteTarball(filepath.Join(t.TempDir(), "a.tar"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.WriteTarball(filepath.Join(t.TempDir(), "b.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("digests %v and %v differ", da, db)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		edit func(*ociimage.Image)
		want string
	}{
		{func(im *ociimage.Image) { im.Ref = "sim:v1" }, `ref "sim:v1": name a registry host`},
		{func(im *ociimage.Image) { im.Ref = "lab.local/Sim:v1" }, `ref "lab.local/Sim:v1"`},
		{func(im *ociimage.Image) { im.Files = nil }, "at least one file"},
		{func(im *ociimage.Image) { im.Files[1].Path = "etc/x" }, `files[1].path "etc/x": want a clean absolute path`},
		{func(im *ociimage.Image) { im.Files[1].Path = im.Files[0].Path }, "given twice"},
		{func(im *ociimage.Image) { im.Entrypoint = []string{"/bin/sh"} }, `entrypoint ["/bin/sh"]: must start with one of the image's files`},
		{func(im *ociimage.Image) { im.Ports = []string{"8000"} }, `port "8000"`},
		{func(im *ociimage.Image) { im.Files[0].Source = "/nonexistent/file" }, "/usr/local/bin/sim: open /nonexistent/file"},
		{func(im *ociimage.Image) { im.Files[0].Source = t.TempDir() }, "is not a regular file"},
	} {
		im := sample(t)
		c.edit(&im)
		_, err := im.WriteTarball(filepath.Join(t.TempDir(), "x.tar"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want an error containing %q", err, c.want)
		}
	}
}
