package bde_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/bde/standin"
)

const createSpec = `{"name":"mesos02","distro":"mesos","distroVendor":"MESOS","distroVersion":"0.22.0",
"nodeGroups":[{"name":"slave","roles":["mesos_slave"],"instanceNum":2,"storage":{"type":"SHARED"},"haFlag":"off","configuration":{}}],"configuration":{}}`

// TestClusterCalls: list, create, spec, resize and resume as BDE answers
// them, each call recorded with its body in order; and what BDE refuses.
func TestClusterCalls(t *testing.T) {
	ctx := context.Background()
	s := newStandin(t)
	c := client(t, s.BaseURL(), "admin", "s3cret-pw")

	// No session: 401 on every API call, the list included.
	if _, err := c.Clusters(ctx); !errors.As(err, new(*bde.AuthError)) {
		t.Errorf("list without a session: %v", err)
	}
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCluster(ctx, "mesos02", []byte(createSpec), nil); err != nil {
		t.Fatal(err)
	}
	list, err := c.Clusters(ctx)
	if err != nil || len(list) != 2 || list[1].Name != "mesos02" || list[1].DistroVersion != "0.22.0" || list[1].InstanceNum != 2 ||
		len(list[1].NodeGroups) != 1 || list[1].NodeGroups[0].InstanceNum != 2 || list[1].Status != "RUNNING" {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := c.ResizeNodeGroup(ctx, "mesos02", "slave", 4, nil); err != nil {
		t.Fatal(err)
	}
	if list, _ = c.Clusters(ctx); list[1].NodeGroups[0].InstanceNum != 4 {
		t.Errorf("after the resize %+v", list[1])
	}
	spec, err := c.ClusterSpec(ctx, "mesos02")
	if err != nil || !strings.Contains(string(spec), `"instanceNum":4`) {
		t.Errorf("spec %s %v", spec, err)
	}
	var got []string
	for _, call := range s.Calls() {
		got = append(got, call.Method+" "+strings.TrimPrefix(call.Path, "/serengeti")+" "+string(call.Body))
	}
	want := []string{
		"GET /api/clusters ",
		"POST /j_spring_security_check ",
		"POST /api/clusters " + createSpec,
		"GET /api/task/101 ", "GET /api/task/101 ",
		"GET /api/clusters ",
		"PUT /api/cluster/mesos02/nodegroup/slave/instancenum 4",
		"GET /api/task/102 ", "GET /api/task/102 ",
		"GET /api/clusters ",
		"GET /api/cluster/mesos02/spec ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, tc := range []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"name taken", func() error { _, err := c.CreateCluster(ctx, "mesos02", []byte(createSpec), nil); return err }, "BDD.ALREADY_EXISTS", "already exists"},
		{"unknown ClusterCreate field", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"name":"mesos02"`, `"name":"x","distro_vendor":"MESOS"`, 1)), nil)
			return err
		}, "BDD.BAD_REST_CALL", `"distro_vendor" (Class com.vmware.bdd.apitypes.ClusterCreate)`},
		{"unknown NodeGroupCreate field", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"instanceNum":2`, `"instance_num":2`, 1)), nil)
			return err
		}, "BDD.BAD_REST_CALL", "NodeGroupCreate"},
		{"unknown node group", func() error { _, err := c.ResizeNodeGroup(ctx, "mesos02", "nope", 3, nil); return err }, "BDD.NOT_FOUND", "NodeGroup nope"},
		{"resume a running cluster", func() error { _, err := c.ResumeCluster(ctx, "mesos02", nil); return err }, "CLUSTER.OPERATION_NOT_ALLOWED", "PROVISION_ERROR"},
		{"not JSON", func() error { _, err := c.CreateCluster(ctx, "x", []byte("name: x"), nil); return err }, "BDD.BAD_REST_CALL", "Failed to read"},
	} {
		var api *bde.APIError
		if err := tc.call(); !errors.As(err, &api) || api.Code != tc.code || !strings.Contains(api.Message, tc.msg) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	// A create whose task fails leaves PROVISION_ERROR; resume finishes it.
	s.SetFail("mesos03", "Cannot clone VM")
	var te *bde.TaskError
	if _, err := c.CreateCluster(ctx, "mesos03", []byte(strings.Replace(createSpec, "mesos02", "mesos03", 1)), nil); !errors.As(err, &te) || s.ClusterStatus("mesos03") != "PROVISION_ERROR" {
		t.Fatalf("failed create: %v, %s", err, s.ClusterStatus("mesos03"))
	}
	if _, err := c.ResumeCluster(ctx, "mesos03", nil); err != nil || s.ClusterStatus("mesos03") != "RUNNING" {
		t.Errorf("resume: %v, %s", err, s.ClusterStatus("mesos03"))
	}
	if last := s.Calls()[len(s.Calls())-3]; last.Path != "/serengeti/api/cluster/mesos03/action" || last.Query != "state=resume" {
		t.Errorf("resume call %+v", last)
	}
}

// TestStandinRecordsNoPassword: the login's form is not recorded.
func TestStandinRecordsNoPassword(t *testing.T) {
	s := standin.New(map[string]string{"admin": "pw-in-form"}, nil)
	defer s.Close()
	_ = client(t, s.BaseURL(), "admin", "pw-in-form").Login(context.Background())
	for _, c := range s.Calls() {
		if strings.Contains(string(c.Body), "pw-in-form") {
			t.Errorf("recorded the password: %+v", c)
		}
	}
}
