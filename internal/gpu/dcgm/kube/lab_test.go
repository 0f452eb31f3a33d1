package kube

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/settings"
	"github.com/llm-platform/harness/internal/sweep"
)

// The stand-in exporter as the GPU Operator names it.
var exporterSvc = dcgm.Pod{Namespace: "gpu-operator", Name: "nvidia-dcgm-exporter"}

// The recording's energy counter moves 331450151 − 319159391 mJ between
// its two instants (fixtures/gpu/dcgm).
const recordedDeltaJ = 12290.76

// labExporter deploys the stand-in exporter (cmd/labdcgm) on the lab's
// real node behind the GPU Operator's Service name, its GPU 0 labelled
// with the platform's vLLM pod and its GPU 1 with another pod, and
// returns the clientset and the vLLM pod's name. It needs the lab the
// workers-lab script started (DCGM_LAB_*); without it the test skips.
func labExporter(t *testing.T) (*kubernetes.Clientset, string) {
	t.Helper()
	kc := os.Getenv("DCGM_LAB_KUBECONFIG")
	if kc == "" {
		t.Skip("needs the lab's real node and API server: make test-workers (as root) runs it")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx := context.Background()
	ns, node := os.Getenv("DCGM_LAB_NAMESPACE"), os.Getenv("DCGM_LAB_NODE")
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vllm := ""
	for _, p := range pods.Items {
		if strings.HasPrefix(p.Name, "vllm") && p.Status.Phase == corev1.PodRunning {
			vllm = p.Name
		}
	}
	if vllm == "" {
		t.Fatalf("no running vllm pod in %s", ns)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: exporterSvc.Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "nvidia-dcgm-exporter"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nvidia-dcgm-exporter-lab", Labels: labels}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"kubernetes.io/hostname": node},
		Containers: []corev1.Container{{Name: "exporter", Image: labnode.LabDCGMImage, ImagePullPolicy: corev1.PullNever,
			Args:  []string{"-hostname", node, "-pod", ns + "/" + vllm, "-other", ns + "/batch-trainer-0"},
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9400}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/metrics", Port: intstr.FromInt32(9400)}},
				PeriodSeconds: 1}}},
		TerminationGracePeriodSeconds: new(int64),
	}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: exporterSvc.Name}, Spec: corev1.ServiceSpec{Selector: labels,
		Ports: []corev1.ServicePort{{Name: "gpu-metrics", Port: 9400, TargetPort: intstr.FromInt32(9400)}}}}
	if _, err := cs.CoreV1().Pods(exporterSvc.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Services(exporterSvc.Namespace).Delete(context.Background(), svc.Name, metav1.DeleteOptions{})
		_ = cs.CoreV1().Pods(exporterSvc.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	})
	if _, err := cs.CoreV1().Services(exporterSvc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := Open(ctx, Lookup{Kubeconfig: kc, Service: exporterSvc, Pod: dcgm.Pod{Namespace: ns, Name: "vllm"}})
		if err == nil {
			return cs, vllm
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stand-in exporter never answered through the service proxy: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// advancing is the exporter's source with one collection made while the
// cell runs: its first Await tells the stand-in to move to its second
// recorded instant (through the API server's service proxy), so the
// recording's two instants bracket the cell.
type advancing struct {
	*dcgm.Exporter
	advance func(context.Context) error
	done    bool
}

func (a *advancing) Await(ctx context.Context, t time.Time) error {
	if !a.done {
		a.done = true
		if err := a.advance(ctx); err != nil {
			return err
		}
	}
	return a.Exporter.Await(ctx, t)
}

// A sweep's cell against the lab's platform with PERF_GPU_SOURCE=auto: no
// GPU here, so the DCGM exporter found through the lab's API server gives
// the GPU columns, the vLLM pod's GPU matched by the exporter's pod
// labels, the other pod's GPU ignored, and J/token the recorded energy
// counter's delta over the cell's output tokens.
func TestLabDCGMThroughTheAPIServer(t *testing.T) {
	cs, vllm := labExporter(t)
	ns, kc := os.Getenv("DCGM_LAB_NAMESPACE"), os.Getenv("DCGM_LAB_KUBECONFIG")
	dir := t.TempDir()
	env := map[string]string{"PERF_TARGET": os.Getenv("DCGM_LAB_TARGET"), "PERF_REPORT_DIR": dir, "PERF_PAYLOADS": "short", "PERF_CONCURRENCY": "2",
		"PERF_ITERATIONS_PER_VU": "4", "PERF_WARMUP": "0", "PERF_GPU_SOURCE": "auto", "PERF_REQUIRE_GPU": "1", "PERF_KUBECONFIG": kc,
		"PERF_GPU_POD": ns + "/vllm", "PERF_DCGM_SERVICE": exporterSvc.String(), "PERF_PROGRESS": "0"}
	s, err := settings.Register(flag.NewFlagSet("t", flag.ContinueOnError)).Config(func(k string) string { return env[k] }, "../../../..")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := sweep.Load(s)
	if err != nil {
		t.Fatal(err)
	}
	advance := func(ctx context.Context) error {
		_, err := cs.CoreV1().RESTClient().Post().AbsPath(fmt.Sprintf("/api/v1/namespaces/%s/services/%s:9400/proxy/advance", exporterSvc.Namespace, exporterSvc.Name)).DoRaw(ctx)
		return err
	}
	cfg.OpenDCGM = func(ctx context.Context) (gpu.Source, error) {
		src, err := Open(ctx, Lookup{Kubeconfig: kc, Service: exporterSvc, Pod: dcgm.Pod{Namespace: ns, Name: "vllm"}})
		if err != nil {
			return nil, err
		}
		return &advancing{Exporter: src, advance: advance}, nil
	}
	r, err := sweep.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cells := cfg.Schedule()
	if len(cells) != 1 {
		t.Fatalf("%d cells", len(cells))
	}
	if _, _, err := r.RunCell(context.Background(), cells[0]); err != nil {
		t.Fatal(err)
	}
	run := r.Results()
	if err := report.WriteAll(&run, dir); err != nil {
		t.Fatal(err)
	}
	if len(run.GPUs) != 1 || run.GPUs[0].Source != "dcgm" || run.GPUs[0].UUID != "GPU-34319582-d595-d1c7-d1d2-179bcfa61660" ||
		!strings.Contains(run.GPUs[0].Match, "pod "+ns+"/"+vllm) || !strings.Contains(run.GPUs[0].Exporter, "service proxy") {
		t.Fatalf("GPUs %+v (reason %q)", run.GPUs, run.GPUReason)
	}
	t.Logf("GPU 0: %+v", run.GPUs[0])
	c := run.Cells[0]
	g := c.GPU
	if g == nil || len(g.Devices) != 1 {
		t.Fatalf("cell GPU %+v", g)
	}
	d := g.Devices[0]
	tokens := math.Round(c.OutputTokS * c.DurationS)
	want := math.Round(recordedDeltaJ/tokens*1e4) / 1e4
	t.Logf("cell %s: %v output tokens, energy %v J (%s over %v s), J/token %v (want %v), readings %d, too coarse %v",
		c.Name(), tokens, g.EnergyJ, d.EnergyMethod, g.EnergySpanS, g.JoulesPerToken, want, g.Readings, g.TooCoarse)
	if g.Source != "dcgm" || g.EnergyJ != recordedDeltaJ || d.EnergyMethod != "counter between readings" || tokens <= 0 || g.JoulesPerToken != want {
		t.Errorf("energy: %+v %+v", g, d)
	}
	// The other pod's GPU (SM clock 139 MHz) is not read: the figures are the A100's.
	if d.SMClockAvg != 1215 || d.PowerAvg != 409.69 || d.MemUsedMax != 4845 || !g.TooCoarse || g.Readings != 0 {
		t.Errorf("figures %+v", d)
	}
	md, err := os.ReadFile(filepath.Join(dir, report.FileMarkdown))
	if err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf("| 4845 | 410 | %.3f* |", want)
	if !strings.Contains(string(md), row) || !strings.Contains(string(md), "figures from the DCGM exporter at service "+exporterSvc.String()) {
		t.Errorf("report lacks the GPU columns %q or the source:\n%s", row, md)
	}
}
