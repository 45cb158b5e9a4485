package bde

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// NodeGroupRead is the part of BDE's NodeGroupRead a deploy compares: the
// group's name, roles and instance count (JSON names of its getters,
// apitypes/NodeGroupRead.java @2.3.1).
type NodeGroupRead struct {
	Name        string   `json:"name"`
	Roles       []string `json:"roles,omitempty"`
	InstanceNum int      `json:"instanceNum"`
}

// ClusterRead is the part of BDE's ClusterRead (GET /clusters, GET
// /cluster/{name}) a deploy reads, by the names Jackson gives its getters
// (apitypes/ClusterRead.java @2.2.0 and @2.3.1). It has no distro
// version: BDE fixes that at creation and reports it nowhere; Version is
// the BDE release that created the cluster.
type ClusterRead struct {
	Name         string          `json:"name"`
	Version      string          `json:"version,omitempty"`
	AppManager   string          `json:"appManager,omitempty"`
	Distro       string          `json:"distro"`
	DistroVendor string          `json:"distroVendor,omitempty"`
	Status       string          `json:"status"`
	InstanceNum  int             `json:"instanceNum"`
	NodeGroups   []NodeGroupRead `json:"nodeGroups"`
}

// maxList bounds a list answer (GET /clusters, a spec).
const maxList = 16 << 20

// getJSON GETs path into v: 200 and JSON, else an error (401 an
// *AuthError; an answer that is not JSON an *APIError saying so).
func (c *Client) getJSON(ctx context.Context, op, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := c.status(op, resp, http.StatusOK); err != nil {
		return err
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxList)).Decode(v); err != nil {
		return &APIError{Op: op, Status: resp.StatusCode, Message: "the answer is not BDE's JSON: " + err.Error(), Garbage: true}
	}
	return nil
}

// Clusters lists the clusters BDE manages (GET /api/clusters).
func (c *Client) Clusters(ctx context.Context) ([]ClusterRead, error) {
	var out []ClusterRead
	if err := c.getJSON(ctx, "list clusters", "/api/clusters", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Cluster reads one cluster (GET /api/cluster/{name}?details=true).
func (c *Client) Cluster(ctx context.Context, name string) (ClusterRead, error) {
	var out ClusterRead
	err := c.getJSON(ctx, "cluster "+name, "/api/cluster/"+url.PathEscape(name)+"?details=true", &out)
	return out, err
}

// ClusterSpec reads the spec of cluster name (GET /api/cluster/{name}/spec,
// a ClusterCreate) as raw JSON.
func (c *Client) ClusterSpec(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	if err := c.getJSON(ctx, "spec of cluster "+name, "/api/cluster/"+url.PathEscape(name)+"/spec", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateCluster runs `cluster create` with spec (a ClusterCreate as
// JSON, as the BDE CLI POSTs it) and waits for its task.
func (c *Client) CreateCluster(ctx context.Context, name string, spec []byte, progress func(Task)) (Task, error) {
	return c.taskCall(ctx, "cluster create "+name, http.MethodPost, "/api/clusters", spec, progress)
}

// ResizeNodeGroup sets the instance count of group in cluster name (PUT
// /api/cluster/{name}/nodegroup/{group}/instancenum with a bare integer)
// and waits for its task.
func (c *Client) ResizeNodeGroup(ctx context.Context, name, group string, n int, progress func(Task)) (Task, error) {
	op := fmt.Sprintf("cluster resize %s/%s to %d", name, group, n)
	return c.taskCall(ctx, op, http.MethodPut, "/api/cluster/"+url.PathEscape(name)+"/nodegroup/"+url.PathEscape(group)+"/instancenum", []byte(strconv.Itoa(n)), progress)
}

// taskCall sends a JSON body answered by 202 and a task Location, then
// waits for the task.
func (c *Client) taskCall(ctx context.Context, op, method, path string, body []byte, progress func(Task)) (Task, error) {
	resp, err := c.do(ctx, method, path, bytes.NewReader(body), "application/json")
	if err != nil {
		return Task{}, err
	}
	defer drain(resp)
	if err := c.status(op, resp, http.StatusAccepted); err != nil {
		return Task{}, err
	}
	id, err := taskID(resp.Header.Get("Location"))
	if err != nil {
		return Task{}, &APIError{Op: op, Status: resp.StatusCode, Message: err.Error(), Garbage: true}
	}
	return c.Wait(ctx, op, id, progress)
}

// ResumeCluster resumes a cluster whose create failed (PUT
// /api/cluster/{name}/action?state=resume) and waits for its task.
func (c *Client) ResumeCluster(ctx context.Context, name string, progress func(Task)) (Task, error) {
	return c.taskCall(ctx, "cluster resume "+name, http.MethodPut, "/api/cluster/"+url.PathEscape(name)+"/action?state=resume", nil, progress)
}
