// Command labminikube is the stand-in `minikube` of the GPU workflow's
// rehearsal: built as a binary named minikube on the PATH of the workflow's
// own scripts, it answers the calls they make as Minikube does, pointing at
// the lab instead of a Minikube VM.
//
//	minikube [-p PROFILE] status | ip | update-context | version [--short]
//	minikube [-p PROFILE] addons enable ingress
//	minikube [-p PROFILE] image load IMAGE | image pull IMAGE
//	minikube [-p PROFILE] ssh -- docker run ... IMAGE ...  (the CUDA check: the lab has no GPU)
//	minikube profile list -o json
//	minikube [-p PROFILE] start ...   (refused: the lab is brought up by make rehearse)
//
// Its settings are a JSON file, $LAB_MINIKUBE_HOME/standin.json (Settings),
// written by the rehearsal; every call is appended to
// $LAB_MINIKUBE_HOME/calls.log. `addons enable ingress` starts the lab's
// stand-in controller (internal/labingress) as a background process of
// this binary (`minikube stand-in-controller`), and `minikube
// stand-in-stop` stops it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/labingress"
	"github.com/llm-platform/harness/internal/standin"
)

// Settings is standin.json, which the rehearsal writes.
type Settings = standin.Settings

func main() {
	code, err := run(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "❌ ", err)
	}
	os.Exit(code)
}

// Minikube's exit codes for what the workflow can meet (minikube's
// pkg/minikube/reason: 85 profile not found, 7 a stopped host in status).
const (
	exitProfileNotFound = 85
	exitUsage           = 64
)

func home() string {
	if h := os.Getenv(standin.HomeVariable); h != "" {
		return h
	}
	return filepath.Join(os.TempDir(), "lab-minikube")
}

func load() (Settings, error) { return standin.Load(home()) }

// parse takes -p/--profile out of args, wherever it is.
func parse(args []string) (profile string, rest []string) {
	profile = "minikube"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-p" || a == "--profile") && i+1 < len(args):
			profile = args[i+1]
			i++
		case strings.HasPrefix(a, "--profile="):
			profile = strings.TrimPrefix(a, "--profile=")
		case strings.HasPrefix(a, "-p="):
			profile = strings.TrimPrefix(a, "-p=")
		default:
			rest = append(rest, a)
		}
	}
	return profile, rest
}

