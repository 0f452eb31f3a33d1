package ingress

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StartTimeout bounds nginx's start-up.
const StartTimeout = 10 * time.Second

// ErrNoNginx means no nginx program was found.
var ErrNoNginx = errors.New("ingress: nginx not found (Debian: apt-get install -y nginx-light; make test installs it as root)")

// Nginx is a running nginx serving a Config.
type Nginx struct {
	// URL is the listen address as a base URL, e.g. http://127.0.0.1:8443.
	URL    string
	Prefix string // holds nginx.conf, the logs and temporary files
	cmd    *exec.Cmd
	done   chan error
}

// FreeAddr returns a free loopback address.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start writes c under prefix and runs nginx in the foreground until Stop.
func Start(c Config, prefix string) (*Nginx, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return nil, ErrNoNginx
		}
		bin = "/usr/sbin/nginx"
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, c.Render(prefix), 0o644); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	var out bytes.Buffer
	if t := exec.Command(bin, "-t", "-p", prefix, "-c", conf); true {
		t.Stdout, t.Stderr = &out, &out
		if err := t.Run(); err != nil {
			return nil, fmt.Errorf("ingress: nginx -t: %w: %s", err, out.String())
		}
	}
	cmd := exec.Command(bin, "-p", prefix, "-c", conf, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ingress: start nginx: %w", err)
	}
	scheme := "http://"
	if c.TLS != nil {
		scheme = "https://"
	}
	n := &Nginx{URL: scheme + c.Listen, Prefix: prefix, cmd: cmd, done: make(chan error, 1)}
	go func() { n.done <- cmd.Wait() }()
	deadline := time.Now().Add(StartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", c.Listen, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return n, nil
		}
		select {
		case err := <-n.done:
			return nil, fmt.Errorf("ingress: nginx exited: %v: %s", err, out.String())
		case <-time.After(20 * time.Millisecond): // polling a port that is coming up
		}
		if time.Now().After(deadline) {
			_ = n.Stop()
			return nil, fmt.Errorf("ingress: nginx not listening on %s within %v", c.Listen, StartTimeout)
		}
	}
}

// Stop ends nginx (a quick shutdown, then a kill after a few seconds).
func (n *Nginx) Stop() error {
	_ = n.cmd.Process.Signal(os.Interrupt) // SIGINT: nginx's fast shutdown
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	return nil
}

// AccessLog is the path of the access log.
func (n *Nginx) AccessLog() string { return filepath.Join(n.Prefix, "access.log") }

// LogEntry is one access-log line.
type LogEntry struct {
	Status      int
	RequestTime time.Duration
	Host        string
	Request     string
}

// ReadAccessLog parses the access log written in LogFormat.
func ReadAccessLog(path string) ([]LogEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	defer f.Close()
	var out []LogEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) < 6 {
			continue
		}
		status, err := strconv.Atoi(fields[0])
		if err != nil {
			continue
		}
		secs, _ := strconv.ParseFloat(fields[1], 64)
		req := ""
		if i, j := strings.IndexByte(line, '"'), strings.LastIndexByte(line, '"'); i >= 0 && j > i {
			req = line[i+1 : j]
		}
		out = append(out, LogEntry{Status: status, RequestTime: time.Duration(secs * float64(time.Second)), Host: fields[4], Request: req})
	}
	return out, sc.Err()
}

// WaitForLog polls the access log until it has at least n entries.
func WaitForLog(ctx context.Context, path string, n int) ([]LogEntry, error) {
	for {
		entries, err := ReadAccessLog(path)
		if err == nil && len(entries) >= n {
			return entries, nil
		}
		select {
		case <-ctx.Done():
			return entries, fmt.Errorf("ingress: access log has %d entries, want %d: %w", len(entries), n, ctx.Err())
		case <-time.After(50 * time.Millisecond): // nginx writes the line when the request ends
		}
	}
}
