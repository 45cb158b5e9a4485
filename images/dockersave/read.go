package dockersave

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Layer is one layer directory of an archive, as `docker load` registers it.
type Layer struct {
	ID, Parent string
	Created    time.Time
	// Config is the container config of the layer's json ("null" when it
	// has none); Docker 1.3 runs a container with the top layer's.
	Config json.RawMessage
	// LayerSHA256 and LayerSize are layer.tar's bytes (the diff_id).
	LayerSHA256 string
	LayerSize   int64
	// Version is the VERSION file.
	Version string
}

// Archive is what Docker 1.3's `docker load` finds in an archive: the layer
// directories and the repositories file. Other top-level files (manifest.json
// and the config of later archives) are not read by it.
type Archive struct {
	Layers       map[string]*Layer
	Repositories map[string]map[string]string
	// Files are the top-level regular files, by name.
	Files map[string][]byte
}

// maxMeta bounds the json, VERSION, repositories and top-level files read
// into memory.
const maxMeta = 16 << 20

// Read parses a legacy archive the way Docker 1.3 loads it: every top-level
// directory is a layer with a json naming the same id, a parent that is in
// the archive (Docker loads the parent first), and a layer.tar that is a tar;
// the repositories file maps repository and tag to a layer id. It refuses
// what `docker load` would fail on.
func Read(r io.Reader) (*Archive, error) {
	a := &Archive{Layers: map[string]*Layer{}, Files: map[string][]byte{}}
	get := func(id string) *Layer {
		if a.Layers[id] == nil {
			a.Layers[id] = &Layer{ID: id}
		}
		return a.Layers[id]
	}
	jsons := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the archive: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		dir, base, nested := strings.Cut(strings.TrimSuffix(name, "/"), "/")
		switch {
		case h.Typeflag == tar.TypeDir && !nested:
			if !idRE.MatchString(dir) {
				return nil, fmt.Errorf("directory %q is not a v1 image id (64 lower-case hex digits)", dir)
			}
			get(dir)
		case !nested:
			if h.Typeflag != tar.TypeReg {
				return nil, fmt.Errorf("%s is not a regular file", name)
			}
			b, err := readAll(tr, name)
			if err != nil {
				return nil, err
			}
			a.Files[name] = b
		case h.Typeflag != tar.TypeReg:
			return nil, fmt.Errorf("%s is not a regular file", name)
		case base == "json", base == "VERSION":
			b, err := readAll(tr, name)
			if err != nil {
				return nil, err
			}
			if base == "json" {
				jsons[dir] = b
			} else {
				get(dir).Version = string(b)
			}
		case base == "layer.tar":
			sum := sha256.New()
			n, err := io.Copy(sum, tr)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			l := get(dir)
			l.LayerSHA256, l.LayerSize = hex.EncodeToString(sum.Sum(nil)), n
		default:
			return nil, fmt.Errorf("unexpected file %s in a layer directory", name)
		}
	}
	for id, l := range a.Layers {
		if !idRE.MatchString(id) {
			return nil, fmt.Errorf("%q is not a v1 image id", id)
		}
		js, ok := jsons[id]
		if !ok {
			return nil, fmt.Errorf("layer %s has no json", id)
		}
		var meta struct {
			ID      string          `json:"id"`
			Parent  string          `json:"parent"`
			Created time.Time       `json:"created"`
			Config  json.RawMessage `json:"config"`
		}
		if err := json.Unmarshal(js, &meta); err != nil {
			return nil, fmt.Errorf("parsing %s/json: %w", id, err)
		}
		if meta.ID != id {
			return nil, fmt.Errorf("%s/json names id %q", id, meta.ID)
		}
		if l.LayerSHA256 == "" {
			return nil, fmt.Errorf("layer %s has no layer.tar", id)
		}
		l.Parent, l.Created, l.Config = meta.Parent, meta.Created, meta.Config
	}
	for id, l := range a.Layers {
		if l.Parent != "" && a.Layers[l.Parent] == nil {
			return nil, fmt.Errorf("layer %s names parent %s, which the archive does not hold", id, l.Parent)
		}
	}
	if b, ok := a.Files["repositories"]; ok {
		if err := json.Unmarshal(b, &a.Repositories); err != nil {
			return nil, fmt.Errorf("parsing repositories: %w", err)
		}
		for repo, tags := range a.Repositories {
			if repo == "" {
				return nil, errors.New("repositories names an empty repository")
			}
			for tag, id := range tags {
				// Docker 1.3's TagStore.Set: a tag is not empty and holds
				// neither '/' nor ':'.
				if tag == "" || strings.ContainsAny(tag, "/:") {
					return nil, fmt.Errorf("repositories tags %s with %q, which Docker 1.3 refuses", repo, tag)
				}
				if a.Layers[id] == nil {
					return nil, fmt.Errorf("repositories tags %s:%s as %s, which the archive does not hold", repo, tag, id)
				}
			}
		}
	}
	return a, nil
}

// Chain returns the layers from the one repository:tag names down to the
// base, or an error when the tag is absent or the parents loop.
func (a *Archive) Chain(repository, tag string) ([]*Layer, error) {
	id, ok := a.Repositories[repository][tag]
	if !ok {
		return nil, fmt.Errorf("the archive does not tag %s:%s", repository, tag)
	}
	var out []*Layer
	for id != "" {
		l := a.Layers[id]
		if l == nil {
			return nil, fmt.Errorf("layer %s is missing", id)
		}
		if slices.Contains(out, l) {
			return nil, fmt.Errorf("the parents of %s loop", id)
		}
		out = append(out, l)
		id = l.Parent
	}
	return out, nil
}

func readAll(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMeta+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxMeta {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxMeta)
	}
	return b, nil
}
