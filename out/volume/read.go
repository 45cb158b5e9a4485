package volume

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
)

// Error is a fault of one volume: missing, of the wrong size, or bytes
// other than the manifest records.
type Error struct {
	Index, Count int
	Name         string
	Err          error
}

func (e *Error) Error() string {
	return fmt.Sprintf("volume %d of %d (%s): %v", e.Index, e.Count, e.Name, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrSet marks a volume set that is not what its manifest says; every
// *Error wraps it, as do a bad manifest and a bad signature.
var ErrSet = errors.New("volume set")

// Set is a volume set opened by Open.
type Set struct {
	Path     string // the volume manifest
	Dir      string // where the volumes lie
	Manifest *Manifest
	Signed   bool   // a signature lies beside the manifest
	SignedBy string // the key's identity, when a key was given and the signature checks
}

// IsSet reports whether path names a volume set: a volume manifest (a
// file named *.volumes.json) or a directory holding one and no
// bundle.json.
func IsSet(path string) bool {
	_, err := manifestPath(path)
	return err == nil
}

// IsVolume reports whether path's file name is that of a volume
// (<archive>.volNNN).
func IsVolume(path string) bool {
	_, _, ok := splitVolumeName(filepath.Base(path))
	return ok
}

func splitVolumeName(name string) (base string, i int, ok bool) {
	k := strings.LastIndex(name, ".vol")
	if k <= 0 {
		return "", 0, false
	}
	i, ok = volumeIndex(name[:k], name)
	return name[:k], i, ok
}

func manifestPath(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		if !strings.HasSuffix(path, ManifestSuffix) {
			return "", fmt.Errorf("%q is not a volume manifest (*%s)", path, ManifestSuffix)
		}
		return path, nil
	}
	if _, err := os.Stat(filepath.Join(path, manifest.FileName)); err == nil {
		return "", fmt.Errorf("%q is a bundle directory", path)
	}
	found, err := filepath.Glob(filepath.Join(globEscape(path), "*"+ManifestSuffix))
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%q holds no volume manifest (*%s)", path, ManifestSuffix)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%q holds %d volume manifests; name one", path, len(found))
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	if filepath.Separator == '\\' {
		return p
	}
	return r.Replace(p)
}

// Open reads the volume set at path (its manifest, or the directory
// holding it). With key, the manifest's signature must be there and check
// with it. Every volume must be a regular file of its recorded size:
// Open names the first that is missing or of another size, before anything
// is read from the volumes.
func Open(path string, key []byte) (*Set, error) {
	mp, err := manifestPath(path)
	if err != nil {
		return nil, fmt.Errorf("reading volume set %q: %w", path, err)
	}
	data, err := regular.ReadFile(mp, maxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", mp, err)
	}
	s, err := parseSet(mp, data, key)
	if err != nil {
		return nil, err
	}
	m := s.Manifest
	for _, v := range m.Volumes {
		if err := s.stat(v); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseSet parses data, the volume manifest read from mp, and checks its
// signature beside it with key (when given).
func parseSet(mp string, data, key []byte) (*Set, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w: %w", mp, ErrSet, err)
	}
	s := &Set{Path: mp, Dir: filepath.Dir(mp), Manifest: m}
	if err := s.checkSig(data, key); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) checkSig(data, key []byte) error {
	sp := strings.TrimSuffix(s.Path, ManifestSuffix) + SignatureSuffix
	sig, err := regular.ReadFile(sp, manifest.MaxMetaSize)
	switch {
	case err == nil:
		s.Signed = true
	case errors.Is(err, os.ErrNotExist):
		if key != nil {
			return fmt.Errorf("%w %q: not signed (%s is missing) and a key was given", ErrSet, s.Path, filepath.Base(sp))
		}
		return nil
	default:
		return fmt.Errorf("reading %q: %w", sp, err)
	}
	if key == nil {
		return nil
	}
	who, err := manifest.CheckSignature(data, sig, key, time.Now())
	if err != nil {
		return fmt.Errorf("%w %q: bad signature %s: %w", ErrSet, s.Path, filepath.Base(sp), err)
	}
	s.SignedBy = who
	return nil
}

func (s *Set) volErr(v Entry, format string, args ...any) *Error {
	return &Error{Index: v.Index, Count: len(s.Manifest.Volumes), Name: v.Name, Err: fmt.Errorf("%w: "+format, append([]any{ErrSet}, args...)...)}
}

func (s *Set) stat(v Entry) error {
	fi, err := os.Stat(filepath.Join(s.Dir, v.Name))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s.volErr(v, "missing from %s", s.Dir)
	case err != nil:
		return &Error{Index: v.Index, Count: len(s.Manifest.Volumes), Name: v.Name, Err: err}
	case !fi.Mode().IsRegular():
		return s.volErr(v, "not a regular file")
	case fi.Size() < v.Size:
		return s.volErr(v, "truncated: %d bytes, the manifest records %d", fi.Size(), v.Size)
	case fi.Size() > v.Size:
		return s.volErr(v, "%d bytes, the manifest records %d: not this set's volume", fi.Size(), v.Size)
	}
	return nil
}

