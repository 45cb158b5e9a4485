package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/sbom"
	"golang.org/x/sync/errgroup"
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
	Kind     string   `json:"kind"` // "dir" or "archive"
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
	if arch {
		rep.Kind = "archive"
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

// readDir hashes every file of a bundle directory.
func readDir(ctx context.Context, root string, rep *Report, opts Options) (*contents, error) {
	c := &contents{files: map[string]seen{}}
	var todo []string
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading bundle %q: %w", root, err)
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			rep.add(rel, "not a regular file (%s); bundles hold only files and directories", d.Type())
			return nil
		}
		switch rel {
		case manifest.FileName, manifest.SumsName, manifest.SignatureName:
			data, err := read.Small(p)
			if err != nil {
				return err
			}
			c.setMeta(rel, data)
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += fi.Size()
		}
		todo = append(todo, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	task := progress.Or(opts.Progress).Start("verifying "+filepath.Base(root), total)
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, rel := range todo {
		g.Go(func() error {
			p := filepath.Join(root, filepath.FromSlash(rel))
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			sum, n, err := ctxio.SHA256File(gctx, p, task)
			if err != nil {
				return err
			}
			var data []byte
			if rel == sbom.FileName {
				if data, err = read.Small(p); err != nil {
					return err
				}
			}
			mu.Lock()
			c.files[rel] = seen{size: n, sha: sum, exec: fi.Mode().Perm()&0o111 != 0}
			if rel == sbom.FileName {
				c.sbom, c.hasSBOM = data, true
			}
			mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	task.Done(err)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// bufPool holds the copy buffers of verify and extract.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// errStopRead ends an archive walk after a problem was recorded.
var errStopRead = errors.New("archive read stopped")

// readArchive streams the archive, hashing every file entry. An unsafe
// entry stops the read with a problem and a nil result.
func readArchive(ctx context.Context, p string, rep *Report, opts Options) (*contents, string, error) {
	task := progress.Or(opts.Progress).Start("verifying "+filepath.Base(p), -1)
	c := &contents{files: map[string]seen{}}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	prefix, err := archive.Walk(ctx, p, nil, func(h *tar.Header, rel string, r io.Reader) error {
		if h.Typeflag == tar.TypeDir {
			return nil
		}
		if _, dup := c.files[rel]; dup || (manifest.IsMetaFile(rel) && (rel == manifest.FileName && c.hasManifest || rel == manifest.SumsName && c.hasSums || rel == manifest.SignatureName && c.hasSig)) {
			rep.add(rel, "appears twice in the archive")
			return nil
		}
		if manifest.IsMetaFile(rel) {
			if h.Size > manifest.MaxMetaSize {
				rep.add(rel, "larger than %d bytes", manifest.MaxMetaSize)
				return nil
			}
			data, err := io.ReadAll(r)
			if err != nil {
				rep.add(rel, "reading archive: %v", err)
				return errStopRead
			}
			c.setMeta(rel, data)
			return nil
		}
		hs := sha256.New()
		var w io.Writer = hs
		var keep bytes.Buffer
		if rel == sbom.FileName && h.Size <= manifest.MaxMetaSize {
			w = io.MultiWriter(hs, &keep)
		}
		n, err := io.CopyBuffer(progress.Writer(w, task), r, *bp)
		if err != nil {
			rep.add(rel, "reading archive: %v", err)
			return errStopRead
		}
		if rel == sbom.FileName && h.Size <= manifest.MaxMetaSize {
			c.sbom, c.hasSBOM = keep.Bytes(), true
		}
		c.files[rel] = seen{size: n, sha: hex.EncodeToString(hs.Sum(nil)), exec: h.Mode&0o111 != 0}
		return nil
	})
	var ae *archive.Error
	switch {
	case err == nil:
	case errors.Is(err, errStopRead):
		task.Done(nil)
		return nil, prefix, nil
	case errors.As(err, &ae) && ae.Refused:
		task.Done(nil)
		at := ae.Entry
		if at == "" {
			at = filepath.Base(p)
		}
		rep.add(at, "refused archive entry: %v", ae.Err)
		return nil, prefix, nil
	case errors.As(err, &ae):
		task.Done(err)
		rep.add(filepath.Base(p), "reading archive: %v", ae.Err)
		return nil, prefix, nil
	default:
		task.Done(err)
		return nil, "", err
	}
	task.Done(nil)
	if prefix == "" {
		rep.add(filepath.Base(p), "the archive is empty")
		return nil, "", nil
	}
	return c, prefix, nil
}

func deepChecks(ctx context.Context, root string, m *manifest.Manifest, rep *Report, opts Options) {
	// Each deep check is a task of its own, so that verify shows it is
	// still working until the last one ends.
	start := func(name string) progress.Task { return progress.Or(opts.Progress).Start(name, -1) }
	if opts.Repodata != nil {
		rep.DeepRun = append(rep.DeepRun, "repodata")
		task := start(fmt.Sprintf("deep check: repodata of %d repos", len(m.Repos)))
		for _, r := range m.Repos {
			if err := opts.Repodata(ctx, filepath.Join(root, filepath.FromSlash(r.Dir))); err != nil {
				rep.add(r.Dir, "repodata: %v", err)
			}
		}
		task.Done(ctx.Err())
	}
	if opts.Layout != nil && len(m.Images) > 0 {
		rep.DeepRun = append(rep.DeepRun, "images")
		task := start(fmt.Sprintf("deep check: OCI layout of %d images", len(m.Images)))
		if err := opts.Layout(ctx, filepath.Join(root, manifest.ImagesDir)); err != nil {
			rep.add("images", "OCI layout: %v", err)
		}
		task.Done(ctx.Err())
	}
	if opts.OVF != nil && len(m.Templates) > 0 {
		rep.DeepRun = append(rep.DeepRun, "templates")
		task := start(fmt.Sprintf("deep check: OVF of %d templates", len(m.Templates)))
		for _, t := range m.Templates {
			if t.OVF == "" || manifest.CheckRelPath(t.OVF) != nil {
				continue // reported with the file list
			}
			dir, file := path.Split(t.OVF)
			if err := opts.OVF(ctx, filepath.Join(root, filepath.FromSlash(dir)), strings.TrimSuffix(file, ".ovf")); err != nil {
				rep.add(t.OVF, "template %q: %v", t.Name, err)
			}
		}
		task.Done(ctx.Err())
	}
}
