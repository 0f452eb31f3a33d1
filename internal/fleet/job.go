package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/llm-platform/harness/internal/worker"
)

// Setup is a fleet's settings (PERF_WORKER_*; the README lists them).
type Setup struct {
	// Workers is the number of worker pods (PERF_WORKERS).
	Workers int
	// Kubeconfig is the cluster's kubeconfig (PERF_KUBECONFIG); empty:
	// client-go's usual rules (KUBECONFIG, else ~/.kube/config).
	Kubeconfig string
	// Namespace, Image, NodeSelector: where and what the workers run.
	Namespace    string
	Image        string
	NodeSelector map[string]string
	// CPURequest and CPULimit: the workers' CPU (empty: unset).
	CPURequest, CPULimit string
	// Target is the server as the workers reach it.
	Target worker.Reach
	// StartTimeout bounds the wait for the pods to be ready; a pod not
	// ready by then never joins, and its share is lost in every cell.
	StartTimeout time.Duration
	// MaxClockBound flags a worker whose clock offset is bounded more
	// loosely than this.
	MaxClockBound time.Duration
	// CellTimeout bounds a cell the sweep has no estimate for.
	CellTimeout time.Duration
}

// The workers' labels and settings.
const (
	labelApp = "app.kubernetes.io/name"
	appName  = "llm-harness-worker"
	labelRun = "llm-harness/run"
	// indexAnnotation is the Job controller's completion index of a pod.
	indexAnnotation = "batch.kubernetes.io/job-completion-index"
	// idleExit: a worker that hears nothing for this long exits 0, which
	// ends the Job of a harness that was killed; heartbeat keeps it alive
	// while the harness lives.
	idleExit  = 2 * time.Minute
	heartbeat = 30 * time.Second
	// ttlAfterFinished deletes the finished Job (and its pods).
	ttlAfterFinished = 60
	// activeDeadline ends a Job that outlived any sweep.
	activeDeadline = 48 * 3600
	// resync is how old a clock reading may be before a cell re-reads it.
	resync = time.Minute
	// clockSamples is how many round trips a clock reading takes.
	clockSamples = 8
)

// Fleet is the workers of one run: an Indexed Job the harness created,
// whose pods take the sweep's cells one after another. It is a
// measurement.Driver (through its Coordinator) and the Coordinator's Pods.
type Fleet struct {
	*Coordinator
	cs   kubernetes.Interface
	ns   string
	job  string
	opts Setup

	mu      sync.Mutex
	members map[string]Member // by pod UID: the ready pods of the last look
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

// Open creates the workers' Job and waits for its pods (Setup.StartTimeout;
// at least one must be ready). On an error the Job is deleted again.
func Open(ctx context.Context, o Setup) (f *Fleet, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("fleet: kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 100, 200 // a cell polls every worker through the API server
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f = &Fleet{cs: cs, ns: o.Namespace, opts: o, members: map[string]Member{}, stop: make(chan struct{}), done: make(chan struct{})}
	f.Coordinator = &Coordinator{Client: worker.Caller{T: proxy{cs: cs, ns: o.Namespace}}, Pods: f, Workers: o.Workers, Target: o.Target,
		MaxClockBound: o.MaxClockBound, Poll: 250 * time.Millisecond, Unreachable: 15 * time.Second, DefaultDeadline: o.CellTimeout}
	job, err := f.jobSpec()
	if err != nil {
		return nil, err
	}
	made, err := cs.BatchV1().Jobs(o.Namespace).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("fleet: creating the workers' Job in %s: %w", o.Namespace, err)
	}
	f.job = made.Name
	defer func() {
		if err != nil {
			f.delete()
		}
	}()
	if err := f.awaitReady(ctx); err != nil {
		return nil, err
	}
	go f.beat()
	return f, nil
}

// Job is the workers' Job's name.
func (f *Fleet) Job() string { return f.job }

// jobSpec is the workers' Indexed Job: one pod per index, none replaced
// (backoffLimitPerIndex 0: a replacement could not join a running cell,
// and a cell's shares are fixed when it starts), deleted a minute after it
// finishes.
func (f *Fleet) jobSpec() (*batchv1.Job, error) {
	o := f.opts
	n := int32(o.Workers)
	res := corev1.ResourceRequirements{}
	for name, q := range map[string]string{"request": o.CPURequest, "limit": o.CPULimit} {
		if q == "" {
			continue
		}
		v, err := resource.ParseQuantity(q)
		if err != nil {
			return nil, fmt.Errorf("fleet: PERF_WORKER_CPU: %s %q: %w", name, q, err)
		}
		if name == "request" {
			res.Requests = corev1.ResourceList{corev1.ResourceCPU: v}
		} else {
			res.Limits = corev1.ResourceList{corev1.ResourceCPU: v}
		}
	}
	env := []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "GOGC", Value: "400"}} // fewer collections: a worker's heap is small and short-lived
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	labels := map[string]string{labelApp: appName, labelRun: run}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/clock", Port: intstrOf(worker.Port)}},
		PeriodSeconds: 1, FailureThreshold: 3}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "llm-harness-workers-", Namespace: f.ns, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode: ptr.To(batchv1.IndexedCompletion), Completions: &n, Parallelism: &n,
			BackoffLimitPerIndex: ptr.To(int32(0)), MaxFailedIndexes: &n,
			TTLSecondsAfterFinished: ptr.To(int32(ttlAfterFinished)), ActiveDeadlineSeconds: ptr.To(int64(activeDeadline)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, NodeSelector: o.NodeSelector,
					TerminationGracePeriodSeconds: ptr.To(int64(5)), EnableServiceLinks: ptr.To(false),
					AutomountServiceAccountToken: ptr.To(false),
					Containers: []corev1.Container{{
						Name: "worker", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Args:           []string{"worker", "-listen", fmt.Sprintf(":%d", worker.Port), "-idle-exit", idleExit.String(), "-name", "$(POD_NAME)"},
						Env:            env,
						Ports:          []corev1.ContainerPort{{Name: "worker", ContainerPort: worker.Port}},
						ReadinessProbe: probe, Resources: res,
					}},
				},
			},
		},
	}, nil
}

