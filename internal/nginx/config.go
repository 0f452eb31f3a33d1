// Package ingress is the lab's ingress data plane: an NGINX configuration
// rendered from a Kubernetes Ingress object the way the NGINX Ingress
// Controller renders it (host rules, paths, and the proxy annotations the
// platform sets: read and send timeouts, buffering, body size), served by a
// real nginx process on loopback. Changing an annotation in manifests/
// changes the lab's behaviour, so the team's lessons (long generations need
// longer proxy timeouts; stalls were client aborts, logged as 499) can be
// proven and guarded.
//
// It renders only what the platform uses; it is not an ingress controller.
package nginx

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// The annotations mapped, with the NGINX Ingress Controller's defaults for
// when they are absent (its ConfigMap defaults).
const (
	AnnotationReadTimeout      = "nginx.ingress.kubernetes.io/proxy-read-timeout"
	AnnotationSendTimeout      = "nginx.ingress.kubernetes.io/proxy-send-timeout"
	AnnotationBuffering        = "nginx.ingress.kubernetes.io/proxy-buffering"
	AnnotationRequestBuffering = "nginx.ingress.kubernetes.io/proxy-request-buffering"
	AnnotationBodySize         = "nginx.ingress.kubernetes.io/proxy-body-size"

	DefaultTimeout  = 60 * time.Second
	DefaultBodySize = "1m"
)

// Location is one host and path to one backend.
type Location struct {
	Host     string
	Path     string
	Exact    bool   // pathType Exact; otherwise a prefix
	Backend  string // host:port
	Settings Settings
}

// Settings are a route's proxy settings.
type Settings struct {
	ReadTimeout, SendTimeout time.Duration
	Buffering                bool
	RequestBuffering         bool
	BodySize                 string
	// IgnoreClientAbort keeps the upstream request going when the client
	// leaves (nginx's proxy_ignore_client_abort). The controller never sets
	// it; tests use it to show what the 499 lesson guards against.
	IgnoreClientAbort bool
}

// Config is a whole nginx configuration.
type Config struct {
	Listen string // host:port
	Routes []Location
	// TLS, when set, serves https on Listen with this certificate, as the
	// controller does for an Ingress with a tls section.
	TLS *TLSFiles
}

// TLSFiles are a PEM certificate (chain) and its key.
type TLSFiles struct {
	Cert, Key string
}

var sizeRE = regexp.MustCompile(`^([0-9]+)([kKmMgG])?$`)

// SizeBytes parses an nginx size ("8m": client_max_body_size's form) into
// bytes.
func SizeBytes(v string) (int, error) {
	m := sizeRE.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("%q: want a number and an optional k, m or g (e.g. 8m)", v)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("%q: %w", v, err)
	}
	unit := map[string]int{"": 1, "k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30}[m[2]]
	return n * unit, nil
}

// settings reads the annotations, naming a malformed one.
func settings(ann map[string]string) (Settings, error) {
	s := Settings{ReadTimeout: DefaultTimeout, SendTimeout: DefaultTimeout, Buffering: false, RequestBuffering: true, BodySize: DefaultBodySize}
	secs := func(key string, dst *time.Duration) error {
		v, ok := ann[key]
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return fmt.Errorf("ingress: annotation %s: %q: want whole seconds > 0", key, v)
		}
		*dst = time.Duration(n) * time.Second
		return nil
	}
	onOff := func(key string, dst *bool) error {
		v, ok := ann[key]
		if !ok {
			return nil
		}
		switch v {
		case "on":
			*dst = true
		case "off":
			*dst = false
		default:
			return fmt.Errorf("ingress: annotation %s: %q: want on or off", key, v)
		}
		return nil
	}
	for _, err := range []error{
		secs(AnnotationReadTimeout, &s.ReadTimeout), secs(AnnotationSendTimeout, &s.SendTimeout),
		onOff(AnnotationBuffering, &s.Buffering), onOff(AnnotationRequestBuffering, &s.RequestBuffering),
	} {
		if err != nil {
			return s, err
		}
	}
	if v, ok := ann[AnnotationBodySize]; ok {
		if _, err := SizeBytes(v); err != nil {
			return s, fmt.Errorf("ingress: annotation %s: %q: want a size such as 8m", AnnotationBodySize, v)
		}
		s.BodySize = v
	}
	return s, nil
}

