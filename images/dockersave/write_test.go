package dockersave

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerTar is a tar of the given files (name -> content; a name ending in
// "/" is a directory).
func layerTar(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		name, data := files[i], files[i+1]
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func layer(t *testing.T, data []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage is a deterministic linux/amd64 image of the given layers with
// cmd as its command.
func testImage(t *testing.T, cmd string, layers ...[]byte) v1.Image {
	t.Helper()
	img := empty.Image
	for _, data := range layers {
		var err error
		img, err = mutate.AppendLayers(img, layer(t, data))
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2015, 1, 20, 10, 0, 0, 0, time.UTC)}
	cf.Config.Cmd = []string{cmd, "-g", "daemon off;"}
	cf.Config.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	cf.Config.Labels = map[string]string{"later": "docker"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func baseLayers(t *testing.T) [][]byte {
	return [][]byte{
		layerTar(t, "etc/", "", "etc/os-release", "ID=debian\n"),
		layerTar(t, "usr/sbin/", "", "usr/sbin/nginx", "#!/bin/sh\necho nginx\n"),
		layerTar(t, "etc/.wh.motd", "", "etc/nginx.conf", "worker_processes 1;\n"),
	}
}

var testOpts = Options{Repository: "library/nginx", Tag: "sha256-0123", ModTime: time.Unix(1426032000, 0)}

func write(t *testing.T, img v1.Image, opts Options) ([]byte, Result) {
	t.Helper()
	var b bytes.Buffer
	res, err := Write(context.Background(), &b, img, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes(), res
}

// TestWriteLoads writes an image and reads it back as Docker 1.3's load
// does: the tag names the top layer, the chain holds every layer in order
// with the content of the config's diff_ids, the top layer carries the
// container config.
func TestWriteLoads(t *testing.T) {
	img := testImage(t, "nginx", baseLayers(t)...)
	data, res := write(t, img, testOpts)
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != res.SHA256 || int64(len(data)) != res.Size {
		t.Errorf("Result says sha256 %s size %d; the bytes are %x, %d", res.SHA256, res.Size, sum, len(data))
	}
	a, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	chain, err := a.Chain("library/nginx", "sha256-0123")
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if len(chain) != 3 || len(a.Layers) != 3 {
		t.Fatalf("chain of %d layers (%d in the archive), want 3", len(chain), len(a.Layers))
	}
	if chain[0].ID != res.ID || res.IDs[2] != res.ID {
		t.Errorf("the tag names %s, Result.ID is %s, IDs %v", chain[0].ID, res.ID, res.IDs)
	}
	for i, l := range chain {
		diff := cf.RootFS.DiffIDs[len(chain)-1-i]
		if "sha256:"+l.LayerSHA256 != diff.String() {
			t.Errorf("layer %s holds sha256:%s, want diff_id %s", l.ID, l.LayerSHA256, diff)
		}
		if l.Version != "1.0" {
			t.Errorf("layer %s VERSION %q", l.ID, l.Version)
		}
		if l.ID != res.IDs[len(chain)-1-i] {
			t.Errorf("chain position %d is %s, Result.IDs say %s", i, l.ID, res.IDs[len(chain)-1-i])
		}
	}
	var top struct {
		Cmd          []string
		Env          []string
		ExposedPorts map[string]struct{}
		Labels       map[string]string
	}
	if err := json.Unmarshal(chain[0].Config, &top); err != nil {
		t.Fatal(err)
	}
	if strings.Join(top.Cmd, " ") != "nginx -g daemon off;" || len(top.Env) != 1 || len(top.ExposedPorts) != 1 {
		t.Errorf("top config %s", chain[0].Config)
	}
	if top.Labels != nil {
		t.Errorf("Labels (unknown to Docker 1.3) were carried: %s", chain[0].Config)
	}
	if !chain[0].Created.Equal(cf.Created.Time) {
		t.Errorf("top created %v, want the config's %v", chain[0].Created, cf.Created)
	}
	if string(chain[1].Config) != "" && string(chain[1].Config) != "null" {
		t.Errorf("an intermediate layer has a config: %s", chain[1].Config)
	}
	// manifest.json for later readers names the config and the layers.
	cfgName, _ := img.ConfigName()
	var man []manifestEntry
	if err := json.Unmarshal(a.Files["manifest.json"], &man); err != nil || len(man) != 1 {
		t.Fatalf("manifest.json: %v %s", err, a.Files["manifest.json"])
	}
	raw, _ := img.RawConfigFile()
	if man[0].Config != cfgName.Hex+".json" || !bytes.Equal(a.Files[man[0].Config], raw) || man[0].RepoTags[0] != "library/nginx:sha256-0123" {
		t.Errorf("manifest.json %+v", man[0])
	}
	if res.ConfigDigest != cfgName.String() {
		t.Errorf("ConfigDigest %s, want %s", res.ConfigDigest, cfgName)
	}
}

// TestWriteReproducible: the same image gives the same bytes; a different
// config changes the top id only; a different base layer changes every id.
func TestWriteReproducible(t *testing.T) {
	ls := baseLayers(t)
	a, ra := write(t, testImage(t, "nginx", ls...), testOpts)
	b, rb := write(t, testImage(t, "nginx", ls...), testOpts)
	if !bytes.Equal(a, b) || ra.SHA256 != rb.SHA256 {
		t.Fatal("two writes of the same image differ")
	}
	_, rc := write(t, testImage(t, "httpd", ls...), testOpts)
	if rc.IDs[0] != ra.IDs[0] || rc.IDs[1] != ra.IDs[1] {
		t.Errorf("intermediate ids changed with the config: %v vs %v", rc.IDs, ra.IDs)
	}
	if rc.ID == ra.ID {
		t.Error("the top id did not change with the config")
	}
	other := append([][]byte{layerTar(t, "etc/", "", "etc/os-release", "ID=centos\n")}, ls[1:]...)
	_, rd := write(t, testImage(t, "nginx", other...), testOpts)
	for i := range rd.IDs {
		if rd.IDs[i] == ra.IDs[i] {
			t.Errorf("id %d did not change with the base layer", i)
		}
	}
	opts := testOpts
	opts.ModTime = time.Unix(1426032001, 0)
	if _, re := write(t, testImage(t, "nginx", ls...), opts); re.SHA256 == ra.SHA256 || re.ID != ra.ID {
		t.Errorf("ModTime: sha256 %s (was %s), id %s (was %s)", re.SHA256, ra.SHA256, re.ID, ra.ID)
	}
}

func TestChainIDShortFormNotNumeric(t *testing.T) {
	for i := 0; i < 2000; i++ {
		id := chainID("", strings.Repeat("0", i%64)+string(rune('a'+i%26)), "")
		if !idRE.MatchString(id) || strings.Trim(id[:12], "0123456789") == "" {
			t.Fatalf("id %s", id)
		}
	}
}

// wrongLayers is an image whose layers do not match its config.
type wrongLayers struct {
	v1.Image
	layers []v1.Layer
}

func (w wrongLayers) Layers() ([]v1.Layer, error) { return w.layers, nil }

func TestWriteRefuses(t *testing.T) {
	ls := baseLayers(t)
	good := testImage(t, "nginx", ls...)
	swapped := wrongLayers{good, []v1.Layer{layer(t, ls[0]), layer(t, ls[2]), layer(t, ls[1])}}
	short := wrongLayers{good, []v1.Layer{layer(t, ls[0])}}
	notTar := testImage(t, "nginx", []byte("this is not a tar archive, it is text long enough to fail"))
	opaque := testImage(t, "nginx", ls[0], layerTar(t, "etc/.wh..wh..opq", ""))
	for _, tc := range []struct {
		name string
		img  v1.Image
		opts Options
		want string
	}{
		{"layer not its diff_id", swapped, testOpts, "not its diff_id"},
		{"layer count", short, testOpts, "lists 3 diff_ids"},
		{"no layers", testImage(t, "nginx"), testOpts, "no layers"},
		{"not a tar", notTar, testOpts, "as a tar"},
		{"opaque whiteout", opaque, testOpts, "opaque whiteouts"},
		{"upper-case repository", good, Options{Repository: "Library/Nginx", Tag: "x"}, "repository"},
		{"tag with colon", good, Options{Repository: "nginx", Tag: "a:b"}, "tag"},
		{"empty tag", good, Options{Repository: "nginx"}, "tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			_, err := Write(context.Background(), &b, tc.img, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestWriteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, io.Discard, testImage(t, "nginx", baseLayers(t)...), testOpts); err == nil {
		t.Fatal("a cancelled write succeeded")
	}
}

// TestReadRefuses: archives Docker 1.3's load fails on.
func TestReadRefuses(t *testing.T) {
	id := strings.Repeat("a", 64)
	pid := strings.Repeat("b", 64)
	arch := func(files ...string) []byte { return layerTar(t, files...) }
	js := func(id, parent string) string {
		b, _ := json.Marshal(v1Image{ID: id, Parent: parent, Created: layerCreated})
		return string(b)
	}
	lt := string(layerTar(t, "a", "b"))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"bad directory", arch("nginx/", ""), "not a v1 image id"},
		{"no json", arch(id+"/", "", id+"/layer.tar", lt), "no json"},
		{"no layer.tar", arch(id+"/", "", id+"/json", js(id, "")), "no layer.tar"},
		{"json names another id", arch(id+"/", "", id+"/json", js(pid, ""), id+"/layer.tar", lt), "names id"},
		{"missing parent", arch(id+"/", "", id+"/json", js(id, pid), id+"/layer.tar", lt), "does not hold"},
		{"tag to a missing id", arch(id+"/", "", id+"/json", js(id, ""), id+"/layer.tar", lt, "repositories", `{"nginx":{"1":"`+pid+`"}}`), "does not hold"},
		{"bad repositories", arch("repositories", `{`), "parsing repositories"},
		{"tag with a colon", arch(id+"/", "", id+"/json", js(id, ""), id+"/layer.tar", lt, "repositories", `{"nginx":{"a:b":"`+id+`"}}`), "Docker 1.3 refuses"},
		{"truncated", arch(id+"/", "", id+"/json", js(id, ""))[:700], "reading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestSkopeoReadsArchive: skopeo's docker-archive transport (containers/image)
// reads the archive by its manifest.json (it refuses an archive without one:
// "loading tar component manifest.json: file does not exist", so the legacy
// part is judged by Read above, which follows Docker 1.3's load) and finds
// the image by the tag the repositories file names; copying it to a dir:
// checks every blob against its digest, and the config and layers it
// stores are the source image's, byte for byte.
func TestSkopeoReadsArchive(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatalf("skopeo is required (Debian package skopeo, scripts/deps.sh): %v", err)
	}
	img := testImage(t, "nginx", baseLayers(t)...)
	data, _ := write(t, img, testOpts)
	dir := t.TempDir()
	archive := filepath.Join(dir, "nginx.tar")
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "copy")
	args := []string{"copy", "docker-archive:" + archive + ":library/nginx:sha256-0123", "dir:" + out}
	if _, err := os.Stat("/etc/containers/policy.json"); err != nil {
		args = append([]string{"--insecure-policy"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "skopeo", args...).CombinedOutput(); err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	cfg, _ := img.ConfigName()
	raw, _ := img.RawConfigFile()
	if got, err := os.ReadFile(filepath.Join(out, cfg.Hex)); err != nil || !bytes.Equal(got, raw) {
		t.Errorf("skopeo's copy of the config %s: %v (%d bytes, want %d)", cfg, err, len(got), len(raw))
	}
	cf, _ := img.ConfigFile()
	for _, d := range cf.RootFS.DiffIDs {
		// The layers of a docker-archive are uncompressed: stored as diff_ids.
		if _, err := os.Stat(filepath.Join(out, d.Hex)); err != nil {
			t.Errorf("layer %s: %v", d, err)
		}
	}
}
