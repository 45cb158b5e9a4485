package dockersave

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/dockername"
)

// Options name what the archive's repositories file tags the image as, and
// the modification time of every archive entry.
type Options struct {
	// Repository and Tag are what `docker load` tags the top layer as.
	Repository, Tag string
	// ModTime is the mtime of every entry (the bundle's epoch).
	ModTime time.Time
}

// Result describes a written archive.
type Result struct {
	// ID is the v1 id of the top layer: what the tag points at after
	// `docker load`, and what `docker inspect` reports.
	ID string `json:"id"`
	// IDs are the v1 ids of every layer, base first.
	IDs []string `json:"ids"`
	// SHA256 and Size are the archive's bytes.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// ConfigDigest is the image config the archive was made from.
	ConfigDigest string `json:"config_digest"`
}

// idRE matches a v1 image id.
var idRE = regexp.MustCompile(`^[a-f0-9]{64}$`)

// ValidRepository reports whether name is a repository Docker 1.3 tags.
func ValidRepository(name string) bool { return dockername.ValidRepository(name) }

// ValidTag reports whether tag is a tag every Docker accepts.
func ValidTag(tag string) bool { return dockername.ValidTag(tag) }

// opaqueWhiteout is the marker of a directory whose lower content is hidden.
// Docker 1.3 applies layers with plain .wh.<name> whiteouts only: it would
// leave the lower directory's files in place.
const opaqueWhiteout = ".wh..wh..opq"

// v1Config is the container configuration as Docker 1.3's runconfig.Config
// reads it; fields later Dockers added are left out.
type v1Config struct {
	Hostname        string              `json:"Hostname"`
	Domainname      string              `json:"Domainname"`
	User            string              `json:"User"`
	AttachStdin     bool                `json:"AttachStdin"`
	AttachStdout    bool                `json:"AttachStdout"`
	AttachStderr    bool                `json:"AttachStderr"`
	ExposedPorts    map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty             bool                `json:"Tty"`
	OpenStdin       bool                `json:"OpenStdin"`
	StdinOnce       bool                `json:"StdinOnce"`
	Env             []string            `json:"Env"`
	Cmd             []string            `json:"Cmd"`
	Image           string              `json:"Image"`
	Volumes         map[string]struct{} `json:"Volumes"`
	WorkingDir      string              `json:"WorkingDir"`
	Entrypoint      []string            `json:"Entrypoint"`
	NetworkDisabled bool                `json:"NetworkDisabled"`
	OnBuild         []string            `json:"OnBuild"`
}

// v1Image is a layer's json file, as Docker 1.3's image.Image reads it.
type v1Image struct {
	ID           string    `json:"id"`
	Parent       string    `json:"parent,omitempty"`
	Created      string    `json:"created"`
	Config       *v1Config `json:"config,omitempty"`
	Architecture string    `json:"architecture,omitempty"`
	OS           string    `json:"os,omitempty"`
}

// manifestEntry is one image of manifest.json (docker save since 1.10).
type manifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// layerCreated is the created time of every layer but the top one: an
// intermediate id names one json, whatever image it belongs to.
const layerCreated = "1970-01-01T00:00:00Z"

