package bde_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/bde/standin"
)

const createSpec = `{"name":"mesos02","distro":"mesos","distroVendor":"MESOS","distroVersion":"9.9","templateName":"centos6","networkNames":["ignored"],
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
	if err != nil || len(list) != 2 || list[1].Name != "mesos02" || list[1].Version != "2.3.1" || list[1].DistroVendor != "MESOS" || list[1].InstanceNum != 2 ||
		len(list[1].NodeGroups) != 1 || list[1].NodeGroups[0].InstanceNum != 2 || list[1].Status != "RUNNING" {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := c.ResizeNodeGroup(ctx, "mesos02", "slave", 4, nil); err != nil {
		t.Fatal(err)
	}
	if one, err := c.Cluster(ctx, "mesos02"); err != nil || one.NodeGroups[0].InstanceNum != 4 || one.InstanceNum != 4 || one.Distro != "mesos" {
		t.Errorf("after the resize %+v %v", one, err)
	}
	// BDE takes the distro's vendor and version from its own distro, not
	// from the body, and GET …/spec reports neither (nor the name).
	spec, err := c.ClusterSpec(ctx, "mesos02")
	if err != nil || !strings.Contains(string(spec), `"instanceNum":4`) || !strings.Contains(string(spec), `"distroVersion":null`) ||
		!strings.Contains(string(spec), `"name":null`) || strings.Contains(string(spec), "9.9") {
		t.Errorf("spec %s %v", spec, err)
	}
	if v := s.ClusterDistroVersion("mesos02"); v != "0.22.0" {
		t.Errorf("created with distro version %q, want BDE's 0.22.0", v)
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
		"GET /api/cluster/mesos02 ",
		"GET /api/cluster/mesos02/spec ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
		msg    string
	}{
		{"name taken", func() error { _, err := c.CreateCluster(ctx, "mesos02", []byte(createSpec), nil); return err }, 400, "BDD.ALREADY_EXISTS", "already exists"},
		{"unknown ClusterCreate field", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"name":"mesos02"`, `"name":"x","distro_vendor":"MESOS"`, 1)), nil)
			return err
		}, 500, "BDD.INTERNAL_ERROR", "UNKNOWN."},
		{"2.2's templateId", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"templateName"`, `"templateId"`, 1)), nil)
			return err
		}, 500, "BDD.INTERNAL_ERROR", "UNKNOWN."},
		{"unknown NodeGroupCreate field", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"instanceNum":2`, `"instance_num":2`, 1)), nil)
			return err
		}, 500, "BDD.INTERNAL_ERROR", "UNKNOWN."},
		{"unknown StorageRead field", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"type":"SHARED"`, `"type":"SHARED","size":5`, 1)), nil)
			return err
		}, 500, "BDD.INTERNAL_ERROR", "UNKNOWN."},
		{"cluster name", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"name":"mesos02"`, `"name":"mesos-02"`, 1)), nil)
			return err
		}, 400, "BDD.INVALID_PARAMETER", "cluster name=mesos-02"},
		{"node group name", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"name":"slave"`, `"name":"slave_1"`, 1)), nil)
			return err
		}, 500, "CLUSTER_CONFIG.NODE_GROUP_NAME_IS_INVALID", "'slave_1'"},
		{"unknown distro", func() error {
			_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"distro":"mesos"`, `"distro":"cdh"`, 1)), nil)
			return err
		}, 404, "BDD.NOT_FOUND", "Distro cdh"},
		{"unknown node group", func() error { _, err := c.ResizeNodeGroup(ctx, "mesos02", "nope", 3, nil); return err }, 500, "CLUSTER.NODEGROUP_NOT_FOUND", "node group nope"},
		{"resize to the same size", func() error { _, err := c.ResizeNodeGroup(ctx, "mesos02", "slave", 4, nil); return err }, 500, "CLUSTER.NO_NEED_TO_RESIZE", "4 instances"},
		{"resize to 0", func() error { _, err := c.ResizeNodeGroup(ctx, "mesos02", "slave", 0, nil); return err }, 400, "BDD.INVALID_PARAMETER", "instance number=0"},
		{"resume a running cluster", func() error { _, err := c.ResumeCluster(ctx, "mesos02", nil); return err }, 400, "CLUSTER.OPERATION_NOT_ALLOWED", "PROVISION_ERROR"},
		{"not JSON", func() error { _, err := c.CreateCluster(ctx, "x", []byte("name: x"), nil); return err }, 500, "BDD.INTERNAL_ERROR", "UNKNOWN."},
	} {
		var api *bde.APIError
		if err := tc.call(); !errors.As(err, &api) || api.Status != tc.status || api.Code != tc.code || !strings.Contains(api.Message, tc.msg) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		// A 5xx with an error id of BDE's is a refusal, not a server fault.
		if fault := api.ServerFault(); fault != (tc.code == "BDD.INTERNAL_ERROR") {
			t.Errorf("%s: ServerFault %v", tc.name, fault)
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

// TestUnknownField22: BDE 2.2.0 answers a body Jackson cannot bind 400
// BDD.BAD_REST_CALL naming the field (RestResource.handleException), and
// knows templateId where 2.3.1 has templateName.
func TestUnknownField22(t *testing.T) {
	ctx := context.Background()
	s := newStandin(t)
	s.Version = "2.2.0"
	c := client(t, s.BaseURL(), "admin", "s3cret-pw")
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"name":"mesos02"`, `"name":"x","distro_vendor":"MESOS"`, 1)), nil)
	var api *bde.APIError
	if !errors.As(err, &api) || api.Status != 400 || api.Code != "BDD.BAD_REST_CALL" || !strings.Contains(api.Message, `"distro_vendor" (class com.vmware.bdd.apitypes.ClusterCreate)`) || api.ServerFault() {
		t.Errorf("unknown field: %v", err)
	}
	_, err = c.CreateCluster(ctx, "x", []byte(strings.Replace(createSpec, `"templateName"`, `"templateId"`, 1)), nil)
	if err != nil {
		t.Errorf("templateId on 2.2.0: %v", err)
	}
	_, err = c.CreateCluster(ctx, "y", []byte(strings.Replace(createSpec, `"name":"mesos02"`, `"name":"y"`, 1)), nil)
	if !errors.As(err, &api) || !strings.Contains(api.Message, `"templateName"`) {
		t.Errorf("templateName on 2.2.0: %v", err)
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