// awaitReady waits for the pods to be ready: all of them, or at least one
// once StartTimeout has passed.
func (f *Fleet) awaitReady(ctx context.Context) error {
	end := time.Now().Add(f.opts.StartTimeout)
	for {
		ms, err := f.Members(ctx)
		if err != nil {
			return err
		}
		if len(ms) == f.opts.Workers || time.Now().After(end) && len(ms) > 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("fleet: no worker of Job %s/%s was ready within %v (PERF_WORKER_START_TIMEOUT): %s", f.ns, f.job, f.opts.StartTimeout, f.podStates(ctx))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// pods are the Job's pods.
func (f *Fleet) pods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := f.cs.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + f.job})
	if err != nil {
		return nil, fmt.Errorf("fleet: listing the workers: %w", err)
	}
	return l.Items, nil
}

// podStates says what the Job's pods are doing (for a start that failed).
func (f *Fleet) podStates(ctx context.Context) string {
	ps, err := f.pods(ctx)
	if err != nil {
		return err.Error()
	}
	if len(ps) == 0 {
		return "no pod was created (the namespace's quota, or the Job controller)"
	}
	s := ""
	for _, p := range ps {
		s += fmt.Sprintf("%s %s %s; ", p.Name, p.Status.Phase, waiting(p))
	}
	return s
}

// Members implements Pods: the ready pods by index, each with a clock
// reading no older than resync (a new pod's is taken now).
func (f *Fleet) Members(ctx context.Context) (map[int]Member, error) {
	ps, err := f.pods(ctx)
	if err != nil {
		return nil, err
	}
	out, seen := map[int]Member{}, map[string]Member{}
	for _, p := range ps {
		idx, err := strconv.Atoi(p.Annotations[indexAnnotation])
		if err != nil || !ready(p) {
			continue
		}
		f.mu.Lock()
		m, ok := f.members[string(p.UID)]
		f.mu.Unlock()
		if !ok || time.Since(m.synced) > resync {
			m = Member{Index: idx, Pod: p.Name, UID: string(p.UID), Node: p.Spec.NodeName}
			m.Clock, m.Unsynced = f.Client.SyncClock(ctx, p.Name, clockSamples)
			m.synced = time.Now()
		}
		out[idx], seen[string(p.UID)] = m, m
	}
	f.mu.Lock()
	f.members = seen
	f.mu.Unlock()
	return out, nil
}

// Gone implements Pods: why m's pod can no longer serve.
func (f *Fleet) Gone(ctx context.Context, m Member) string {
	p, err := f.cs.CoreV1().Pods(f.ns).Get(ctx, m.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || err == nil && string(p.UID) != m.UID:
		return "pod deleted"
	case err != nil:
		return ""
	case p.DeletionTimestamp != nil:
		return "pod deleted"
	case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
		why := string(p.Status.Phase)
		if p.Status.Reason != "" {
			why += ": " + p.Status.Reason // Evicted, DeadlineExceeded
		}
		for _, c := range p.Status.ContainerStatuses {
			if t := c.State.Terminated; t != nil {
				why += fmt.Sprintf(" (exit %d, %s)", t.ExitCode, t.Reason) // OOMKilled
			}
		}
		return "pod " + why
	}
	return ""
}

// beat keeps the workers from their idle exit while the harness lives.
func (f *Fleet) beat() {
	defer close(f.done)
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.mu.Lock()
			ms := slicesOf(f.members)
			f.mu.Unlock()
			for _, m := range ms {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, _ = f.Client.SyncClock(ctx, m.Pod, 1)
				cancel()
			}
		}
	}
}

// Close deletes the Job and its pods, and waits (up to a minute) for the
// pods to go.
func (f *Fleet) Close() error {
	f.closing.Do(func() { close(f.stop) })
	<-f.done
	return f.delete()
}

func (f *Fleet) delete() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := f.cs.BatchV1().Jobs(f.ns).Delete(ctx, f.job, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("fleet: deleting Job %s/%s: %w", f.ns, f.job, err)
	}
	for ctx.Err() == nil {
		ps, err := f.pods(ctx)
		_, jerr := f.cs.BatchV1().Jobs(f.ns).Get(ctx, f.job, metav1.GetOptions{})
		if err == nil && len(ps) == 0 && apierrors.IsNotFound(jerr) {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.New("fleet: the workers' Job was deleted, but its pods were still there after a minute")
}

func ready(p corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waiting is why a pod's container is not running yet (ErrImagePull...).
func waiting(p corev1.Pod) string {
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			return w.Reason + " " + w.Message
		}
	}
	return ""
}

func slicesOf(m map[string]Member) []Member {
	out := make([]Member, 0, len(m))
	for v := range maps.Values(m) {
		out = append(out, v)
	}
	return out
}
