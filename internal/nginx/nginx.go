package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// AccessLog is the path of the access log, in LogFormat.
func (n *Nginx) AccessLog() string { return filepath.Join(n.Prefix, "access.log") }

// ControllerLog is the path of the same lines in ControllerLogFormat.
func (n *Nginx) ControllerLog() string { return filepath.Join(n.Prefix, "controller.log") }

// LogEntry is one access-log line.
type LogEntry struct {
	Status      int
	RequestTime time.Duration // 0 where the format has none
	Host        string        // "" where the format has none
	Request     string
	UserAgent   string
}

// AccessLog is where nginx's access lines are read: the lab's own file, or
// a controller's log (a pod's, read through the API server).
type AccessLog interface {
	Entries(ctx context.Context) ([]LogEntry, error)
	String() string
}

// LogFile is an access log in LogFormat.
type LogFile string

func (f LogFile) String() string { return string(f) }

// Entries reads and parses the file.
func (f LogFile) Entries(context.Context) ([]LogEntry, error) {
	return readLog(string(f), parseHarnessLine)
}

// ControllerLogFile is a file of ControllerLogFormat lines, among others.
type ControllerLogFile string

func (f ControllerLogFile) String() string { return string(f) }

// Entries reads and parses the file.
func (f ControllerLogFile) Entries(context.Context) ([]LogEntry, error) {
	return readLog(string(f), parseControllerLine)
}

func readLog(path string, parse func(string) (LogEntry, bool)) ([]LogEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	return parseLines(b, parse), nil
}

// parseLines parses each line parse recognises and skips the rest.
func parseLines(b []byte, parse func(string) (LogEntry, bool)) []LogEntry {
	var out []LogEntry
	for _, line := range strings.Split(string(b), "\n") {
		if e, ok := parse(line); ok {
			out = append(out, e)
		}
	}
	return out
}

// harnessLine matches a LogFormat line (lines written before the user
// agent joined the format match too).
var harnessLine = regexp.MustCompile(`^(\d{3}) ([0-9.]+) \S+ \S+ (\S+) "([^"]*)" \S+(?: "([^"]*)")?`)

func parseHarnessLine(line string) (LogEntry, bool) {
	m := harnessLine.FindStringSubmatch(line)
	if m == nil {
		return LogEntry{}, false
	}
	status, _ := strconv.Atoi(m[1])
	return LogEntry{Status: status, RequestTime: seconds(m[2]), Host: m[3], Request: m[4], UserAgent: m[5]}, true
}

func seconds(s string) time.Duration {
	secs, _ := strconv.ParseFloat(s, 64)
	return time.Duration(secs * float64(time.Second))
}

// controllerLine matches nginx's combined format and the formats that
// extend it: ingress-nginx's upstreaminfo (request length and request time
// after the user agent) and NGINX Gateway Fabric's (x-forwarded-for).
var controllerLine = regexp.MustCompile(`\] "([^"]*)" (\d{3}) (?:\d+|-) "[^"]*" "([^"]*)"(?: (\d+) ([0-9.]+))?`)

// ParseControllerLog parses the access lines of a controller's log and
// skips the rest (a controller pod logs its own diagnostics beside them).
func ParseControllerLog(b []byte) []LogEntry { return parseLines(b, parseControllerLine) }

func parseControllerLine(line string) (LogEntry, bool) {
	m := controllerLine.FindStringSubmatch(line)
	if m == nil {
		return LogEntry{}, false
	}
	status, _ := strconv.Atoi(m[2])
	return LogEntry{Status: status, Request: m[1], UserAgent: m[3], RequestTime: seconds(m[5])}, true
}

// WaitForEntry polls the access log until an entry satisfies match. A
// controller's log may lag the request by a second or more (a pod's log
// goes through the kubelet), so a line is found by what it says, never by
// its position.
func WaitForEntry(ctx context.Context, log AccessLog, match func(LogEntry) bool) (LogEntry, error) {
	for {
		entries, err := log.Entries(ctx)
		for i := len(entries) - 1; i >= 0; i-- {
			if match(entries[i]) {
				return entries[i], nil
			}
		}
		select {
		case <-ctx.Done():
			return LogEntry{}, fmt.Errorf("ingress: %s: no such line among %d entries: %w (last error: %v)", log, len(entries), ctx.Err(), err)
		case <-time.After(50 * time.Millisecond): // nginx writes the line when the request ends
		}
	}
}
