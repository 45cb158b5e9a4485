package vcenter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
)

// Bundle is the bundle.json of a bundle directory, as deploy reads it.
type Bundle struct {
	*manifest.Manifest

	// Dir is the bundle directory the manifest was read from.
	Dir string
	// SHA256 is the digest of the bundle.json bytes this was parsed from.
	SHA256 string
}

// The entries of bundle.json that deploy reads.
type (
	File     = manifest.FileEntry
	Image    = manifest.ImageInfo
	Template = manifest.TemplateEntry
	Target   = manifest.TargetEntry
)

// ID names the bundle as "name version".
func (b *Bundle) ID() string { return b.Name + " " + b.Version }

// LoadBundle reads and checks dir/bundle.json. A malformed manifest is a
// *manifest.VerifyError naming the file.
func LoadBundle(dir string) (*Bundle, error) {
	p := filepath.Join(dir, "bundle.json")
	data, err := regular.ReadFile(p, manifest.MaxMetaSize)
	if err != nil {
		return nil, &manifest.VerifyError{Path: dir, Err: fmt.Errorf("reading %q: %w", p, err)}
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, &manifest.VerifyError{Path: dir, Err: fmt.Errorf("reading %q: %w", p, err)}
	}
	sum := sha256.Sum256(data)
	return NewBundle(dir, m, hex.EncodeToString(sum[:]))
}

// NewBundle checks m, the bundle.json of the bundle directory dir whose
// bytes hash to sha256 (hex), as LoadBundle does, without reading it again:
// for a caller that has verified the bundle and holds its bundle.json.
func NewBundle(dir string, m *manifest.Manifest, sha256 string) (*Bundle, error) {
	p := filepath.Join(dir, "bundle.json")
	b := Bundle{Manifest: m, SHA256: sha256}
	bad := func(format string, a ...any) error {
		return &manifest.VerifyError{Path: dir, Err: fmt.Errorf("%s: %s", p, fmt.Sprintf(format, a...))}
	}
	seen := make(map[string]bool, len(b.Files))
	for _, f := range b.Files {
		seen[f.Path] = true
	}
	for i, t := range b.Templates {
		if t.Name == "" || manifest.CheckRelPath(t.OVF) != nil || !seen[t.OVF] {
			return nil, bad("templates[%d] %q: ovf %q is not a file of the bundle", i, t.Name, t.OVF)
		}
	}
	b.Dir = dir
	return &b, nil
}

// CheckFiles verifies every entry of bundle.json files[] against the bundle
// directory: each file exists, is regular, has the listed size and sha256.
// A mismatch is a *manifest.VerifyError.
func CheckFiles(ctx context.Context, dir string) error {
	_, err := checkFiles(ctx, dir)
	return err
}

// checkFiles is CheckFiles giving the digest of the bundle.json it checked
// against: the default verification of deploy.
func checkFiles(ctx context.Context, dir string) (string, error) {
	b, err := LoadBundle(dir)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, f := range b.Files {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if err := checkFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f); err != nil {
			errs = append(errs, err)
			if len(errs) >= 10 {
				break
			}
		}
	}
	if len(errs) > 0 {
		return "", &manifest.VerifyError{Path: dir, Err: errors.Join(errs...)}
	}
	return b.SHA256, nil
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
		if strings.HasPrefix(f.Path, manifest.ImagesDir+"/") {
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
