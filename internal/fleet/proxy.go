package fleet

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/llm-platform/harness/internal/worker"
)

// proxy is the worker.Transport through the API server's pod proxy
// (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH): the harness needs
// only its kubeconfig, and no pod needs to reach it.
type proxy struct {
	cs kubernetes.Interface
	ns string
}

// Call implements worker.Transport.
func (p proxy) Call(ctx context.Context, pod, method, path string, body []byte) (int, []byte, error) {
	req := p.cs.CoreV1().RESTClient().Verb(method).Namespace(p.ns).Resource("pods").
		Name(fmt.Sprintf("%s:%d", pod, worker.Port)).SubResource("proxy").Suffix(path)
	if body != nil {
		req = req.Body(body).SetHeader("Content-Type", "application/json")
	}
	res := req.Do(ctx)
	var code int
	res.StatusCode(&code)
	raw, err := res.Raw()
	if code != 0 {
		return code, raw, nil // the worker's answer, whatever its status
	}
	return 0, nil, err
}

func intstrOf(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }
