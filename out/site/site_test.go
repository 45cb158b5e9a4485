package site_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/site"
)

func TestFromEnv(t *testing.T) {
	env := map[string]string{"BDE_URL": "bde:8443", "BDE_USERNAME": "admin", "BDE_PASSWORD": "pw-secret-9", "BDE_INSECURE": "1"}
	e, err := site.FromEnv(func(k string) string { return env[k] }, "BDE", "BDE")
	if err != nil {
		t.Fatal(err)
	}
	if e.URL != "bde:8443" || e.Username != "admin" || e.Password != "pw-secret-9" || !e.Insecure {
		t.Errorf("endpoint %+v", e)
	}
	if strings.Contains(e.String(), "pw-secret-9") {
		t.Errorf("String shows the password: %s", e)
	}
	env["BDE_INSECURE"] = "maybe"
	if _, err := site.FromEnv(func(k string) string { return env[k] }, "BDE", "BDE"); err == nil || !strings.Contains(err.Error(), "BDE_INSECURE") {
		t.Errorf("bad BDE_INSECURE: %v", err)
	}
}

func TestParseBool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
		err  bool
	}{{"", false, false}, {"0", false, false}, {"no", false, false}, {"1", true, false}, {"TRUE", true, false}, {"yes", true, false}, {"t", true, false}, {"on?", false, true}} {
		got, err := site.ParseBool(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%q: %v %v", tc.in, got, err)
		}
	}
}

func TestWritePlanAndStatus(t *testing.T) {
	changes := []site.Change{
		{Kind: "cluster", Name: "mesos0", Action: site.ActionCreate, Detail: "3 node groups"},
		{Kind: "nodegroup", Name: "mesos0/slave", Action: site.ActionUnchanged},
		{Kind: "nodegroup", Name: "mesos1/slave", Action: site.ActionRefused, Detail: "5 -> 3\x1b[31m"},
	}
	if site.Writes(changes) != 1 {
		t.Errorf("writes %d", site.Writes(changes))
	}
	var b bytes.Buffer
	if err := site.WritePlan(&b, "Clusters", changes, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "+ cluster") || strings.Contains(out, "mesos0/slave") || !strings.Contains(out, "= 1 unchanged") || strings.Contains(out, "\x1b") {
		t.Errorf("plan:\n%s", out)
	}
	rows := []site.Status{{Kind: "job", Name: "b", OK: true}, {Kind: "cluster", Name: "z", Want: "0.22.0", Have: "0.21.0"}, {Kind: "file", Name: "a", OK: true}}
	site.SortStatus(rows)
	if rows[0].Kind != "file" || rows[1].Kind != "cluster" || site.Matches(rows) {
		t.Errorf("rows %+v", rows)
	}
	b.Reset()
	_ = site.WriteStatus(&b, rows)
	if !strings.Contains(b.String(), "DIFFERS") {
		t.Errorf("status:\n%s", b.String())
	}
}
