package compiler

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/haproxyjudge"
	"github.com/bdebundle/bundle/internal/testutil"
)

// Tests judged by HAProxy 1.5.2 (CentOS 6.6's haproxy), built from
// $BUNDLE_JUDGES/haproxy-1.5.2.tar.gz; they run under make conformance.

// judgeHAProxy writes cfg to a file and has HAProxy 1.5.2 check it with an
// /etc/hosts that knows its server names; HAProxy refusing it fails t.
func judgeHAProxy(t *testing.T, bin, what string, cfg []byte) {
	t.Helper()
	fp := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(fp, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := haproxyjudge.Check(context.Background(), bin, fp, haproxyjudge.ServerHosts(cfg)); err != nil {
		t.Errorf("HAProxy 1.5.2 refuses %s: %v\n%s\n--- the file:\n%s", what, err, out, cfg)
	}
}

// multiPortSite is the example with one more app of two service ports.
func multiPortSite(t *testing.T) string {
	t.Helper()
	return exampleHCL(t) + `
app "api" {
  cluster   = cluster.mesos01
  instances = 3
  cpus      = 0.5
  mem       = 128
  ports     = [8081, 8082]
  cmd       = "api --ports $PORT0,$PORT1"
}
`
}

// Every haproxy.cfg the compiler renders (the example, the example with a
// two-port app, the tests' plain site) and the one the cookbook's template renders with
// Erubis are accepted by HAProxy 1.5.2.
func TestHAProxy152AcceptsRenderedConfigs(t *testing.T) {
	bin := haproxyjudge.FromJudges(t)
	for name, text := range map[string]string{"example": exampleHCL(t), "two-port app": multiPortSite(t), "plain site": testutil.PlainSite(t)} {
		t.Run(name, func(t *testing.T) {
			p, diags, _ := compileText(t, text, exampleFacts())
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("does not compile:%s", diagText(errs))
			}
			n := 0
			for _, f := range p.Files {
				if filepath.Base(f.Path) == "haproxy.cfg" {
					n++
					if name == "two-port app" && !strings.Contains(string(f.Data), "\nlisten api-8082\n") {
						t.Errorf("%s lacks the second service port's listen block", f.Path)
					}
					judgeHAProxy(t, bin, f.Path, f.Data)
				}
			}
			for path, data := range renderCookbook(t, p).Files {
				if filepath.Base(path) == "haproxy.cfg" {
					n++
					judgeHAProxy(t, bin, "the cookbook's "+path, []byte(data))
				}
			}
			if n < 2 {
				t.Fatalf("only %d haproxy.cfg judged", n)
			}
		})
	}
}

// endpointsApp and endpointsTask describe what Marathon 0.8's
// EndpointsHelper.appsToEndpointString reads: an app's id, service ports
// and tasks (host, host ports, running or not).
type endpointsApp struct {
	id           string
	servicePorts []int
	tasks        []endpointsTask
}

type endpointsTask struct {
	host    string
	ports   []int
	running bool
}