// Write writes img to w as a legacy `docker save` archive. The image must
// have at least one layer; each layer is read twice (once to measure and
// check it against the config's diff_id, once to write it) and checked both
// times.
func Write(ctx context.Context, w io.Writer, img v1.Image, opts Options) (Result, error) {
	var res Result
	if !ValidRepository(opts.Repository) {
		return res, fmt.Errorf("repository %q is not a name Docker 1.3 loads (lower-case path components)", opts.Repository)
	}
	if !ValidTag(opts.Tag) {
		return res, fmt.Errorf("tag %q is not a Docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128 characters)", opts.Tag)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return res, fmt.Errorf("reading the image config: %w", err)
	}
	cfgDigest, err := img.ConfigName()
	if err != nil {
		return res, fmt.Errorf("reading the image config digest: %w", err)
	}
	if sum := sha256.Sum256(rawCfg); cfgDigest.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != cfgDigest.Hex {
		return res, fmt.Errorf("the image config does not match its digest %s", cfgDigest)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return res, fmt.Errorf("parsing the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return res, fmt.Errorf("reading the image layers: %w", err)
	}
	if len(layers) == 0 {
		return res, errors.New("the image has no layers; Docker 1.3 loads images of at least one layer")
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return res, fmt.Errorf("the image has %d layers but its config lists %d diff_ids", len(layers), len(cfg.RootFS.DiffIDs))
	}
	res.ConfigDigest = cfgDigest.String()

	// Measure and check every layer, and compute the id chain.
	sizes := make([]int64, len(layers))
	parent := ""
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		want := cfg.RootFS.DiffIDs[i]
		n, err := checkLayer(l, want)
		if err != nil {
			return res, fmt.Errorf("layer %d (%s): %w", i+1, want, err)
		}
		sizes[i] = n
		top := ""
		if i == len(layers)-1 {
			top = cfgDigest.String()
		}
		id := chainID(parent, want.String(), top)
		res.IDs = append(res.IDs, id)
		parent = id
	}
	res.ID = res.IDs[len(res.IDs)-1]

	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	tw := tar.NewWriter(cw)
	mt := opts.ModTime.UTC().Truncate(time.Second)
	hdr := func(name string, typ byte, size int64) *tar.Header {
		mode := int64(0o644)
		if typ == tar.TypeDir {
			mode = 0o755
		}
		return &tar.Header{Name: name, Typeflag: typ, Size: size, Mode: mode, ModTime: mt, Format: tar.FormatUSTAR}
	}
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(hdr(name, tar.TypeReg, int64(len(data)))); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	}
	var layerPaths []string
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		id := res.IDs[i]
		meta := v1Image{ID: id, Created: layerCreated, Architecture: cfg.Architecture, OS: cfg.OS}
		if i > 0 {
			meta.Parent = res.IDs[i-1]
		}
		if i == len(layers)-1 {
			meta.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
			meta.Config = legacyConfig(cfg.Config)
		}
		js, err := json.Marshal(meta)
		if err != nil {
			return res, fmt.Errorf("encoding the json of layer %d: %w", i+1, err)
		}
		if err := tw.WriteHeader(hdr(id+"/", tar.TypeDir, 0)); err != nil {
			return res, fmt.Errorf("writing %s/: %w", id, err)
		}
		if err := file(id+"/VERSION", []byte("1.0")); err != nil {
			return res, err
		}
		if err := file(id+"/json", js); err != nil {
			return res, err
		}
		name := id + "/layer.tar"
		if err := tw.WriteHeader(hdr(name, tar.TypeReg, sizes[i])); err != nil {
			return res, fmt.Errorf("writing %s (%d bytes; Docker 1.3 reads ustar archives, up to 8 GiB a layer): %w", name, sizes[i], err)
		}
		if err := copyLayer(tw, l, cfg.RootFS.DiffIDs[i], sizes[i]); err != nil {
			return res, fmt.Errorf("layer %d (%s): %w", i+1, cfg.RootFS.DiffIDs[i], err)
		}
		layerPaths = append(layerPaths, name)
	}
	cfgName := cfgDigest.Hex + ".json"
	if err := file(cfgName, rawCfg); err != nil {
		return res, err
	}
	ref := opts.Repository + ":" + opts.Tag
	man, err := json.Marshal([]manifestEntry{{Config: cfgName, RepoTags: []string{ref}, Layers: layerPaths}})
	if err != nil {
		return res, fmt.Errorf("encoding manifest.json: %w", err)
	}
	if err := file("manifest.json", man); err != nil {
		return res, err
	}
	repos, err := json.Marshal(map[string]map[string]string{opts.Repository: {opts.Tag: res.ID}})
	if err != nil {
		return res, fmt.Errorf("encoding repositories: %w", err)
	}
	if err := file("repositories", repos); err != nil {
		return res, err
	}
	if err := tw.Close(); err != nil {
		return res, fmt.Errorf("finishing the archive: %w", err)
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	res.Size = cw.n
	return res, nil
}

// chainID is the v1 id of a layer: the sha256 of its parent's id, its
// diff_id and, for the top layer, the config digest. Docker's short ids are
// the first 12 characters, and Docker 1.3 refuses to create an id whose
// short form is all digits (the CLI would read it as a number): such an id
// is hashed again with a counter.
func chainID(parent, diffID, config string) string {
	for n := 0; ; n++ {
		h := sha256.New()
		fmt.Fprintf(h, "bundle docker v1 id\nparent %s\nlayer %s\n", parent, diffID)
		if config != "" {
			fmt.Fprintf(h, "config %s\n", config)
		}
		if n > 0 {
			fmt.Fprintf(h, "retry %d\n", n)
		}
		id := hex.EncodeToString(h.Sum(nil))
		if _, err := strconv.ParseInt(id[:12], 10, 64); err != nil {
			return id
		}
	}
}

// legacyConfig keeps the fields of the image's container config that Docker
// 1.3 knows.
func legacyConfig(c v1.Config) *v1Config {
	out := &v1Config{Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
		AttachStdin: c.AttachStdin, AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr,
		ExposedPorts: c.ExposedPorts, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
		Env: c.Env, Cmd: c.Cmd, Image: c.Image, Volumes: c.Volumes, WorkingDir: c.WorkingDir,
		Entrypoint: c.Entrypoint, NetworkDisabled: c.NetworkDisabled, OnBuild: c.OnBuild}
	return out
}

// checkLayer reads the uncompressed layer, checks it is a tar whose sha256
// is want and that Docker 1.3 can apply it (no opaque whiteouts), and returns
// its size.
func checkLayer(l v1.Layer, want v1.Hash) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, fmt.Errorf("opening: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	cr := &ctxio.CountingReader{R: io.TeeReader(rc, h)}
	tr := tar.NewReader(cr)
	for {
		th, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("reading the layer as a tar: %w", err)
		}
		if path.Base(strings.TrimSuffix(th.Name, "/")) == opaqueWhiteout {
			return 0, fmt.Errorf("%s marks %s opaque: Docker before 1.6 does not apply opaque whiteouts (files of the lower layers would stay)", th.Name, path.Dir(th.Name))
		}
	}
	// The rest of the stream (tar padding) counts in the digest too.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return 0, fmt.Errorf("reading: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); want.Algorithm != "sha256" || got != want.Hex {
		return 0, fmt.Errorf("the uncompressed layer is sha256:%s, not its diff_id %s", got, want)
	}
	return cr.N, nil
}

// copyLayer writes the uncompressed layer to w, checking its size and digest
// again: the archive is never finished with a layer that changed between
// the two reads.
func copyLayer(w io.Writer, l v1.Layer, want v1.Hash, size int64) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, size+1))
	if err != nil {
		return fmt.Errorf("copying: %w", err)
	}
	if n != size {
		return fmt.Errorf("the layer was %d bytes, then %d", size, n)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("the layer changed while it was written (sha256:%s, not %s)", got, want)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
