package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/volume"
	"github.com/bdebundle/bundle/sbom"
)

// Options tune Verify.
type Options struct {
	// Key is an armored (or binary) OpenPGP public key or keyring. When set,
	// bundle.json.sig must be a valid signature of bundle.json by one of its keys.
	Key []byte
	// Deep checks run on bundle directories, and in Extract on the
	// extracted tree (Verify does not run them on an archive's stream):
	// Repodata for each repo dir, Layout for images/, OVF for each template
	// (dir holds dir/<name>.ovf and dir/<name>.mf).
	Repodata func(ctx context.Context, repoDir string) error
	Layout   func(ctx context.Context, dir string) error
	OVF      func(ctx context.Context, dir, name string) error
	// Jobs bounds parallel hashing; 0 is 4.
	Jobs     int
	Progress progress.Reporter
}

// Report is the outcome of Verify. The bundle is good when Problems is empty.
type Report struct {
	Path     string   `json:"path"`
	Kind     string   `json:"kind"` // "dir", "archive" or "volumes"
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Files    int      `json:"files"`
	Bytes    int64    `json:"bytes"`
	Signed   bool     `json:"signed"`              // bundle.json.sig is present
	SignedBy string   `json:"signed_by,omitempty"` // identity of the key that verified it
	DeepRun  []string `json:"deep_checks"`
	// SBOM says sbom.cdx.json was checked against bundle.json.
	SBOM     bool      `json:"sbom_checked"`
	Problems []Problem `json:"problems"`
	// Manifest is the bundle's bundle.json when it parsed; ManifestSHA256
	// the digest of the bytes it was parsed from (what deploy binds its
	// uploads to).
	Manifest       *manifest.Manifest `json:"-"`
	ManifestSHA256 string             `json:"-"`
}

// Problem is one thing wrong with a bundle.
type Problem struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}

// OK reports whether the bundle passed every check.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(p, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Path: p, Problem: fmt.Sprintf(format, args...)})
}

// seen is what was found in the bundle for one file.
type seen struct {
	size int64
	sha  string
	exec bool
}

// contents is everything Verify reads from a bundle: the metadata files in
// full and a digest of every other file.
type contents struct {
	manifest, sums, sig []byte
	hasManifest         bool
	hasSums, hasSig     bool
	files               map[string]seen
	// sbom is the content of sbom.cdx.json (also hashed like any file).
	sbom    []byte
	hasSBOM bool
}

// setMeta records the content of bundle metadata file rel.
func (c *contents) setMeta(rel string, data []byte) {
	switch rel {
	case manifest.FileName:
		c.manifest, c.hasManifest = data, true
	case manifest.SumsName:
		c.sums, c.hasSums = data, true
	default:
		c.sig, c.hasSig = data, true
	}
}

// Verify checks the bundle at path, a bundle directory or an archive
// (.tar.zst, .tar.gz, .tar; read as a stream, never extracted): every file's
// size, sha256 and mode against bundle.json, no missing or extra files,
// SHA256SUMS, the cross-references of bundle.json, and the signature when
// opts.Key is set. Archive entries that are links, absolute, hold "..", or
// lie outside <name>-<version>/ are refused. Problems go to the Report; the
// error is for failures to read at all.
func Verify(ctx context.Context, path string, opts Options) (*Report, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	rep := &Report{Path: path, Kind: "dir", DeepRun: []string{}, Problems: []Problem{}}
	var c *contents
	prefix := ""
	var set *volume.Set
	if arch {
		rep.Kind = "archive"
		if volume.IsSet(path) {
			rep.Kind = "volumes"
			if set = openVolumes(path, opts.Key, rep); set == nil {
				return rep, nil
			}
		}
		c, prefix, err = readArchive(ctx, path, rep, opts)
	} else {
		c, err = readDir(ctx, path, rep, opts)
	}
	if err != nil {
		return nil, err
	}
	if c == nil {
		return rep, nil // refused
	}
	m := checkContents(c, rep)
	if m == nil {
		return rep, nil
	}
	checkVolumeBinding(set, m, rep)
	if arch && prefix != m.Dir() {
		rep.add(prefix+"/", "the archive's top directory is %q but bundle.json names %q", prefix, m.Dir())
	}
	if !arch && filepath.Base(filepath.Clean(path)) != m.Dir() {
		rep.add(manifest.FileName, "the directory is named %q but bundle.json names %q", filepath.Base(filepath.Clean(path)), m.Dir())
	}
	deepRoot := ""
	if !arch {
		deepRoot = path
	}
	checkRest(ctx, c, m, rep, opts, deepRoot)
	return rep, nil
}

// openVolumes opens the volume set at path before anything is read from
// its volumes: with key, its manifest's signature must check; every volume
// must be there at its recorded size. A fault is a problem of the Report
// naming the volume, and nil is returned.
func openVolumes(path string, key []byte, rep *Report) *volume.Set {
	set, err := volume.Open(path, key)
	if err != nil {
		rep.add(filepath.Base(path), "%v", err)
		return nil
	}
	return set
}