// endpointsText is /v2/tasks as text/plain, written the way
// EndpointsHelper.appsToEndpointString writes it (delimiter tab): the id's
// safePath with whitespace runs as "_"; without service ports "id\t \t"
// then "host " per running task; else per service port "id\tport\t" then
// "host:port\t" per running task (0 for a port the task lacks).
func endpointsText(apps []endpointsApp) string {
	const d = "\t"
	var b strings.Builder
	for _, a := range apps {
		clean := strings.Join(strings.Fields(strings.ReplaceAll(strings.Trim(a.id, "/"), "/", "_")), "_")
		if len(a.servicePorts) == 0 {
			b.WriteString(clean + d + " " + d)
			for _, tk := range a.tasks {
				if tk.running {
					b.WriteString(tk.host + " ")
				}
			}
			b.WriteString("\n")
			continue
		}
		for i, port := range a.servicePorts {
			fmt.Fprintf(&b, "%s%s%d%s", clean, d, port, d)
			for _, tk := range a.tasks {
				if !tk.running {
					continue
				}
				hp := 0
				if i < len(tk.ports) {
					hp = tk.ports[i]
				}
				fmt.Fprintf(&b, "%s:%d%s", tk.host, hp, d)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// marathonAnswers are /v2/tasks answers of a Marathon 0.8 of the example's
// cluster: the planned tasks, and apps with a nested id, two service ports,
// a task not running, an app without tasks and one without service ports.
func marathonAnswers() map[string]string {
	node := func(g string, i int) string { return fmt.Sprintf("mesos01-%s-%d.localdomain", g, i) }
	return map[string]string{
		"planned": plannedTasks(),
		"mixed": endpointsText([]endpointsApp{
			{id: "/shop/frontend", servicePorts: []int{10001, 10002}, tasks: []endpointsTask{
				{node("bulk", 0), []int{31001, 31002}, true},
				{node("bulk", 3), []int{31005, 31006}, false},
				{node("fast", 1), []int{31010}, true},
			}},
			{id: "/api", servicePorts: []int{9000}},
			{id: "/hadoop", tasks: []endpointsTask{{node("fast", 0), nil, true}, {node("fast", 2), nil, true}}},
			{id: "/nginx", servicePorts: []int{80}, tasks: []endpointsTask{{node("bulk", 9), []int{31000}, true}, {"10.0.0.7", []int{31000}, true}}},
		}),
	}
}

// The bundle's bridge and Mesosphere's haproxy-marathon-bridge of Marathon
// 0.8.0, each run as cron runs it (env -i PATH=/usr/bin:/bin), print from
// each Marathon answer a haproxy.cfg HAProxy 1.5.2 accepts.
func TestHAProxy152AcceptsBridgeConfigs(t *testing.T) {
	bin := haproxyjudge.FromJudges(t)
	needTool(t, "curl", "curl")
	mesosphere := filepath.Join(os.Getenv(haproxyjudge.JudgesEnv), "marathon-v0.8.0", "haproxy-marathon-bridge")
	if _, err := os.Stat(mesosphere); err != nil {
		t.Fatalf("%s=%s lacks Mesosphere's bridge: %v", haproxyjudge.JudgesEnv, os.Getenv(haproxyjudge.JudgesEnv), err)
	}
	p := examplePlan(t)
	e := newBridge(t, p)
	answers := marathonAnswers()
	names := make([]string, 0, len(answers))
	for k := range answers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			srv, _ := marathon08(t, answers[name])
			host := strings.TrimPrefix(srv.URL, "http://")
			out, stderr, err := e.runEnv(t, cronEnv, host)
			if err != nil || !strings.Contains(out, "\nlisten ") {
				t.Fatalf("the bundle's bridge: %v\n%s\n%s", err, out, stderr)
			}
			judgeHAProxy(t, bin, "the bundle's bridge's config", []byte(out))

			cmd := exec.Command("bash", mesosphere, host)
			cmd.Env = slices.Clone(cronEnv)
			var o, s strings.Builder
			cmd.Stdout, cmd.Stderr = &o, &s
			if err := cmd.Run(); err != nil || !strings.Contains(o.String(), "\nlisten ") {
				t.Fatalf("Mesosphere's bridge: %v\n%s\n%s", err, o.String(), s.String())
			}
			judgeHAProxy(t, bin, "Mesosphere's bridge's config", []byte(o.String()))
		})
	}
}

// Under cron's PATH, with HAProxy 1.5.2 as its haproxy, the bundle's bridge
// installs a config 1.5.2 accepts and keeps the old one when 1.5.2 refuses
// the new one (a server address it cannot resolve).
func TestHAProxy152BridgeRefresh(t *testing.T) {
	bin := haproxyjudge.FromJudges(t)
	p := examplePlan(t)
	e := newBridge(t, p)
	env := append(slices.Clone(cronEnv), "BRIDGE_HAPROXY="+bin)
	good, _ := marathon08(t, endpointsText([]endpointsApp{{id: "/nginx", servicePorts: []int{80}, tasks: []endpointsTask{{"127.0.0.1", []int{31000}, true}, {"127.0.0.1", []int{31001}, true}}}}))
	if _, stderr, err := e.runEnv(t, env, "refresh_system_haproxy", strings.TrimPrefix(good.URL, "http://")); err != nil {
		t.Fatalf("refresh: %v\n%s", err, stderr)
	}
	first, err := os.ReadFile(e.cfg)
	if err != nil || !strings.Contains(string(first), "  server nginx-2 127.0.0.1:31000 check\n") || e.reloadCount(t) != 1 {
		t.Fatalf("installed config (%v, %d reloads):\n%s", err, e.reloadCount(t), first)
	}
	bad, _ := marathon08(t, endpointsText([]endpointsApp{{id: "/nginx", servicePorts: []int{80}, tasks: []endpointsTask{{"no-such-node.bundle-test.invalid", []int{31000}, true}}}}))
	_, stderr, err := e.runEnv(t, env, "refresh_system_haproxy", strings.TrimPrefix(bad.URL, "http://"))
	if err == nil || !strings.Contains(stderr, "invalid address") {
		t.Fatalf("HAProxy 1.5.2 did not refuse the new config: %v\n%s", err, stderr)
	}
	if after, _ := os.ReadFile(e.cfg); string(after) != string(first) || e.reloadCount(t) != 1 {
		t.Fatal("a config HAProxy 1.5.2 refuses replaced haproxy.cfg or reloaded HAProxy")
	}
}