func record(args []string) {
	_ = os.MkdirAll(home(), 0o755)
	f, err := os.OpenFile(filepath.Join(home(), "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(f, "minikube %s\n", strings.Join(args, " "))
		f.Close()
	}
}

func run(args []string, out io.Writer) (int, error) {
	profile, rest := parse(args)
	if len(rest) > 0 && rest[0] == "stand-in-controller" {
		return controller()
	}
	record(args)
	s, err := load()
	if err != nil {
		return 1, err
	}
	if len(rest) == 0 {
		return exitUsage, errors.New("stand-in minikube: no command")
	}
	if rest[0] == "version" {
		if slices.Contains(rest, "--short") {
			fmt.Fprintln(out, s.Version)
		} else {
			fmt.Fprintf(out, "minikube version: %s\ncommit: stand-in (the lab)\n", s.Version)
		}
		return 0, nil
	}
	if rest[0] == "profile" {
		if len(rest) < 2 || rest[1] != "list" {
			return exitUsage, fmt.Errorf("stand-in minikube: profile %v: only `profile list` is answered", rest[1:])
		}
		return 0, profileList(out, s)
	}
	if profile != s.Profile {
		return exitProfileNotFound, fmt.Errorf("Profile %q not found. Run \"minikube profile list\" to view all profiles.", profile)
	}
	switch rest[0] {
	case "status":
		fmt.Fprintf(out, "%s\ntype: Control Plane\nhost: Running\nkubelet: Running\napiserver: Running\nkubeconfig: Configured\n\n", profile)
		return 0, nil
	case "ip":
		fmt.Fprintln(out, s.IP)
		return 0, nil
	case "update-context":
		return updateContext(out, s)
	case "addons":
		if len(rest) == 3 && rest[1] == "enable" && rest[2] == "ingress" {
			return enableIngress(out, s)
		}
		return exitUsage, fmt.Errorf("stand-in minikube: addons %v: only `addons enable ingress` is answered", rest[1:])
	case "image":
		if len(rest) == 3 && (rest[1] == "load" || rest[1] == "pull") {
			if !slices.Contains(s.Images, rest[2]) {
				return 1, fmt.Errorf("stand-in minikube: image %s %s: not among the lab's images %v (no registry here)", rest[1], rest[2], s.Images)
			}
			fmt.Fprintf(out, "%s: present on the node\n", rest[2])
			return 0, nil
		}
		return exitUsage, fmt.Errorf("stand-in minikube: image %v: only `image load IMAGE` and `image pull IMAGE` are answered", rest[1:])
	case "ssh":
		return ssh(out, s, rest[1:])
	case "stand-in-stop":
		return stop()
	case "start":
		return 1, fmt.Errorf("stand-in minikube: start %s: the stand-in starts no cluster (make rehearse brings the lab up first; status should have said it runs)", strings.Join(rest[1:], " "))
	}
	return exitUsage, fmt.Errorf("stand-in minikube: %s: not a call the workflow makes", rest[0])
}

// ssh answers the one command the workflow runs in the node: the CUDA
// check, `docker run --gpus all ... IMAGE python3 -c ...`. The lab has no
// GPU and no docker: the stand-in says so in its answer and succeeds for an
// image the node has, and fails as docker would for one it lacks. The real
// check runs on the GPU box only.
func ssh(out io.Writer, s Settings, args []string) (int, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) < 2 || args[0] != "docker" || args[1] != "run" {
		return exitUsage, fmt.Errorf("stand-in minikube: ssh %v: only the CUDA check (docker run) is answered", args)
	}
	for _, a := range args[2:] {
		if slices.Contains(s.Images, a) {
			fmt.Fprintf(out, "cuda available: not checked (stand-in minikube: the lab has no GPU; %s is on the node)\n", a)
			return 0, nil
		}
	}
	return 125, fmt.Errorf("docker: Error response from daemon: pull access denied for the image in %v (stand-in minikube: not among the lab's images %v)", args, s.Images)
}

// profileList is `minikube profile list -o json`'s shape, the fields a
// script reads.
func profileList(out io.Writer, s Settings) error {
	type kc struct {
		KubernetesVersion string
	}
	type cfg struct {
		Name             string
		KubernetesConfig kc
	}
	type profile struct {
		Name   string
		Status string
		Config cfg
	}
	return json.NewEncoder(out).Encode(map[string][]profile{
		"invalid": {},
		"valid":   {{Name: s.Profile, Status: "OK", Config: cfg{Name: s.Profile, KubernetesConfig: kc{KubernetesVersion: s.KubernetesVersion}}}},
	})
}

// updateContext writes the lab's cluster into the kubeconfig kubectl uses
// ($KUBECONFIG's first file, else ~/.kube/config) as context PROFILE, and
// makes it current, as Minikube does for its profile.
func updateContext(out io.Writer, s Settings) (int, error) {
	lab, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		return 1, fmt.Errorf("stand-in minikube: the lab's kubeconfig: %w", err)
	}
	cur := lab.Contexts[lab.CurrentContext]
	if cur == nil {
		return 1, fmt.Errorf("stand-in minikube: the lab's kubeconfig %s has no current context", s.Kubeconfig)
	}
	path := clientcmd.RecommendedHomeFile
	if k := os.Getenv("KUBECONFIG"); k != "" {
		path = filepath.SplitList(k)[0]
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		if !os.IsNotExist(err) {
			return 1, fmt.Errorf("stand-in minikube: %s: %w", path, err)
		}
		cfg = clientcmdapi.NewConfig()
	}
	cfg.Clusters[s.Profile] = lab.Clusters[cur.Cluster]
	cfg.AuthInfos[s.Profile] = lab.AuthInfos[cur.AuthInfo]
	cfg.Contexts[s.Profile] = &clientcmdapi.Context{Cluster: s.Profile, AuthInfo: s.Profile, Namespace: "default"}
	cfg.CurrentContext = s.Profile
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 1, err
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return 1, fmt.Errorf("stand-in minikube: %w", err)
	}
	fmt.Fprintf(out, "🎉  %q context has been updated to point to %s\n", s.Profile, lab.Clusters[cur.Cluster].Server)
	return 0, nil
}

