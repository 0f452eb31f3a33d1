// Package startup says which phase of its start-up a vLLM pod is in, from
// what the API server has about it: its events (the scheduler's and the
// kubelet's: Scheduled, Pulling, Pulled, Failed, BackOff), its container's
// state, and vLLM's own log. The e2e suite puts that in its failure when
// the platform is not Available in time, so a timed-out nightly says
// "pulling the image for 14m" or "loading the weights", not only "not
// Available within 15m".
//
// vLLM's log markers are the lines its V1 engine and server write at each
// step (vllm/v1/worker/gpu_model_runner.py, vllm/model_executor/model_loader,
// uvicorn): "Starting to load model", "Loading weights took", "Model loading
// took", "Capturing CUDA graph", "Application startup complete". The first
// start downloads the weights inside the load, between the first two.
package startup

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Phase is a pod's start-up phase, with the evidence.
type Phase struct {
	// Name is one of the phases below.
	Name string
	// Since is when the phase began, by its event or log line; zero when
	// unknown.
	Since time.Time
	// Detail is the evidence: the event's message, the container's state,
	// vLLM's line.
	Detail string
}

// The phases, in order.
const (
	Unscheduled  = "not scheduled"
	Pulling      = "pulling the image"
	PullFailed   = "failing to pull the image"
	Creating     = "creating the container"
	Crashing     = "crashing"
	Starting     = "starting vLLM"
	LoadingModel = "downloading or loading the model's weights (the first start downloads them)"
	Warming      = "profiling memory and capturing CUDA graphs"
	Serving      = "serving, waiting for the readiness probe"
	Ready        = "ready"
)

// logMarkers map vLLM's lines to the phase they begin, latest first.
var logMarkers = []struct{ text, phase string }{
	{"Application startup complete", Serving},
	{"Capturing CUDA graph", Warming},
	{"Model loading took", Warming},
	{"Loading weights took", Warming},
	{"Starting to load model", LoadingModel},
}

func (p Phase) String() string {
	s := p.Name
	if !p.Since.IsZero() {
		s += fmt.Sprintf(" (since %s)", p.Since.UTC().Format(time.RFC3339))
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Of is the pod's phase from its events (any order), and its first
// container's log ("" when it has none or it cannot be read).
func Of(pod corev1.Pod, events []corev1.Event, log string) Phase {
	evs := append([]corev1.Event(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool { return eventTime(evs[i]).Before(eventTime(evs[j])) })
	last := map[string]corev1.Event{} // each reason's latest event
	for _, e := range evs {
		last[e.Reason] = e
	}
	if pod.Spec.NodeName == "" {
		if e, ok := last["FailedScheduling"]; ok {
			return Phase{Name: Unscheduled, Since: eventTime(e), Detail: e.Message}
		}
		return Phase{Name: Unscheduled}
	}
	var cs *corev1.ContainerStatus
	if len(pod.Status.ContainerStatuses) > 0 {
		cs = &pod.Status.ContainerStatuses[0]
	}
	if cs != nil && cs.State.Waiting != nil {
		w := cs.State.Waiting
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			return Phase{Name: PullFailed, Detail: strings.TrimSpace(w.Reason + " " + w.Message)}
		case "CrashLoopBackOff":
			d := fmt.Sprintf("%s, %d restarts", w.Reason, cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil {
				d += fmt.Sprintf("; last exit %d (%s)", t.ExitCode, t.Reason)
			}
			return Phase{Name: Crashing, Detail: d}
		}
		pulling, pullingOK := last["Pulling"]
		pulled, pulledOK := last["Pulled"]
		if pullingOK && (!pulledOK || eventTime(pulled).Before(eventTime(pulling))) {
			return Phase{Name: Pulling, Since: eventTime(pulling), Detail: pulling.Message}
		}
		d := w.Reason
		if pulledOK {
			d += "; " + pulled.Message
		}
		return Phase{Name: Creating, Detail: d}
	}
	if cs != nil && cs.Ready {
		return Phase{Name: Ready}
	}
	var since time.Time
	if cs != nil && cs.State.Running != nil {
		since = cs.State.Running.StartedAt.Time
	}
	lines := strings.Split(log, "\n")
	for _, m := range logMarkers {
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.Contains(lines[i], m.text) {
				return Phase{Name: m.phase, Since: since, Detail: "vLLM: " + strings.TrimSpace(lines[i])}
			}
		}
	}
	detail := "no start-up line from vLLM yet"
	if l := lastLine(lines); l != "" {
		detail = "vLLM's last line: " + l
	}
	return Phase{Name: Starting, Since: since, Detail: detail}
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 200 {
				l = l[:200] + "…"
			}
			return l
		}
	}
	return ""
}

// Rollout reports whether a Deployment's latest spec is rolled out and
// Available, as `kubectl rollout status` judges it: the controller has
// observed the latest generation, every replica is updated, no old replica
// remains, and every updated one is available. Available alone is not
// enough: right after an apply it still describes the old ReplicaSet's pod.
func Rollout(dep appsv1.Deployment) (bool, string) {
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	st := dep.Status
	switch {
	case st.ObservedGeneration < dep.Generation:
		return false, fmt.Sprintf("the controller has not observed generation %d yet (observed %d)", dep.Generation, st.ObservedGeneration)
	case st.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas still terminating", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return false, fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			if c.Status == corev1.ConditionTrue {
				return true, ""
			}
			return false, "Available is " + string(c.Status) + ": " + c.Message
		}
	}
	return false, "no Available condition yet"
}
