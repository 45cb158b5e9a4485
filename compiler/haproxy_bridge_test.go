package compiler

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// marathon08 answers /v2/tasks with text/plain the way Marathon 0.8's
// TasksResource.indexTxt does: per app and service port, the id, the port
// and host:port of every running task, each followed by a tab; an app
// without service ports gets a blank port and bare hosts.
func marathon08(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/v2/tasks" || r.Header.Get("Accept") != "text/plain" {
			http.Error(w, "want GET /v2/tasks with Accept: text/plain", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// plannedTasks are the example's running tasks where the compiler planned
// them: nginx's ten on the bulk hosts at their pinned host port, hadoop
// (no service port) on the fast hosts.
func plannedTasks() string {
	var b strings.Builder
	b.WriteString("nginx\t80\t")
	for i := range 10 {
		fmt.Fprintf(&b, "mesos01-bulk-%d.localdomain:31000\t", i)
	}
	b.WriteString("\nhadoop\t \tmesos01-fast-0.localdomain mesos01-fast-1.localdomain mesos01-fast-2.localdomain \n")
	return b.String()
}

// closedAddr is a loopback host:port nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type bridgeEnv struct {
	script, cfg, reloads string
}

func newBridge(t *testing.T, p *Plan) bridgeEnv {
	t.Helper()
	needTool(t, "bash", "bash")
	needTool(t, "curl", "curl")
	dir := t.TempDir()
	e := bridgeEnv{script: filepath.Join(dir, "haproxy-marathon-bridge"), cfg: filepath.Join(dir, "haproxy.cfg"), reloads: filepath.Join(dir, "reloads")}
	if err := os.WriteFile(e.script, planFile(t, p, "clusters/mesos01/haproxy/haproxy-marathon-bridge").Data, 0o755); err != nil {
		t.Fatal(err)
	}
	reload := filepath.Join(dir, "reload")
	if err := os.WriteFile(reload, []byte("#!/bin/sh\necho reload >>"+e.reloads+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the bridge as cron runs it: /bin/sh -c with cron's environment.
func (e bridgeEnv) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return e.runEnv(t, cronEnv, args...)
}

// cronEnv is the environment cron gives a cron.d job (cron's
// _PATH_DEFPATH), plus the bridge's test overrides.
var cronEnv = []string{"PATH=/usr/bin:/bin", "SHELL=/bin/sh", "HOME=/root", "LOGNAME=root"}

// runEnv runs the bridge with exactly env (plus its BRIDGE_* overrides) as
// /bin/sh -c runs a cron command.
func (e bridgeEnv) runEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `exec "$0" "$@"`, e.script}, args...)...)
	cmd.Env = append(slices.Clone(env), "BRIDGE_HAPROXY_CFG="+e.cfg, "BRIDGE_RELOAD="+filepath.Join(filepath.Dir(e.script), "reload"),
		"BRIDGE_CONF_DIR="+filepath.Join(filepath.Dir(e.script), "conf"), "BRIDGE_CRON_FILE="+filepath.Join(filepath.Dir(e.script), "cron"),
		"BRIDGE_SCRIPT_PATH="+filepath.Join(filepath.Dir(e.script), "installed"))
	var o, s bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &s
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the bridge hangs: %v", args)
	}
	return o.String(), s.String(), err
}

func (e bridgeEnv) reloadCount(t *testing.T) int {
	b, err := os.ReadFile(e.reloads)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "reload\n")
}

// The bridge, asked about the planned tasks, prints exactly the compiler's
// haproxy.cfg, which haproxy -c accepts, stats auth included.
func TestBridgePrintsConfig(t *testing.T) {
	bin := needTool(t, "haproxy", "haproxy")
	p := examplePlan(t)
	e := newBridge(t, p)
	srv, hits := marathon08(t, plannedTasks())
	host := strings.TrimPrefix(srv.URL, "http://")
	// The first Marathon is down: the bridge goes on to the next.
	out, stderr, err := e.run(t, closedAddr(t), host)
	if err != nil {
		t.Fatalf("bridge: %v\n%s", err, stderr)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d requests to Marathon", hits.Load())
	}
	want := string(planFile(t, p, "clusters/mesos01/haproxy/haproxy.cfg").Data)
	if out != want {
		t.Fatalf("the bridge prints\n%s\nthe compiler rendered\n%s", out, want)
	}
	if !strings.Contains(out, "stats auth admin:change-me\n") || strings.Contains(out, "admin:admin") {
		t.Fatal("the bridge's config lacks the definition's stats auth")
	}
	fp := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(fp, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(bin, "-c", "-dr", "-f", fp).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c rejects the bridge's output: %v\n%s", err, o)
	}
}