func controllerDir() string { return filepath.Join(home(), "ingress-controller") }

// enableIngress starts the stand-in controller once, puts its pod in
// ingress-nginx and waits until both serve, as `addons enable ingress`
// waits for the controller.
func enableIngress(out io.Writer, s Settings) (int, error) {
	dir := controllerDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 1, err
	}
	if !alive(dir) {
		self, err := os.Executable()
		if err != nil {
			return 1, err
		}
		logf, err := os.Create(filepath.Join(dir, "controller.out"))
		if err != nil {
			return 1, err
		}
		cmd := exec.Command(self, "stand-in-controller")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return 1, fmt.Errorf("stand-in minikube: the controller: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "controller.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			return 1, err
		}
		_ = cmd.Process.Release()
		logf.Close()
	}
	cs, err := client(s)
	if err != nil {
		return 1, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := labingress.DeployPod(ctx, cs, dir); err != nil {
		return 1, err
	}
	if err := labingress.WaitPod(ctx, cs, 2*time.Minute); err != nil {
		return 1, err
	}
	// Ready when nginx answers, as the addon waits for its controller.
	for {
		conn, err := net.DialTimeout("tcp", s.IP+":80", time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if ctx.Err() != nil {
			return 1, fmt.Errorf("stand-in minikube: the controller's nginx does not answer on %s:80 (its log: %s)", s.IP, filepath.Join(dir, "controller.out"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintln(out, "🌟  The 'ingress' addon is enabled")
	return 0, nil
}

func client(s Settings) (*kubernetes.Clientset, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("stand-in minikube: %w", err)
	}
	return kubernetes.NewForConfig(rc)
}

func pid(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "controller.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func alive(dir string) bool {
	p := pid(dir)
	return p > 0 && syscall.Kill(p, 0) == nil
}

// controller runs the stand-in controller in the foreground.
func controller() (int, error) {
	s, err := load()
	if err != nil {
		return 1, err
	}
	cs, err := client(s)
	if err != nil {
		return 1, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// The controller's admission webhook, as ingress-nginx's: a second
	// Ingress for a host and path already taken is refused.
	kc, err := cluster.Open(ctx, cluster.Config{Kind: cluster.Existing, Kubeconfig: s.Kubeconfig})
	if err != nil {
		return 1, err
	}
	unregister, err := labingress.StartAdmission(ctx, kc)
	if err != nil {
		return 1, err
	}
	defer func() { _ = unregister(context.Background()) }()
	c := &labingress.Controller{Client: cs, Listen: s.IP + ":80", Dir: controllerDir(),
		Logf: func(f string, a ...any) {
			fmt.Printf("%s "+f+"\n", append([]any{time.Now().Format(time.RFC3339)}, a...)...)
		}}
	return 0, c.Run(ctx)
}

// stop ends the stand-in controller and waits for it (nginx with it).
func stop() (int, error) {
	dir := controllerDir()
	p := pid(dir)
	if p <= 0 || !alive(dir) {
		return 0, nil
	}
	_ = syscall.Kill(p, syscall.SIGTERM)
	for i := 0; i < 100 && alive(dir); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(dir) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return 0, os.Remove(filepath.Join(dir, "controller.pid"))
}
