package startup

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 12, 3, 3, 17, 0, 0, time.UTC)

func event(reason, msg string, after time.Duration) corev1.Event {
	return corev1.Event{Reason: reason, Message: msg, LastTimestamp: metav1.NewTime(t0.Add(after))}
}

func waiting(reason string) corev1.PodStatus {
	return corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "vllm", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}}
}

func running(ready bool) corev1.PodStatus {
	return corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "vllm", Ready: ready,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0.Add(14 * time.Minute))}}}}}
}

// The phases a vLLM pod goes through, each from what the API server has:
// the kubelet's events, the container's state, vLLM's log lines.
func TestOf(t *testing.T) {
	scheduled := corev1.PodSpec{NodeName: "minikube"}
	pulling := event("Pulling", `Pulling image "vllm/vllm-openai:v0.11.0"`, time.Second)
	pulled := event("Pulled", `Successfully pulled image "vllm/vllm-openai:v0.11.0" in 13m52s`, 14*time.Minute)
	const (
		vllmStart  = "INFO 12-03 03:31:10 [api_server.py:1896] vLLM API server version 0.11.0"
		vllmLoad   = "INFO 12-03 03:31:20 [gpu_model_runner.py:2602] Starting to load model TinyLlama/TinyLlama-1.1B-Chat-v1.0..."
		vllmLoaded = "INFO 12-03 03:33:02 [default_loader.py:267] Loading weights took 1.02 seconds"
		vllmGraphs = "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67"
		vllmUp     = "INFO:     Application startup complete."
	)
	for _, tc := range []struct {
		name   string
		pod    corev1.Pod
		events []corev1.Event
		log    string
		want   string
		detail string
	}{
		{"unschedulable", corev1.Pod{}, []corev1.Event{event("FailedScheduling", "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.", 0)}, "", Unscheduled, "Insufficient nvidia.com/gpu"},
		{"pulling", corev1.Pod{Spec: scheduled, Status: waiting("ContainerCreating")}, []corev1.Event{pulling, event("Scheduled", "assigned", 0)}, "", Pulling, "vllm/vllm-openai:v0.11.0"},
		{"pull failed", corev1.Pod{Spec: scheduled, Status: waiting("ImagePullBackOff")}, []corev1.Event{pulling}, "", PullFailed, "ImagePullBackOff"},
		{"pulled, creating", corev1.Pod{Spec: scheduled, Status: waiting("ContainerCreating")}, []corev1.Event{pulled, pulling}, "", Creating, "13m52s"},
		{"no log yet", corev1.Pod{Spec: scheduled, Status: running(false)}, []corev1.Event{pulling, pulled}, "", Starting, "no start-up line"},
		{"starting", corev1.Pod{Spec: scheduled, Status: running(false)}, nil, vllmStart + "\n", Starting, "API server version"},
		{"loading", corev1.Pod{Spec: scheduled, Status: running(false)}, nil, vllmStart + "\n" + vllmLoad + "\n", LoadingModel, "Starting to load model"},
		{"warming", corev1.Pod{Spec: scheduled, Status: running(false)}, nil, vllmLoad + "\n" + vllmLoaded + "\n" + vllmGraphs, Warming, "Capturing CUDA graphs"},
		{"serving", corev1.Pod{Spec: scheduled, Status: running(false)}, nil, vllmLoad + "\n" + vllmGraphs + "\n" + vllmUp, Serving, "startup complete"},
		{"ready", corev1.Pod{Spec: scheduled, Status: running(true)}, nil, vllmUp, Ready, ""},
	} {
		got := Of(tc.pod, tc.events, tc.log)
		if got.Name != tc.want || !strings.Contains(got.Detail, tc.detail) {
			t.Errorf("%s: %v, want %s with %q", tc.name, got, tc.want, tc.detail)
		}
	}
	crash := corev1.Pod{Spec: scheduled, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 3,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}}}
	if got := Of(crash, nil, ""); got.Name != Crashing || !strings.Contains(got.String(), "3 restarts; last exit 1 (Error)") {
		t.Errorf("crash: %v", got)
	}
	if got := Of(corev1.Pod{Spec: scheduled, Status: waiting("ContainerCreating")}, []corev1.Event{pulling}, "").String(); !strings.Contains(got, "since 2026-12-03T03:17:01Z") {
		t.Errorf("the pull's start is not stated: %s", got)
	}
}

// TestRollout: Available describing the old pod right after an apply is
// not a rolled-out Deployment.
func TestRollout(t *testing.T) {
	one := int32(1)
	available := []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
	done := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: &one},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1, Conditions: available}}
	if ok, why := Rollout(done); !ok {
		t.Fatalf("a rolled-out Deployment: %s", why)
	}
	for name, mutate := range map[string]func(*appsv1.Deployment){
		"new generation not observed": func(d *appsv1.Deployment) { d.Generation = 4 },
		"replica not updated":         func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 0 },
		"old replica remains":         func(d *appsv1.Deployment) { d.Status.Replicas = 2 },
		"updated not available":       func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 0 },
		"Available false":             func(d *appsv1.Deployment) { d.Status.Conditions[0].Status = corev1.ConditionFalse },
	} {
		d := *done.DeepCopy()
		mutate(&d)
		if ok, why := Rollout(d); ok || why == "" {
			t.Errorf("%s: rolled out = %v (%q)", name, ok, why)
		}
	}
}
