package vcenter

import (
	"errors"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
)

func TestResolveTarget(t *testing.T) {
	tgt := Target{Name: "site", Datacenter: "DC1", Datastore: "vsanDatastore", Folder: "bde/templates", Library: "bundles", DatastorePath: "/bundles/x/"}
	env := map[string]string{
		"GOVC_URL": "vc.example.com", "GOVC_USERNAME": "ops", "GOVC_PASSWORD": "pa55-word",
		"GOVC_DATASTORE": "envDS", "GOVC_FOLDER": "envFolder",
	}
	c, err := ResolveTarget(tgt, func(k string) string { return env[k] }, Overrides{Folder: "flagFolder"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range [][2]string{
		{c.Datacenter, "DC1"}, {c.Datastore, "envDS"}, {c.Folder, "flagFolder"}, {c.Library, "bundles"},
		{c.DatastorePath, "bundles/x"}, {c.URL.Scheme + "://" + c.URL.Host + c.URL.Path, "https://vc.example.com/sdk"},
		{c.URL.User.Username(), "ops"},
	} {
		if tc[0] != tc[1] {
			t.Errorf("got %q, want %q", tc[0], tc[1])
		}
	}
	if c.Insecure {
		t.Error("TLS verification must be on by default")
	}
	if strings.Contains(c.Redacted(), "pa55-word") {
		t.Errorf("Redacted shows the password: %s", c.Redacted())
	}
	if got := redactErr(c, errors.New("Post https://ops:pa55-word@vc/sdk: refused")).Error(); strings.Contains(got, "pa55-word") {
		t.Errorf("redactErr: %s", got)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "GOVC_URL is not set"},
		{map[string]string{"GOVC_URL": "https://u:p@vc", "GOVC_INSECURE": "maybe"}, "GOVC_INSECURE"},
		{map[string]string{"GOVC_URL": "ftp://u:p@vc"}, "scheme"},
		{map[string]string{"GOVC_URL": "https://vc"}, "no vCenter user"},
		{map[string]string{"GOVC_URL": "https://u:p@vc", "BUNDLE_DATASTORE_PATH": "a/../b"}, "datastore_path"},
	} {
		_, err := ResolveTarget(Target{}, func(k string) string { return tc.env[k] }, Overrides{})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: got %v, want %q", tc.env, err, tc.want)
		}
	}

	if _, err := SelectTarget([]Target{{Name: "a"}, {Name: "b"}}, "c"); err == nil || !strings.Contains(err.Error(), `"a", "b"`) {
		t.Errorf("unknown target: %v", err)
	}
	if got, _ := SelectTarget([]Target{{Name: "a"}, {Name: "b"}}, ""); got.Name != "a" {
		t.Errorf("default target %q", got.Name)
	}
}

func TestLoadBundleErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{`, "parsing"},
		{`{"schema":"bundle/v2","name":"a","version":"1"}`, "schema"},
		{`{"schema":"bundle/v1","name":"a","version":"1","files":[{"path":"../x","size":1,"mode":"0644","sha256":"` + strings.Repeat("a", 64) + `"}]}`, "leaves the bundle"},
		{`{"schema":"bundle/v1","name":"a","version":"1","files":[{"path":"x","size":1,"mode":"0644","sha256":"abc"}]}`, "64 hex"},
		{`{"schema":"bundle/v1","name":"a","version":"1","files":[],"templates":[{"name":"t","ovf":"ovf/t/t.ovf"}]}`, "not a file of the bundle"},
		{`{"schema":"bundle/v1","name":"a","version":"1","files":[{"path":"x","size":1,"mode":"0644","sha256":"` + strings.Repeat("a", 64) + `"},{"path":"x","size":1,"mode":"0644","sha256":"` + strings.Repeat("a", 64) + `"}]}`, "listed twice"},
		{`{"schema":"bundle/v1","name":"a","version":"1","files":[{"path":"x","size":-1,"mode":"0644","sha256":"` + strings.Repeat("a", 64) + `"}]}`, "negative size"},
		{`{"schema":"bundle/v1","name":"a","version":"1","files":[{"path":"x","size":1,"mode":"0644","sha256":"` + strings.Repeat("A", 64) + `"}]}`, "64 hex"},
		{`{"schema":"bundle/v1","name":"a","version":"1","surprise":1}`, "unknown field"},
		{`{"schema":"bundle/v1","name":"a","version":"1"} {"name":"b"}`, "data after the JSON object"},
		{`{"schema":"bundle/v1","name":"a","version":"1"}junk`, "data after the JSON object"},
	} {
		dir := t.TempDir()
		if err := writeFile(dir+"/bundle.json", tc.json); err != nil {
			t.Fatal(err)
		}
		_, err := LoadBundle(dir)
		var ve *manifest.VerifyError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bundle.json") {
			t.Errorf("%s: got %v, want %q", tc.json, err, tc.want)
		}
	}
}
