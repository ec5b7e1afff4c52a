package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a real `lienthong` child process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	base   string // http://host:port
	broker string // embedded broker address, when it runs one
	mu     sync.Mutex
	lines  []string
	exited chan struct{}
}

// startProc runs `lienthong serve --config cfgPath extra...` and waits until
// it is ready.
func startProc(t testing.TB, cfgPath string, extra ...string) *proc {
	t.Helper()
	p := launch(t, cfgPath, extra...)
	p.waitReady()
	return p
}

// launch runs `lienthong serve --config cfgPath extra...` and waits until it
// serves HTTP (ready or not).
func launch(t testing.TB, cfgPath string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--config", cfgPath}, extra...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, exited: make(chan struct{})}
	addrs := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil {
				switch rec["msg"] {
				case "embedded Kafka broker started":
					p.broker, _ = rec["addr"].(string)
				case "lienthong serving":
					a, _ := rec["addr"].(string)
					p.base = "http://" + a
					select {
					case addrs <- struct{}{}:
					default:
					}
				}
			}
			p.mu.Unlock()
		}
	}()
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	select {
	case <-addrs:
	case <-p.exited:
		t.Fatalf("lienthong exited early:\n%s", p.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("lienthong did not start:\n%s", p.output())
	}
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// Lines returns every log line so far.
func (p *proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *proc) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("not ready after 60s:\n%s", p.output())
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// term sends SIGTERM and returns how long the process took to exit.
func (p *proc) term(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return time.Since(start), true
	case <-time.After(limit):
		return time.Since(start), false
	}
}

// writeConfig writes a test config into dir and returns its path.
func writeConfig(t testing.TB, dir string, brokers []string, prefix string) string {
	t.Helper()
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(testConfig(t, filepath.Join(dir, "data"), brokers, prefix)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