// Resolver maps an Ingress backend (Service name and port) to the address
// that stands in for its pods.
type Resolver func(service string, port networkingv1.ServiceBackendPort) (string, error)

// FromIngress renders the routes of an Ingress of class nginx.
func FromIngress(ing *networkingv1.Ingress, listen string, resolve Resolver) (Config, error) {
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		return Config{}, fmt.Errorf("ingress: %s: ingressClassName is not nginx", ing.Name)
	}
	s, err := settings(ing.Annotations)
	if err != nil {
		return Config{}, err
	}
	c := Config{Listen: listen}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service == nil {
				return Config{}, fmt.Errorf("ingress: %s: host %s path %s: only Service backends are supported", ing.Name, rule.Host, p.Path)
			}
			addr, err := resolve(p.Backend.Service.Name, p.Backend.Service.Port)
			if err != nil {
				return Config{}, err
			}
			c.Routes = append(c.Routes, Location{
				Host: rule.Host, Path: p.Path, Exact: p.PathType != nil && *p.PathType == networkingv1.PathTypeExact,
				Backend: addr, Settings: s,
			})
		}
	}
	if len(c.Routes) == 0 {
		return Config{}, fmt.Errorf("ingress: %s: no HTTP route", ing.Name)
	}
	return c, nil
}

// LogFormat is the access log's format: status and timings first, so a
// 499 and the time the client gave up can be read off each line.
const LogFormat = `$status $request_time $upstream_status $upstream_response_time $host "$request" $body_bytes_sent "$http_user_agent"`

// ControllerLogFormat is ingress-nginx's default access-log format
// (log-format-upstream, "upstreaminfo"), which its controller pod writes to
// its log. nginx writes it too, to controller.log beside access.log, so the
// parser that reads a real controller's log (ParseControllerLog) is tested
// on nginx's own lines, and a stand-in controller can serve them as a pod's
// log.
const ControllerLogFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_host] [] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $request_id`

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// NginxTime writes d as an nginx time: whole seconds, or milliseconds
// where d is not ("500ms", which NGF's policies allow).
func NginxTime(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// Render writes nginx.conf for prefix (the folder holding logs, pid and
// temporary files).
func (c Config) Render(prefix string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Rendered by the harness from an Ingress object (package ingress).
worker_processes 1;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 1024; }
http {
  log_format harness '%[2]s';
  log_format upstreaminfo '%[3]s';
  access_log %[1]s/access.log harness;
  access_log %[1]s/controller.log upstreaminfo;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
`, prefix, LogFormat, ControllerLogFormat)
	listen := c.Listen
	if c.TLS != nil {
		listen += " ssl"
		fmt.Fprintf(&b, "  ssl_certificate %s;\n  ssl_certificate_key %s;\n", c.TLS.Cert, c.TLS.Key)
	}
	fmt.Fprintf(&b, `  # Like the controller's default backend: an unknown host gets 404.
  server {
    listen %s default_server;
    location / { return 404; }
  }
`, listen)
	hosts := map[string][]Location{}
	for _, r := range c.Routes {
		hosts[r.Host] = append(hosts[r.Host], r)
	}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		routes := hosts[h]
		fmt.Fprintf(&b, "  server {\n    listen %s;\n    server_name %s;\n    client_max_body_size %s;\n", listen, h, routes[0].Settings.BodySize)
		for _, r := range routes {
			loc := r.Path
			if r.Exact {
				loc = "= " + r.Path
			}
			s := r.Settings
			fmt.Fprintf(&b, `    location %s {
      proxy_pass http://%s;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_connect_timeout 5s;
      proxy_read_timeout %s;
      proxy_send_timeout %s;
      proxy_buffering %s;
      proxy_request_buffering %s;
      proxy_ignore_client_abort %s;
    }
`, loc, r.Backend, NginxTime(s.ReadTimeout), NginxTime(s.SendTimeout), onOffWord(s.Buffering), onOffWord(s.RequestBuffering), onOffWord(s.IgnoreClientAbort))
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}
