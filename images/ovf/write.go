package ovf

import (
	"github.com/bdebundle/bundle/internal/vmtemplate"

	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
)

// Options tune Write.
type Options struct {
	// ManifestHash is the .mf digest: "SHA256" (default), "SHA1" or "SHA512".
	// vSphere's NFC lease (and the vCenter simulator) verify SHA1 entries.
	ManifestHash string
	// Link hard-links the source disks into dir when the filesystem allows,
	// instead of copying them.
	Link bool
	// Progress receives the bytes of disk copied and hashed; nil reports nothing.
	Progress progress.Reporter
	// InPlace writes into dir itself instead of a temporary directory that
	// then replaces dir: for a dir inside a staging directory the caller
	// swaps into place as a whole (builder.Build's), so the template is not
	// staged twice. Disks already at their place in dir are hashed, not
	// copied. On error dir may hold part of the template.
	InPlace bool
	// Derived templates (from Template.Derive: same disks, NICs and
	// hardware, other names and property defaults) are written into the same
	// directory as <derived>.ovf and <derived>.mf, referencing the base
	// template's disk files, so the disks are stored once.
	Derived []Template
}

// File is one file of a written template.
type File struct {
	Name   string // base name inside the template directory
	Size   int64
	Digest string // lowercase hex, in the manifest's algorithm
}

// Result describes a written template directory.
type Result struct {
	Dir          string
	OVF          string // <name>.ovf
	Manifest     string // <name>.mf
	ManifestHash string // SHA256, SHA1 or SHA512
	Files        []File // the .ovf, then the disks in References order
	Disks        []*VMDKInfo
	Derived      []string // the derived templates' names, as in Options.Derived
}

var hashes = map[string]func() hash.Hash{
	"SHA1":   sha1.New,
	"SHA256": sha256.New,
	"SHA512": sha512.New,
}

func manifestHash(name string) (string, func() hash.Hash, error) {
	if name == "" {
		name = "SHA256"
	}
	name = strings.ToUpper(name)
	h, ok := hashes[name]
	if !ok {
		return "", nil, fmt.Errorf("unknown manifest hash %q (SHA256, SHA1, SHA512)", name)
	}
	return name, h, nil
}

// DiskFileName is the name Write gives the i-th (0-based) disk of template name.
func DiskFileName(name string, i int) string { return vmtemplate.DiskFileName(name, i) }