// Lines a Marathon (or something posing as one) sends that would inject
// into haproxy.cfg are skipped; the output still passes haproxy -c.
func TestBridgeSkipsOddTasks(t *testing.T) {
	bin := needTool(t, "haproxy", "haproxy")
	p := examplePlan(t)
	e := newBridge(t, p)
	body := "web\t8000\t10.0.0.5:31000\tevil host:1 backup\t10.0.0.6:31001\t\n" +
		"bad app\t81\t10.0.0.7:1\t\n" +
		"x;global\t82\t10.0.0.7:1\t\n" +
		"big\t70000\t10.0.0.7:1\t\n" +
		"zero\t0\t10.0.0.7:1\t\n" +
		"api\t9000\n"
	srv, _ := marathon08(t, body)
	out, _, err := e.run(t, strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"evil", "bad app", "x;global", "big-", "zero-"} {
		if strings.Contains(out, bad) {
			t.Errorf("the output holds %q:\n%s", bad, out)
		}
	}
	for _, good := range []string{"listen api-9000\n", "  server web-3 10.0.0.5:31000 check\n", "  server web-1 10.0.0.6:31001 check\n"} {
		if !strings.Contains(out, good) {
			t.Errorf("the output lacks %q:\n%s", good, out)
		}
	}
	fp := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(fp, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(bin, "-c", "-f", fp).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, o)
	}
}

// refresh_system_haproxy writes haproxy.cfg only when it changed and then
// reloads; with no Marathon answering it leaves the file and HAProxy alone.
func TestBridgeRefresh(t *testing.T) {
	needTool(t, "haproxy", "haproxy")
	p := examplePlan(t)
	e := newBridge(t, p)
	// Resolvable servers, so the bridge's own haproxy -c passes.
	srv, _ := marathon08(t, "nginx\t80\t127.0.0.1:31000\t127.0.0.1:31001\t\n")
	host := strings.TrimPrefix(srv.URL, "http://")
	if _, stderr, err := e.run(t, "refresh_system_haproxy", host); err != nil {
		t.Fatalf("refresh: %v\n%s", err, stderr)
	}
	first, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(first, []byte("  server nginx-2 127.0.0.1:31000 check\n")) || !bytes.Contains(first, []byte("stats auth admin:change-me\n")) {
		t.Fatalf("refreshed config:\n%s", first)
	}
	if n := e.reloadCount(t); n != 1 {
		t.Fatalf("%d reloads after the first refresh", n)
	}
	fi, _ := os.Stat(e.cfg)
	if fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("haproxy.cfg (stats auth inside) is mode %o", fi.Mode().Perm())
	}
	// Nothing changed: no write, no reload.
	if _, stderr, err := e.run(t, "refresh_system_haproxy", host); err != nil {
		t.Fatalf("second refresh: %v\n%s", err, stderr)
	}
	if n := e.reloadCount(t); n != 1 {
		t.Fatalf("%d reloads after an unchanged refresh", n)
	}
	// No Marathon answers: failure, the file and HAProxy untouched.
	for _, args := range [][]string{{"refresh_system_haproxy", closedAddr(t)}, {"refresh_system_haproxy"}, {closedAddr(t)}} {
		out, stderr, err := e.run(t, args...)
		if err == nil {
			t.Errorf("%v: success with no Marathon answering", args)
		}
		if out != "" && args[0] != "refresh_system_haproxy" {
			t.Errorf("%v printed a config with no Marathon answering:\n%s", args, out)
		}
		if !strings.Contains(stderr, "haproxy-marathon-bridge:") {
			t.Errorf("%v: no message on stderr: %q", args, stderr)
		}
	}
	after, _ := os.ReadFile(e.cfg)
	if !bytes.Equal(after, first) || e.reloadCount(t) != 1 {
		t.Fatal("an unreachable Marathon changed haproxy.cfg or reloaded HAProxy")
	}
	entries, _ := os.ReadDir(filepath.Dir(e.cfg))
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "haproxy.cfg.") {
			t.Errorf("temporary file %s left behind", en.Name())
		}
	}
}