// mismatch describes a volume whose bytes are not the recorded ones.
func (s *Set) mismatch(v Entry, got string) *Error {
	for _, o := range s.Manifest.Volumes {
		if o.SHA256 == got && o.Index != v.Index {
			return s.volErr(v, "holds the bytes of volume %d (%s): volumes swapped or misnamed", o.Index, o.Name)
		}
	}
	return s.volErr(v, "sha256 %s, the manifest records %s: the volume is corrupt or from another build", got, v.SHA256)
}

// Reader streams the volumes in order as the archive's bytes. Each
// volume is hashed as it passes; the read that ends a volume whose sha256
// is not the recorded one fails with its *Error (the archive's sha256 is
// not computed again: the volumes' digests, in the manifest, cover every
// byte). A volume that changed size
// since Open is named too. Read the stream to its end (Finish does) for
// every check to run. Close releases the open volume.
func (s *Set) Reader(ctx context.Context) *Reader {
	return &Reader{s: s, ctx: ctx}
}

// Reader is the stream of a volume set; see Set.Reader.
type Reader struct {
	s    *Set
	ctx  context.Context
	i    int // index into Volumes of the open or next volume
	f    *os.File
	r    io.Reader
	h    hash.Hash
	left int64
	err  error
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	vols := r.s.Manifest.Volumes
	for r.f == nil {
		if r.i == len(vols) {
			r.err = io.EOF
			return 0, r.err
		}
		v := vols[r.i]
		f, err := regular.Open(filepath.Join(r.s.Dir, v.Name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				r.err = r.s.volErr(v, "missing from %s", r.s.Dir)
			} else {
				r.err = &Error{Index: v.Index, Count: len(vols), Name: v.Name, Err: err}
			}
			return 0, r.err
		}
		r.f, r.h, r.left = f, sha256.New(), v.Size
		// One byte past the recorded size shows a volume that grew.
		r.r = io.LimitReader(ctxio.Reader(r.ctx, f), v.Size+1)
	}
	v := vols[r.i]
	n, err := r.r.Read(p)
	if int64(n) > r.left {
		n = int(r.left)
		r.err = r.s.volErr(v, "longer than the manifest's %d bytes", v.Size)
	}
	r.left -= int64(n)
	r.h.Write(p[:n])
	if r.err != nil {
		return n, r.err
	}
	if err == io.EOF {
		r.f.Close()
		r.f = nil
		switch got := sumHex(r.h); {
		case r.left > 0:
			r.err = r.s.volErr(v, "truncated: it ended %d bytes short of the manifest's %d", r.left, v.Size)
		case got != v.SHA256:
			r.err = r.s.mismatch(v, got)
		default:
			r.i++
		}
		if r.err != nil {
			return n, r.err
		}
		if n == 0 {
			return r.Read(p)
		}
		return n, nil
	}
	if err != nil {
		r.err = &Error{Index: v.Index, Count: len(vols), Name: v.Name, Err: err}
		return n, r.err
	}
	return n, nil
}

// Finish reads the rest of the stream (the padding a tar or zstd reader
// stops before) and returns the first fault of the set, nil when every
// volume and the archive are as recorded.
func (r *Reader) Finish() error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return nil
}

// Close closes the open volume.
func (r *Reader) Close() error {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	return nil
}

// VolumeReport is what CheckVolume found.
type VolumeReport struct {
	Set    *Set
	Volume Entry
}

// CheckVolume verifies the volume at path on its own: it finds the volume
// manifest beside it (<archive>.volumes.json, copied onto every medium),
// checks its signature with key (when given), and the volume's size and
// sha256 against the manifest's entry for its name. Other volumes need not
// be there.
func CheckVolume(ctx context.Context, path string, key []byte) (*VolumeReport, error) {
	base, _, ok := splitVolumeName(filepath.Base(path))
	if !ok {
		return nil, fmt.Errorf("%q is not a volume (<archive>.volNNN)", path)
	}
	mp := filepath.Join(filepath.Dir(path), ManifestName(base))
	data, err := regular.ReadFile(mp, maxManifestSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: checking %q: its volume manifest %s is not beside it (copy it onto every medium)", ErrSet, path, filepath.Base(mp))
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", mp, err)
	}
	s, err := parseSet(mp, data, key)
	if err != nil {
		return nil, err
	}
	m := s.Manifest
	var v *Entry
	for i := range m.Volumes {
		if m.Volumes[i].Name == filepath.Base(path) {
			v = &m.Volumes[i]
		}
	}
	if v == nil {
		return nil, fmt.Errorf("%w: %q: %s lists no volume of that name (%d volumes): a volume of another set", ErrSet, path, filepath.Base(mp), len(m.Volumes))
	}
	if err := s.stat(*v); err != nil {
		return nil, err
	}
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxio.Reader(ctx, f)); err != nil {
		return nil, &Error{Index: v.Index, Count: len(m.Volumes), Name: v.Name, Err: err}
	}
	if got := sumHex(h); got != v.SHA256 {
		return nil, s.mismatch(*v, got)
	}
	return &VolumeReport{Set: s, Volume: *v}, nil
}