// Write checks t and writes dir/<name>.ovf, dir/<name>.mf and the disk files
// (<name>-disk<N>.vmdk). The output bytes depend only on t and the disks. The
// files are written into a temporary directory beside dir, which then
// replaces dir; on error dir is left as it was.
func Write(ctx context.Context, dir string, t Template, opts Options) (res *Result, err error) {
	algo, newHash, err := manifestHash(opts.ManifestHash)
	if err != nil {
		return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
	}
	infos, err := check(t)
	if err != nil {
		return nil, err
	}
	if err := checkDerived(t, opts.Derived); err != nil {
		return nil, err
	}
	t = t.WithDefaults()

	var total int64
	for _, in := range infos {
		if in != nil {
			total += in.FileSize
		}
	}
	task := progress.Or(opts.Progress).Start("template "+t.Name, total)
	defer func() { task.Done(err) }()

	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
	}
	var tmp string
	if opts.InPlace {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
		}
		tmp = dir
	} else {
		tmp, err = os.MkdirTemp(parent, "."+base+".tmp-")
		if err != nil {
			return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
		}
		defer func() {
			if tmp != "" {
				os.RemoveAll(tmp)
			}
		}()
		if err := os.Chmod(tmp, 0o755); err != nil {
			return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
		}
	}

	res = &Result{Dir: dir, OVF: t.Name + ".ovf", Manifest: t.Name + ".mf", ManifestHash: algo, Disks: infos}
	var disks []diskOut
	var diskFiles []File
	for i, d := range t.Disks {
		out := diskOut{id: fmt.Sprintf("vmdisk%d", i+1), capacityBytes: d.CapacityMB << 20}
		if in := infos[i]; in != nil {
			name := DiskFileName(t.Name, i)
			f, err := placeDisk(ctx, in, filepath.Join(tmp, name), newHash, opts.Link, task)
			if err != nil {
				return nil, err
			}
			f.Name = name
			diskFiles = append(diskFiles, f)
			out.fileID = fmt.Sprintf("file%d", len(diskFiles))
			out.href = name
			out.fileSize = f.Size
			out.populated = in.PopulatedSize
			if in.Capacity() > out.capacityBytes {
				out.capacityBytes = in.Capacity()
			}
		}
		disks = append(disks, out)
	}

	desc := render(t, disks)
	if err := writeFile(filepath.Join(tmp, res.OVF), desc); err != nil {
		return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
	}
	h := newHash()
	h.Write(desc)
	res.Files = append([]File{{Name: res.OVF, Size: int64(len(desc)), Digest: hex.EncodeToString(h.Sum(nil))}}, diskFiles...)

	if err := writeManifest(filepath.Join(tmp, res.Manifest), algo, res.Files); err != nil {
		return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
	}
	for _, v := range opts.Derived {
		vdesc := render(v.WithDefaults(), disks)
		if err := writeFile(filepath.Join(tmp, v.Name+".ovf"), vdesc); err != nil {
			return nil, fmt.Errorf("writing template %q: %w", v.Name, err)
		}
		h := newHash()
		h.Write(vdesc)
		files := append([]File{{Name: v.Name + ".ovf", Size: int64(len(vdesc)), Digest: hex.EncodeToString(h.Sum(nil))}}, diskFiles...)
		if err := writeManifest(filepath.Join(tmp, v.Name+".mf"), algo, files); err != nil {
			return nil, fmt.Errorf("writing template %q: %w", v.Name, err)
		}
		res.Derived = append(res.Derived, v.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.InPlace {
		return res, nil
	}
	if err := atomicfs.ReplaceDir(tmp, dir); err != nil {
		return nil, fmt.Errorf("writing template %q: %w", t.Name, err)
	}
	tmp = ""
	return res, nil
}

func writeManifest(path, algo string, files []File) error {
	var mf strings.Builder
	for _, f := range files {
		fmt.Fprintf(&mf, "%s(%s)= %s\n", algo, f.Name, f.Digest)
	}
	return writeFile(path, []byte(mf.String()))
}

// checkDerived refuses derived templates that could not share t's disk
// files, or whose names collide with t's files or each other.
func checkDerived(t Template, derived []Template) error {
	seen := map[string]bool{t.Name: true}
	for _, v := range derived {
		switch {
		case seen[v.Name]:
			return fmt.Errorf("writing template %q: derived template name %q is used twice", t.Name, v.Name)
		case !vmtemplate.ValidName(v.Name):
			return fmt.Errorf("writing template %q: invalid derived template name %q", t.Name, v.Name)
		case !slices.Equal(v.Disks, t.Disks):
			return fmt.Errorf("writing template %q: derived template %q has other disks; derived templates share the base template's disks", t.Name, v.Name)
		}
		for i := range t.Disks {
			if DiskFileName(t.Name, i) == v.Name+".ovf" || DiskFileName(t.Name, i) == v.Name+".mf" {
				return fmt.Errorf("writing template %q: derived template name %q collides with a disk file", t.Name, v.Name)
			}
		}
		seen[v.Name] = true
	}
	return nil
}

// placeDisk links or copies the probed disk to dst, hashing it, and checks it
// did not change size since it was probed.
func placeDisk(ctx context.Context, in *VMDKInfo, dst string, newHash func() hash.Hash, link bool, task progress.Task) (File, error) {
	h := newHash()
	var n int64
	// A disk already at dst (placed there by the caller) is only hashed.
	linked := filepath.Clean(in.Path) == filepath.Clean(dst) || link && os.Link(in.Path, dst) == nil
	if linked {
		f, err := os.Open(dst)
		if err != nil {
			return File{}, fmt.Errorf("reading disk %q: %w", in.Path, err)
		}
		n, err = copyCtx(ctx, progress.Writer(h, task), f)
		f.Close()
		if err != nil {
			return File{}, fmt.Errorf("reading disk %q: %w", in.Path, err)
		}
	} else {
		src, err := os.Open(in.Path)
		if err != nil {
			return File{}, fmt.Errorf("reading disk %q: %w", in.Path, err)
		}
		defer src.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return File{}, fmt.Errorf("copying disk %q: %w", in.Path, err)
		}
		n, err = copyCtx(ctx, io.MultiWriter(out, progress.Writer(h, task)), src)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return File{}, fmt.Errorf("copying disk %q: %w", in.Path, err)
		}
	}
	if n != in.FileSize {
		return File{}, fmt.Errorf("disk %q changed while it was being copied: %d bytes, %d when probed", in.Path, n, in.FileSize)
	}
	return File{Size: n, Digest: hex.EncodeToString(h.Sum(nil))}, nil
}

const copyBuf = 1 << 20

// writerOnly hides io.ReaderFrom of the destination.
type writerOnly struct{ io.Writer }

func copyCtx(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	return io.CopyBuffer(writerOnly{w}, ctxio.Reader(ctx, r), make([]byte, copyBuf))
}

func writeFile(path string, data []byte) error {
	return os.WriteFile(path, data, 0o644)
}