// install_cronjob writes the marathons list, the script and the cron line
// like Mesosphere's, and keeps an existing haproxy.cfg.
func TestBridgeInstallCronjob(t *testing.T) {
	p := examplePlan(t)
	e := newBridge(t, p)
	if err := os.WriteFile(e.cfg, []byte("site config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := e.run(t, "install_cronjob", "m1:8080", "m2:8080"); err != nil {
		t.Fatalf("install_cronjob: %v\n%s", err, stderr)
	}
	dir := filepath.Dir(e.script)
	if b, _ := os.ReadFile(filepath.Join(dir, "conf", "marathons")); string(b) != "m1:8080\nm2:8080\n" {
		t.Errorf("marathons %q", b)
	}
	installed := filepath.Join(dir, "installed")
	if b, _ := os.ReadFile(installed); !bytes.Equal(b, planFile(t, p, "clusters/mesos01/haproxy/haproxy-marathon-bridge").Data) {
		t.Error("the installed script differs")
	}
	want := "* * * * * root " + installed + " logged refresh_system_haproxy $(cat " + filepath.Join(dir, "conf", "marathons") + ")\n"
	if b, _ := os.ReadFile(filepath.Join(dir, "cron")); string(b) != want {
		t.Errorf("cron line %q, want %q", b, want)
	}
	if b, _ := os.ReadFile(e.cfg); string(b) != "site config\n" {
		t.Error("install_cronjob overwrote haproxy.cfg")
	}
	// With the default paths, the cron line is the rendered cron.d file.
	cmd := exec.Command("bash", e.script, "cronjob")
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, planFile(t, p, "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge").Data) {
		t.Errorf("cronjob prints %q (%v)", out, err)
	}
}

// Under cron's environment (env -i PATH=/usr/bin:/bin, where Debian's and
// CentOS's haproxy in /usr/sbin is not found) the bridge still checks each
// new haproxy.cfg with haproxy -c: a config HAProxy refuses (a server name
// that does not resolve) is not installed and HAProxy is not reloaded; one
// it accepts is installed and reloaded.
func TestBridgeChecksUnderCron(t *testing.T) {
	bin := needTool(t, "haproxy", "haproxy")
	for _, d := range filepath.SplitList("/usr/bin:/bin") {
		if _, err := os.Stat(filepath.Join(d, "haproxy")); err == nil {
			t.Fatalf("haproxy is in %s: cron's PATH finds it, so this test would prove nothing", d)
		}
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err != nil {
		t.Fatalf("haproxy is %s, not /usr/sbin/haproxy as on a node: %v", bin, err)
	}
	p := examplePlan(t)
	e := newBridge(t, p)
	if err := os.WriteFile(e.cfg, []byte("site config\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	bad, _ := marathon08(t, "nginx\t80\tno-such-node.bundle-test.invalid:31000\t\n")
	_, stderr, err := e.runEnv(t, cronEnv, "refresh_system_haproxy", strings.TrimPrefix(bad.URL, "http://"))
	if err == nil {
		t.Fatal("a config haproxy -c refuses was accepted under cron's PATH")
	}
	if !strings.Contains(stderr, "fails haproxy -c") {
		t.Errorf("stderr does not say haproxy -c refused the file:\n%s", stderr)
	}
	if b, _ := os.ReadFile(e.cfg); string(b) != "site config\n" || e.reloadCount(t) != 0 {
		t.Fatalf("a refused config was installed (%q) or HAProxy reloaded (%d)", b, e.reloadCount(t))
	}
	good, _ := marathon08(t, "nginx\t80\t127.0.0.1:31000\t\n")
	if _, stderr, err := e.runEnv(t, cronEnv, "refresh_system_haproxy", strings.TrimPrefix(good.URL, "http://")); err != nil {
		t.Fatalf("refresh under cron's PATH: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(e.cfg); !bytes.Contains(b, []byte("  server nginx-1 127.0.0.1:31000 check\n")) || e.reloadCount(t) != 1 {
		t.Fatalf("an accepted config was not installed and reloaded (%d reloads):\n%s", e.reloadCount(t), b)
	}
}

// With no haproxy to check with, the bridge installs nothing.
func TestBridgeWithoutHAProxy(t *testing.T) {
	p := examplePlan(t)
	e := newBridge(t, p)
	srv, _ := marathon08(t, "nginx\t80\t127.0.0.1:31000\t\n")
	env := append(slices.Clone(cronEnv), "BRIDGE_HAPROXY=haproxy-not-installed")
	_, stderr, err := e.runEnv(t, env, "refresh_system_haproxy", strings.TrimPrefix(srv.URL, "http://"))
	if err == nil || !strings.Contains(stderr, "no haproxy-not-installed in") {
		t.Fatalf("refresh without haproxy: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(e.cfg); !os.IsNotExist(err) || e.reloadCount(t) != 0 {
		t.Fatalf("haproxy.cfg written (%v) or reloaded (%d) with nothing to check it", err, e.reloadCount(t))
	}
}