// checkVolumeBinding checks that the volume set's manifest names the bundle
// its volumes hold: its name, version and bundle.json digest.
func checkVolumeBinding(set *volume.Set, m *manifest.Manifest, rep *Report) {
	if set == nil {
		return
	}
	vm := set.Manifest
	if vm.Name != m.Name || vm.Version != m.Version || vm.BundleSHA256 != rep.ManifestSHA256 {
		rep.add(filepath.Base(set.Path), "the volume manifest names bundle %s-%s (bundle.json sha256 %s) but the volumes hold %s (sha256 %s)", vm.Name, vm.Version, vm.BundleSHA256, m.Dir(), rep.ManifestSHA256)
	}
}

// checkRest finishes a check of what was read against bundle.json m: the
// signature, the SBOM, and, when deepRoot names the bundle's directory, the
// deep checks over it. Problems come out sorted by path.
func checkRest(ctx context.Context, c *contents, m *manifest.Manifest, rep *Report, opts Options, deepRoot string) {
	checkSig(c, rep, opts.Key)
	if m.HasFile(sbom.FileName) && c.hasSBOM {
		rep.SBOM = true
		checkSBOM(m, c.sbom, rep)
	}
	if deepRoot != "" {
		deepChecks(ctx, deepRoot, m, rep, opts)
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Path < rep.Problems[j].Path })
}

func checkSig(c *contents, rep *Report, key []byte) {
	rep.Signed = c.hasSig
	if len(key) == 0 {
		return
	}
	if !c.hasSig {
		rep.add(manifest.SignatureName, "missing: a key was given but the bundle is not signed")
		return
	}
	who, err := manifest.CheckSignature(c.manifest, c.sig, key, time.Now())
	if err != nil {
		rep.add(manifest.SignatureName, "bad signature of bundle.json: %v", err)
		return
	}
	rep.SignedBy = who
}

// checkContents compares what was read with bundle.json and SHA256SUMS.
func checkContents(c *contents, rep *Report) *manifest.Manifest {
	if !c.hasManifest {
		rep.add(manifest.FileName, "missing")
		return nil
	}
	m, err := manifest.Parse(c.manifest)
	if err != nil {
		rep.add(manifest.FileName, "%v", err)
		return nil
	}
	rep.Name, rep.Version, rep.Manifest = m.Name, m.Version, m
	sum := sha256.Sum256(c.manifest)
	rep.ManifestSHA256 = hex.EncodeToString(sum[:])
	rep.Files = len(m.Files)
	listed := map[string]manifest.FileEntry{}
	for _, f := range m.Files {
		if _, dup := listed[f.Path]; dup {
			rep.add(f.Path, "listed twice in bundle.json")
		}
		listed[f.Path] = f
		rep.Bytes += f.Size
		got, ok := c.files[f.Path]
		switch {
		case !ok:
			rep.add(f.Path, "missing")
		case got.size != f.Size:
			rep.add(f.Path, "size is %d bytes, bundle.json says %d", got.size, f.Size)
		case got.sha != f.SHA256:
			rep.add(f.Path, "sha256 is %s, bundle.json says %s", got.sha, f.SHA256)
		case got.exec != f.Executable():
			rep.add(f.Path, "mode is %s, bundle.json says %s", manifest.ModeString(got.exec), f.Mode)
		}
	}
	for p := range c.files {
		if _, ok := listed[p]; !ok {
			rep.add(p, "extra file: not listed in bundle.json")
		}
	}
	if !c.hasSums {
		rep.add(manifest.SumsName, "missing")
	} else if want := manifest.Sums(m.Files); !bytes.Equal(c.sums, want) {
		rep.add(manifest.SumsName, "does not match bundle.json (%s)", firstSumsDiff(c.sums, want))
	}
	// Cross-references inside bundle.json.
	for _, r := range m.Repos {
		if r.RepoFile != "" {
			if _, ok := listed[r.RepoFile]; !ok {
				rep.add(r.RepoFile, "repo %q names this .repo file but it is not in the bundle", r.Name)
			}
		}
		for _, p := range r.Packages {
			fp := r.Dir + "/" + p.Location
			f, ok := listed[fp]
			if !ok {
				rep.add(fp, "repo %q lists package %s but the file is not in the bundle", r.Name, p.NEVRA)
				continue
			}
			if f.SHA256 != p.SHA256 || f.Size != p.Size {
				rep.add(fp, "repo %q records a different size or sha256 for %s than the file list", r.Name, p.NEVRA)
			}
		}
	}
	for _, t := range m.Templates {
		if t.OVF != "" {
			f, ok := listed[t.OVF]
			if !ok {
				rep.add(t.OVF, "template %q names this descriptor but it is not in the bundle", t.Name)
			} else if f.SHA256 != t.SHA256 {
				rep.add(t.OVF, "template %q records sha256 %s, the file list says %s", t.Name, t.SHA256, f.SHA256)
			}
		}
		if _, ok := listed[t.OVA]; t.OVA != "" && !ok {
			rep.add(t.OVA, "template %q names this OVA but it is not in the bundle", t.Name)
		}
	}
	return m
}

func firstSumsDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d is %q, expected %q", i+1, a, b)
		}
	}
	return "differs"
}
