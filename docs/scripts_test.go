package docs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The GPU workflow's scripts, run against stand-ins for what only the GPU
// box has (docker with the NVIDIA runtime, nvidia-smi, Minikube): what
// each prints and whether it fails. make rehearse runs them for real on
// the lab; these are the failures the lab cannot produce.

// stub writes an executable shell script named name into dir.
func stub(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runScript runs .github/scripts/gpu-perf/NAME from the repository root
// with the stand-ins first on PATH and env added; it returns the output,
// the job summary, and whether it succeeded.
func runScript(t *testing.T, name, stubs string, env ...string) (out, summary string, ok bool) {
	t.Helper()
	sum := filepath.Join(t.TempDir(), "summary.md")
	cmd := exec.Command("bash", filepath.Join(".github", "scripts", "gpu-perf", name))
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_STEP_SUMMARY="+sum, "GITHUB_ENV="+filepath.Join(t.TempDir(), "env"))
	cmd.Env = append(cmd.Env, env...)
	b, err := cmd.CombinedOutput()
	s, _ := os.ReadFile(sum)
	return string(b), string(s), err == nil
}

// gpuBox puts stand-ins for a good GPU box in a folder: docker with the
// nvidia runtime, an R570 driver, Minikube v1.38.0, each overridable by
// the environment the test passes.
func gpuBox(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stub(t, dir, "docker", `case "$*" in
  "info") exit 0;;
  "info --format {{json .Runtimes}}") echo "${STUB_RUNTIMES:-{\"nvidia\":{},\"runc\":{}}}";;
  "info --format {{.DockerRootDir}}") echo /tmp;;
esac
`)
	stub(t, dir, "nvidia-smi", `echo "${STUB_DRIVER:-570.86.15}"`+"\n")
	stub(t, dir, "minikube", `echo "minikube $*" >> "${STUB_CALLS:-/dev/null}"
case "$*" in
  "version --short") echo "${STUB_MINIKUBE:-v1.38.0}";;
  *" image pull "*) [ -z "$STUB_PULL_SLEEP" ] || sleep "$STUB_PULL_SLEEP"; exit "${STUB_PULL_EXIT:-0}";;
  *" ssh "*) echo "cuda available: ${STUB_CUDA:-True}"; [ "${STUB_CUDA:-True}" = True ];;
  *) exit 0;;
esac
`)
	return dir
}

func TestPreflight(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the stand-in box runs as root here (PREFLIGHT_ALLOW_ROOT); run as root (make test does)")
	}
	box := gpuBox(t)
	home := t.TempDir()
	meminfo := filepath.Join(t.TempDir(), "meminfo")
	write := func(kib int) {
		if err := os.WriteFile(meminfo, []byte("MemTotal:       "+itoa(kib)+" kB\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(64 << 20)
	base := []string{"PREFLIGHT_ALLOW_ROOT=1", "PREFLIGHT_MIN_DISK_GB=1", "PREFLIGHT_MEMINFO=" + meminfo, "MINIKUBE_CPUS=1", "MINIKUBE_HOME=" + home}
	out, _, ok := runScript(t, "preflight.sh", box, base...)
	if !ok || !strings.Contains(out, "every check passed") {
		t.Fatalf("a good box failed the preflight:\n%s", out)
	}
	// Each defect fails the preflight, naming what to do.
	for _, tc := range []struct {
		name  string
		env   []string
		setup func()
		want  string
	}{
		{"old driver", []string{"STUB_DRIVER=550.54.14"}, nil, "driver 550.54.14; vllm-openai images from 0.9 on are built on CUDA 12.8, which needs R570"},
		{"no nvidia runtime", []string{`STUB_RUNTIMES={"runc":{}}`}, nil, "nvidia-ctk runtime configure --runtime=docker"},
		{"old minikube", []string{"STUB_MINIKUBE=v1.35.0"}, nil, "minikube v1.35.0; the platform needs v1.36.0 or later"},
		{"memory", nil, func() { write(8 << 20) }, "minikube refuses --memory 16g (16384 MiB) above the host's memory"},
		{"CPUs", []string{"MINIKUBE_CPUS=512"}, nil, "minikube --cpus 512 needs as many"},
		{"profile of another user", nil, func() {
			p := filepath.Join(home, ".minikube", "profiles", "minikube")
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "Minikube keeps a profile per user"},
	} {
		write(64 << 20)
		_ = os.RemoveAll(filepath.Join(home, ".minikube"))
		if tc.setup != nil {
			tc.setup()
		}
		out, summary, ok := runScript(t, "preflight.sh", box, append(base, tc.env...)...)
		if ok || !strings.Contains(out, tc.want) || !strings.Contains(summary, tc.want) {
			t.Errorf("%s: ok %v; want a failure saying %q in the log and the summary:\n%s", tc.name, ok, tc.want, out)
		}
	}
	// Root itself fails without the rehearsal's waiver.
	out, _, ok = runScript(t, "preflight.sh", box, "PREFLIGHT_MIN_DISK_GB=1", "PREFLIGHT_MEMINFO="+meminfo, "MINIKUBE_CPUS=1", "MINIKUBE_HOME="+home)
	if ok || !strings.Contains(out, "Minikube's docker driver refuses root") {
		t.Errorf("root passed the preflight:\n%s", out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The Minikube step stops at once on a Minikube older than v1.36.0,
// naming the version needed, before anything starts; the documented
// variable goes on.
func TestMinikubeStepVersion(t *testing.T) {
	box := gpuBox(t)
	calls := filepath.Join(t.TempDir(), "calls")
	env := []string{"STUB_CALLS=" + calls, "MINIKUBE_PROFILE=minikube", "MINIKUBE_CPUS=4", "MINIKUBE_MEMORY=16g", "MINIKUBE_KUBERNETES_VERSION=v1.32.9"}
	out, summary, ok := runScript(t, "minikube.sh", box, append(env, "STUB_MINIKUBE=v1.34.0")...)
	if ok || !strings.Contains(out, "minikube v1.34.0 on the runner; the platform needs v1.36.0 or later") || !strings.Contains(summary, "MINIKUBE_ALLOW_ANY_VERSION=1") {
		t.Fatalf("an old minikube: ok %v\n%s", ok, out)
	}
	if b, _ := os.ReadFile(calls); strings.Contains(string(b), "update-context") {
		t.Errorf("the step went on after refusing the version: %s", b)
	}
	out, _, ok = runScript(t, "minikube.sh", box, append(env, "STUB_MINIKUBE=v1.34.0", "MINIKUBE_ALLOW_ANY_VERSION=1")...)
	if !ok {
		t.Fatalf("MINIKUBE_ALLOW_ANY_VERSION=1 did not go on:\n%s", out)
	}
	if b, _ := os.ReadFile(calls); !strings.Contains(string(b), "minikube -p minikube update-context") {
		t.Errorf("calls: %s", b)
	}
}

// The pre-pull step pulls the overlay's vLLM image into Minikube under its
// own timeout, then proves CUDA in it; each failure says which.
func TestPrepullStep(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl (kustomize) not on PATH")
	}
	box := gpuBox(t)
	calls := filepath.Join(t.TempDir(), "calls")
	env := []string{"STUB_CALLS=" + calls, "MINIKUBE_PROFILE=minikube", "ROUTE=ingress"}
	out, _, ok := runScript(t, "prepull.sh", box, env...)
	b, _ := os.ReadFile(calls)
	if !ok || !strings.Contains(string(b), "minikube -p minikube image pull vllm/vllm-openai:") || !strings.Contains(string(b), "--gpus all --entrypoint python3 vllm/vllm-openai:") {
		t.Fatalf("ok %v, calls:\n%s\noutput:\n%s", ok, b, out)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"pull too slow", []string{"STUB_PULL_SLEEP=5", "PREPULL_TIMEOUT=1s"}, "did not pull into Minikube within 1s"},
		{"pull fails", []string{"STUB_PULL_EXIT=1"}, "did not pull into Minikube"},
		{"no CUDA", []string{"STUB_CUDA=False"}, "cannot use the GPU (torch.cuda.is_available() is false"},
	} {
		out, summary, ok := runScript(t, "prepull.sh", box, append(env, tc.env...)...)
		if ok || !strings.Contains(out, tc.want) || !strings.Contains(summary, tc.want) {
			t.Errorf("%s: ok %v; want %q:\n%s", tc.name, ok, tc.want, out)
		}
	}
}

// The gateway route's controller step installs NGINX Gateway Fabric from
// the network, which the lab cannot reach: a stand-in kubectl records what
// it would apply, in order, at the pinned version.
func TestControllerStepGateway(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	// An apply of stdin is recorded once it has read its input (kustomize's
	// output through the pipe), so the record keeps the pipe's order.
	stub(t, dir, "kubectl", `case "$*" in
  "apply -f -") in=$(cat); echo "kubectl $* <<< $in" >> "`+calls+`";;
  kustomize*) echo "kubectl $*" >> "`+calls+`"; echo "kind: CustomResourceDefinition";;
  *) echo "kubectl $*" >> "`+calls+`";;
esac
`)
	out, _, ok := runScript(t, "controller.sh", dir, "ROUTE=gateway", "NGF_VERSION=v2.6.7", "MINIKUBE_PROFILE=minikube")
	if !ok {
		t.Fatalf("the gateway controller step failed:\n%s", out)
	}
	b, _ := os.ReadFile(calls)
	want := []string{
		"kubectl kustomize https://github.com/nginx/nginx-gateway-fabric/config/crd/gateway-api/standard?ref=v2.6.7",
		"kubectl apply -f - <<< kind: CustomResourceDefinition",
		"kubectl apply --server-side -f https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/v2.6.7/deploy/crds.yaml",
		"kubectl apply -f https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/v2.6.7/deploy/nodeport/deploy.yaml",
		"kubectl -n nginx-gateway wait --for=condition=Available deployment/nginx-gateway --timeout=5m",
	}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kubectl calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLabScriptsNameWhatIsMissing: the lab's scripts (scripts/lab), run
// without the variables make passes, stop before touching anything, naming
// the first missing one; with the lab's set, each names its own.
func TestLabScriptsNameWhatIsMissing(t *testing.T) {
	lab := []string{"LAB=x", "LAB_CMD=/nonexistent/lab", "LAB_BIN=/b", "LAB_CRDS=/c", "LAB_RUN=/r", "LAB_IMAGE_TARS=/i.tar"}
	for script, own := range map[string]string{"e2e-lab.sh": "E2E_TEST_BIN", "perf-lab.sh": "LAB_OVERLAY", "rehearse.sh": "REHEARSE_BIN"} {
		for _, tc := range []struct {
			env  []string
			want string
		}{{nil, "LAB:"}, {lab, own + ":"}} {
			cmd := exec.Command("bash", filepath.Join("scripts", "lab", script))
			cmd.Dir = ".."
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("%s with %v: %v, output %q; want a failure naming %s", script, tc.env, err, out, tc.want)
			}
		}
	}
}
