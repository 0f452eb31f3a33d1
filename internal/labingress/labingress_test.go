package labingress

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// Sync serves the cluster's Ingresses through a real nginx (the API is
// client-go's in-memory clientset; the Service resolves to a simulator),
// leaves nginx alone while nothing changed, and follows an annotation's
// change, as the controller does.
func TestSync(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			simtest.Missing(t, nginx.ErrNoNginx.Error())
		}
	}
	backend := simtest.Start(t, sim.Config{})
	host, port, _ := strings.Cut(strings.TrimPrefix(backend, "http://"), ":")
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "components", "ingress-nginx", "ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ing networkingv1.Ingress
	if err := yaml.Unmarshal(b, &ing); err != nil {
		t.Fatal(err)
	}
	ing.Namespace = "llm"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name, Namespace: "llm"},
		Spec: corev1.ServiceSpec{ClusterIP: host, Ports: []corev1.ServicePort{{Name: "http", Port: int32(atoi(t, port))}}}}
	cs := fake.NewClientset(svc, &ing)
	listen, err := nginx.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c := &Controller{Client: cs, Listen: listen, Dir: t.TempDir()}
	t.Cleanup(func() {
		if c.nginx != nil {
			_ = c.nginx.Stop()
		}
	})
	ctx := context.Background()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	target := nginx.Address{URL: "http://" + listen, Host: "llm.local", Model: sim.DefaultModel}
	if err := nginx.CheckModels(ctx, target); err != nil {
		t.Fatalf("through the stand-in: %v", err)
	}
	first := c.nginx
	if err := c.Sync(ctx); err != nil || c.nginx != first {
		t.Fatalf("nothing changed, yet nginx was restarted (%v)", err)
	}
	ing.Annotations[nginx.AnnotationReadTimeout] = "7"
	if _, err := cs.NetworkingV1().Ingresses("llm").Update(ctx, &ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil || c.nginx == first {
		t.Fatalf("the annotation changed, and nginx was not reconfigured (%v)", err)
	}
	conf, _ := os.ReadFile(filepath.Join(c.Dir, "nginx.conf"))
	if !strings.Contains(string(conf), "proxy_read_timeout 7s;") {
		t.Errorf("nginx.conf does not carry the new read timeout:\n%s", conf)
	}
	resp, err := http.Get("http://" + listen + "/v1/models") // no Host llm.local: the default backend
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown host: %d, want 404", resp.StatusCode)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
