package vcenter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Bundle is the part of a bundle's bundle.json that deploy reads.
type Bundle struct {
	Schema    string     `json:"schema"`
	Name      string     `json:"name"`
	Version   string     `json:"version"`
	Files     []File     `json:"files"`
	Images    []Image    `json:"images"`
	Templates []Template `json:"templates"`
	Targets   []Target   `json:"targets"`

	// Dir is the bundle directory the manifest was read from.
	Dir string `json:"-"`
}

// File is one entry of bundle.json files[].
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   string `json:"mode"`
}

// Image is one entry of bundle.json images[].
type Image struct {
	Name   string `json:"name"`
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
}

// Template is one entry of bundle.json templates[].
type Template struct {
	Name   string `json:"name"`
	OVF    string `json:"ovf"`
	OVA    string `json:"ova"`
	SHA256 string `json:"sha256"`
}

// Target is one entry of bundle.json targets[]: where the bundle goes.
type Target struct {
	Name             string `json:"name"`
	Datacenter       string `json:"datacenter"`
	Datastore        string `json:"datastore"`
	Folder           string `json:"folder"`
	Library          string `json:"library"`
	ResourcePool     string `json:"resource_pool"`
	Network          string `json:"network"`
	DatastorePath    string `json:"datastore_path"`
	Registry         string `json:"registry"`
	ManagementServer string `json:"management_server"`
}

// ID names the bundle as "name version".
func (b *Bundle) ID() string { return b.Name + " " + b.Version }

// VerifyError reports a bundle whose contents do not match its manifest.
// A bundle that does not verify is never deployed.
type VerifyError struct {
	Dir string
	Err error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("bundle %s does not verify: %v", e.Dir, e.Err)
}
func (e *VerifyError) Unwrap() error { return e.Err }

// LoadBundle reads and checks dir/bundle.json. A malformed manifest is a
// *VerifyError naming the file.
func LoadBundle(dir string) (*Bundle, error) {
	p := filepath.Join(dir, "bundle.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, &VerifyError{Dir: dir, Err: fmt.Errorf("reading %q: %w", p, err)}
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, &VerifyError{Dir: dir, Err: fmt.Errorf("parsing %q: %w", p, err)}
	}
	bad := func(format string, a ...any) error {
		return &VerifyError{Dir: dir, Err: fmt.Errorf("%s: %s", p, fmt.Sprintf(format, a...))}
	}
	if b.Schema != "bundle/v1" {
		return nil, bad("schema is %q, want \"bundle/v1\"", b.Schema)
	}
	if b.Name == "" || b.Version == "" {
		return nil, bad("name and version must be set")
	}
	seen := make(map[string]bool, len(b.Files))
	for i, f := range b.Files {
		if err := checkRelPath(f.Path); err != nil {
			return nil, bad("files[%d]: %v", i, err)
		}
		if seen[f.Path] {
			return nil, bad("files[%d]: %q listed twice", i, f.Path)
		}
		seen[f.Path] = true
		if len(f.SHA256) != 64 {
			return nil, bad("files[%d] %q: sha256 %q is not 64 hex digits", i, f.Path, f.SHA256)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil {
			return nil, bad("files[%d] %q: sha256 %q is not hex", i, f.Path, f.SHA256)
		}
		if f.Size < 0 {
			return nil, bad("files[%d] %q: negative size", i, f.Path)
		}
	}
	for i, t := range b.Templates {
		if t.Name == "" || checkRelPath(t.OVF) != nil || !seen[t.OVF] {
			return nil, bad("templates[%d] %q: ovf %q is not a file of the bundle", i, t.Name, t.OVF)
		}
	}
	b.Dir = dir
	return &b, nil
}

func checkRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return fmt.Errorf("path %q is not relative", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." || el == "" {
			return fmt.Errorf("path %q is not clean", p)
		}
	}
	return nil
}

// CheckFiles verifies every entry of bundle.json files[] against the bundle
// directory: each file exists, is regular, has the listed size and sha256.
// It is the default verification of deploy; a mismatch is a *VerifyError.
func CheckFiles(ctx context.Context, dir string) error {
	b, err := LoadBundle(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range b.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f); err != nil {
			errs = append(errs, err)
			if len(errs) >= 10 {
				break
			}
		}
	}
	if len(errs) > 0 {
		return &VerifyError{Dir: dir, Err: errors.Join(errs...)}
	}
	return nil
}

func checkFile(p string, f File) error {
	fh, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("opening %q: %w", f.Path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("reading %q: %w", f.Path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%q is not a regular file", f.Path)
	}
	if st.Size() != f.Size {
		return fmt.Errorf("%q: size %d, bundle.json says %d", f.Path, st.Size(), f.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("reading %q: %w", f.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%q: sha256 %s, bundle.json says %s", f.Path, got, f.SHA256)
	}
	return nil
}

// serengetiFiles returns the files of the serengeti/ tree, sorted by path.
func (b *Bundle) serengetiFiles() []File {
	var out []File
	for _, f := range b.Files {
		if strings.HasPrefix(f.Path, "serengeti/") {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// templateFiles returns the files of template t: everything under the
// directory of its .ovf but the descriptors and manifests of other
// templates (node groups' derived templates share their base's directory
// and disks).
func (b *Bundle) templateFiles(t Template) []File {
	dir := path.Dir(t.OVF) + "/"
	own := strings.TrimSuffix(t.OVF, ".ovf")
	var out []File
	for _, f := range b.Files {
		if !strings.HasPrefix(f.Path, dir) {
			continue
		}
		if ext := path.Ext(f.Path); (ext == ".ovf" || ext == ".mf") && strings.TrimSuffix(f.Path, ext) != own {
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// templateDigest is a sha256 over the paths and sha256s of a template's
// files, so a changed disk or manifest changes it even when the .ovf does not.
func (b *Bundle) templateDigest(t Template) (digest string, size int64) {
	h := sha256.New()
	for _, f := range b.templateFiles(t) {
		fmt.Fprintf(h, "%s  %s\n", f.SHA256, strings.TrimPrefix(f.Path, path.Dir(t.OVF)+"/"))
		size += f.Size
	}
	return hex.EncodeToString(h.Sum(nil)), size
}

// imageDigest is a sha256 over the bundle's image refs and digests.
func (b *Bundle) imageDigest() (digest string, size int64) {
	imgs := append([]Image(nil), b.Images...)
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Name < imgs[j].Name })
	h := sha256.New()
	for _, im := range imgs {
		fmt.Fprintf(h, "%s %s %s\n", im.Name, im.Ref, im.Digest)
	}
	for _, f := range b.Files {
		if strings.HasPrefix(f.Path, "images/") {
			size += f.Size
		}
	}
	return hex.EncodeToString(h.Sum(nil)), size
}

// treeDigest is a sha256 over the serengeti/ tree's paths and sha256s.
func (b *Bundle) treeDigest() (digest string, size int64) {
	h := sha256.New()
	for _, f := range b.serengetiFiles() {
		fmt.Fprintf(h, "%s  %s\n", f.SHA256, f.Path)
		size += f.Size
	}
	return hex.EncodeToString(h.Sum(nil)), size
}
