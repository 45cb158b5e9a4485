package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
)

func TestPlanClusterConfig(t *testing.T) {
	m := &manifest.Manifest{
		Distros:  []manifest.DistroEntry{{Name: "mesos", Vendor: "MESOS", Version: "0.22.0"}},
		Clusters: []manifest.ClusterEntry{{Name: "mesos01", Distro: "mesos", MovesFrom: "0.21.0"}, {Name: "stays", Distro: "mesos"}},
		Files:    []manifest.FileEntry{{Path: "clusters/mesos01/spec.json"}},
	}
	for _, tc := range []struct {
		name     string
		opts     ClusterConfigOptions
		leftOut  string
		warning  string
		usageErr string
	}{
		{name: "runs", opts: ClusterConfigOptions{Server: "bde.localdomain", Username: "admin", Password: "pw"}, warning: "no management_server"},
		{name: "left out", opts: ClusterConfigOptions{Skip: true, Server: "bde.localdomain"}, leftOut: "--skip-clusters"},
		{name: "no server", opts: ClusterConfigOptions{}, leftOut: "no BDE server", warning: "keep the old version"},
		{name: "no password", opts: ClusterConfigOptions{Server: "bde.localdomain", Username: "admin"}, usageErr: "BDE_PASSWORD"},
		{name: "no user", opts: ClusterConfigOptions{Server: "bde.localdomain", Password: "pw"}, usageErr: "no BDE user name"},
		{name: "plain http elsewhere", opts: ClusterConfigOptions{Server: "http://bde.localdomain", Username: "a", Password: "pw"}, usageErr: "only a loopback host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planClusterConfig(m, tc.opts, "")
			if tc.usageErr != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.usageErr) || strings.Contains(err.Error(), "pw") {
					t.Fatalf("error %v, want a usage error with %q", err, tc.usageErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Moves) != 1 || p.Moves[0] != (ClusterMove{Cluster: "mesos01", Distro: "mesos", From: "0.21.0", To: "0.22.0", Spec: "clusters/mesos01/spec.json"}) {
				t.Errorf("moves %+v", p.Moves)
			}
			if !strings.Contains(p.LeftOut, tc.leftOut) || (tc.leftOut == "") != (p.LeftOut == "") {
				t.Errorf("left out %q, want %q", p.LeftOut, tc.leftOut)
			}
			if tc.warning != "" && (len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want %q", p.Warnings, tc.warning)
			}
		})
	}
	// A moved cluster whose spec the bundle lacks.
	m.Files = nil
	if _, err := planClusterConfig(m, ClusterConfigOptions{}, ""); err == nil || !strings.Contains(err.Error(), "has no clusters/mesos01/spec.json") {
		t.Errorf("missing spec: %v", err)
	}
}
