package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/bdebundle/bundle/repo/rpmsig"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/cachedir"
	"github.com/bdebundle/bundle/internal/osfs"
)

// scanCacheVersion names the layout of cache entries and the rules that
// turn a header into a Package; bump it when either changes. Changes to the
// fields of Package are picked up on their own (packageShape).
const scanCacheVersion = "rpm-scan-v2"

// ScanCache keeps what Scan learned about each RPM on disk, so a file that
// is unchanged since it was last scanned is not read again. An entry is
// keyed by the file's device, inode, size and modification time: any path
// to the same file (a hard link) finds it; replacing, rewriting or touching
// the file changes the key. Each entry is one file, <dir>/rpm/<sha256 of
// the key>, written through a temporary file and a rename, so concurrent
// builds may share a directory.
//
// An entry is a hint, never an authority. It is used only when it
// authenticates under the cache directory's key (internal/cachedir: a
// directory only its owner can write, else no cache at all), so nobody
// without that key can forge or edit one. It records the file's change
// time and the sha256 of its lead and headers: when the change time
// still matches, nothing has touched the file since it was read (a
// change time cannot be set back); when it moved (a hard link made or
// removed, as every build makes one, a chmod, or a rewrite with the
// modification time set back), the lead and headers are read again and
// must hash the same, so the signature verdicts over the header, the
// header and payload digests it carries, and every dependency field are
// those of the bytes on disk. The payload is not read again then: a
// payload changed in place under a restored modification time would leave
// the file's sha256 in the repodata stale, which dnf refuses, and its
// payload digest failing, which rpm refuses (docs/repo.md). Entries that
// fail any check are ignored and written again; entries unused for
// cachedir.MaxAge are pruned, at most once a day.
//
// The methods of a ScanCache are safe for concurrent use.
type ScanCache struct {
	dir   string
	store *cachedir.Store
	prune sync.Once
	// MinSize is the smallest file the cache keeps: reading a small RPM
	// costs about what reading its entry does, and writing an entry costs
	// more. OpenScanCache sets it to DefaultScanCacheMinSize.
	MinSize              int64
	hits, misses, stored atomic.Int64
}

// DefaultScanCacheMinSize is the default ScanCache.MinSize.
var DefaultScanCacheMinSize int64 = 256 << 10

// ScanCacheStats counts what a ScanCache did since it was opened.
type ScanCacheStats struct {
	// Hits are packages taken from the cache, without reading the file.
	Hits int64
	// Misses are files that had to be read.
	Misses int64
	// Stored are entries written.
	Stored int64
}

// OpenScanCache opens (creating it when needed) the scan cache under the
// cache directory dir, typically internal/cachedir.Dir's answer; it fails
// when cachedir.Open refuses the directory.
func OpenScanCache(dir string) (*ScanCache, error) {
	st, err := cachedir.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the scan cache: %w", err)
	}
	d, err := st.Sub("rpm")
	if err != nil {
		return nil, fmt.Errorf("opening the scan cache: %w", err)
	}
	return &ScanCache{dir: d, store: st, MinSize: DefaultScanCacheMinSize}, nil
}

// Stats reports the cache's counters.
func (c *ScanCache) Stats() ScanCacheStats {
	if c == nil {
		return ScanCacheStats{}
	}
	return ScanCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stored: c.stored.Load()}
}

// Scan is the package function Scan answered from the cache where it can:
// a file whose entry exists is not opened; every file read is recorded for
// the next run. With opts.Keyring set, an entry is used only when every key
// that verified the file's signatures when it was read is in the keyring,
// unchanged; otherwise the file is read (and its signatures checked) again.
// Results are the same as Scan's, byte for byte. opts.Cache, when set, is
// asked first. A nil ScanCache just calls Scan.
func (c *ScanCache) Scan(ctx context.Context, paths []string, opts ScanOptions) ([]*rpm.Package, error) {
	if c == nil {
		return Scan(ctx, paths, opts)
	}
	v := &scanView{c: c, next: opts.Cache, keyring: opts.Keyring, misses: map[string]missed{}}
	if opts.Keyring != nil {
		v.digests = make(map[*openpgp.Entity][32]byte, len(opts.Keyring))
		for _, e := range opts.Keyring {
			if d, ok := entityDigest(e); ok {
				v.digests[e] = d
			}
		}
	}
	opts.Cache = v
	pkgs, err := Scan(ctx, paths, opts)
	if err != nil {
		return nil, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, p := range paths {
		m, ok := v.misses[p]
		if !ok {
			continue
		}
		delete(v.misses, p)
		pkg := pkgs[i]
		g.Go(func() error {
			if gctx.Err() == nil {
				v.store(m, pkg)
			}
			return nil
		})
	}
	_ = g.Wait()
	c.prune.Do(func() { cachedir.Prune(c.dir) })
	return pkgs, nil
}

// scanView answers the lookups of one Scan call.
type scanView struct {
	c       *ScanCache
	next    Cache
	keyring openpgp.EntityList
	digests map[*openpgp.Entity][32]byte

	mu     sync.Mutex
	misses map[string]missed
}

// missed is a file Scan had to read, with the key and change time it had
// when looked up.
type missed struct {
	path, key string
	ctime     int64
}

// scanEntry is what an entry file holds (gob-encoded).
type scanEntry struct {
	Key string
	// Sigs are the signatures the file was verified with, each with the
	// digest of the key that verified it; empty when no keyring was given.
	Sigs []sigRecord
	// Ctime is the file's change time (ns) when it was read, HeaderSum
	// the sha256 of its bytes up to the payload (lead and both headers).
	Ctime     int64
	HeaderSum [32]byte
	Package   rpm.Package
}

type sigRecord struct {
	Packet    []byte
	KeyDigest [32]byte
}

const entryMagic = "bundle scan cache\n"

func (v *scanView) Lookup(path string, fi fs.FileInfo) *rpm.Package {
	if v.next != nil {
		if p := v.next.Lookup(path, fi); p != nil {
			return p
		}
	}
	if fi.Size() < v.c.MinSize {
		slog.Debug("scan cache skipped", "path", path, "reason", "smaller than the cache's minimum size")
		return nil
	}
	key, ok := scanKey(fi)
	if !ok {
		slog.Debug("scan cache skipped", "path", path, "reason", "no inode number on this system")
		return nil
	}
	ctime := osfs.ChangeTime(fi).UnixNano()
	p, reason := v.load(path, fi, key, ctime)
	if p != nil {
		v.c.hits.Add(1)
		slog.Debug("scan cache hit", "path", path, "reason", reason)
		return p
	}
	v.c.misses.Add(1)
	slog.Debug("scan cache miss", "path", path, "reason", reason)
	v.mu.Lock()
	v.misses[path] = missed{path: path, key: key, ctime: ctime}
	v.mu.Unlock()
	return nil
}

// load returns the package of the entry for key when it authenticates,
// still describes the file at path (its change time, or else its lead and
// headers, unchanged) and is usable with the view's keyring, and says why
// (for -v).
func (v *scanView) load(path string, fi fs.FileInfo, key string, ctime int64) (*rpm.Package, string) {
	ep := v.c.entryPath(key)
	f, err := os.Open(ep)
	if err != nil {
		return nil, "no entry for this size, mtime and inode"
	}
	efi, err := f.Stat()
	if err != nil || !efi.Mode().IsRegular() || efi.Size() > maxScanEntry {
		f.Close()
		return nil, "entry not a readable file of bounded size"
	}
	b, err := io.ReadAll(io.LimitReader(f, maxScanEntry))
	f.Close()
	if err != nil {
		return nil, "entry unreadable"
	}
	e, ok := v.c.decodeEntry(b)
	if !ok || e.Key != key {
		return nil, "entry does not authenticate or names another key"
	}
	reason := "size, mtime, inode and change time unchanged"
	if e.Ctime != ctime {
		reason = "change time moved, headers unchanged"
		sum, err := headerSum(path, e.Package.HeaderEnd, fi.Size())
		if err != nil || sum != e.HeaderSum {
			return nil, "change time and headers differ"
		}
		// The same headers: record the new change time (a hard link
		// made by the last build) so the next lookup need not read them.
		e.Ctime = ctime
		if nb, ok := v.c.encodeEntry(e); ok {
			v.c.write(key, nb)
		}
	} else {
		cachedir.Touch(ep, efi)
	}
	p := &e.Package
	if v.keyring == nil {
		p.SignerKeyID = ""
		for i := range p.Signatures {
			p.Signatures[i].Verified = false
		}
		return p, reason
	}
	if len(e.Sigs) == 0 || p.SignerKeyID == "" {
		return nil, "entry has no verified signature to check against the keyring"
	}
	for _, s := range e.Sigs {
		sig, ok := parseSigPacket(s.Packet)
		if !ok {
			return nil, "entry's signature packet unreadable"
		}
		ent := signingEntity(sig, v.keyring)
		if ent == nil {
			return nil, "signing key not among the trusted keys"
		}
		if d, ok := v.digests[ent]; !ok || d != s.KeyDigest {
			return nil, "trusted key differs from the one that verified the entry"
		}
	}
	return p, reason + ", signature keys unchanged"
}

// maxScanEntry bounds an entry file (a package with a hundred thousand
// files makes a few MiB).
const maxScanEntry = 64 << 20

// headerSum is the sha256 of the first end bytes of the file at path (its
// lead and headers), which must lie inside its size.
func headerSum(path string, end, size int64) ([32]byte, error) {
	var sum [32]byte
	if end <= 96 || end > size || end > rpm.MaxHeadersEnd {
		return sum, errors.New("bad header range")
	}
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, end)); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// store records pkg, read from m.path, unless the file changed since it
// was looked up. Failures are ignored: the cache only saves time.
func (v *scanView) store(m missed, pkg *rpm.Package) {
	e := scanEntry{Key: m.key, Ctime: m.ctime, Package: *pkg}
	e.Package.Location = ""
	sum, err := headerSum(m.path, pkg.HeaderEnd, pkg.Size)
	if err != nil {
		return
	}
	e.HeaderSum = sum
	var fi fs.FileInfo
	if v.keyring == nil {
		fi, err = os.Stat(m.path)
	} else {
		fi, err = v.signatures(m.path, pkg.HeaderStart, &e)
	}
	if err != nil {
		return
	}
	if key, ok := scanKey(fi); !ok || key != m.key || osfs.ChangeTime(fi).UnixNano() != m.ctime {
		return
	}
	b, ok := v.c.encodeEntry(&e)
	if !ok {
		return
	}
	if v.c.write(m.key, b) {
		v.c.stored.Add(1)
	}
}

// signatures records in e the signatures of the file at path, each with
// the digest of the key that verified it, and returns the file's state
// after reading them.
func (v *scanView) signatures(path string, sigEnd int64, e *scanEntry) (fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blobs, err := rpm.SignatureBlobs(f, sigEnd)
	if err != nil {
		return nil, err
	}
	if len(blobs) == 0 {
		return nil, errors.New("no signatures")
	}
	for _, b := range blobs {
		sig, ok := parseSigPacket(b)
		if !ok {
			return nil, errors.New("unknown signature packet")
		}
		ent := signingEntity(sig, v.keyring)
		d, ok := v.digests[ent]
		if ent == nil || !ok {
			return nil, errors.New("signing key not in the keyring")
		}
		e.Sigs = append(e.Sigs, sigRecord{Packet: b, KeyDigest: d})
	}
	return f.Stat()
}

func (c *ScanCache) entryPath(key string) string { return filepath.Join(c.dir, key) }

func (c *ScanCache) write(key string, b []byte) bool {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return false
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), c.entryPath(key)) != nil {
		_ = os.Remove(f.Name())
		return false
	}
	return true
}

// scanEntryDomain separates the scan cache's tags from other caches'.
const scanEntryDomain = "rpm-scan"

// encodeEntry lays an entry out as the magic, the tag authenticating the
// body under the cache's key (cachedir.Store.Seal) and the gob-encoded
// body.
func (c *ScanCache) encodeEntry(e *scanEntry) ([]byte, bool) {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(e); err != nil {
		return nil, false
	}
	sum := c.store.Seal(scanEntryDomain, body.Bytes())
	out := make([]byte, 0, len(entryMagic)+len(sum)+body.Len())
	out = append(out, entryMagic...)
	out = append(out, sum[:]...)
	return append(out, body.Bytes()...), true
}

func (c *ScanCache) decodeEntry(b []byte) (e *scanEntry, ok bool) {
	defer func() {
		if recover() != nil {
			e, ok = nil, false
		}
	}()
	if len(b) < len(entryMagic)+sha256.Size || string(b[:len(entryMagic)]) != entryMagic {
		return nil, false
	}
	sum := b[len(entryMagic) : len(entryMagic)+sha256.Size]
	body := b[len(entryMagic)+sha256.Size:]
	if !c.store.Verify(scanEntryDomain, body, sum) {
		return nil, false
	}
	e = new(scanEntry)
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(e); err != nil {
		return nil, false
	}
	return e, true
}

var packageShape = sync.OnceValue(func() string {
	h := sha256.New()
	shape(h, reflect.TypeFor[scanEntry](), map[reflect.Type]bool{})
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// shape writes the field names and types of t, recursively.
func shape(w io.Writer, t reflect.Type, seen map[reflect.Type]bool) {
	fmt.Fprintf(w, "%s(", t.Kind())
	switch t.Kind() {
	case reflect.Struct:
		if seen[t] {
			fmt.Fprintf(w, "%s)", t.Name())
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fmt.Fprintf(w, "%s:", f.Name)
			shape(w, f.Type, seen)
		}
	case reflect.Slice, reflect.Array, reflect.Pointer:
		shape(w, t.Elem(), seen)
	}
	fmt.Fprint(w, ")")
}

// scanKey is the entry key of the file fi describes: the hex sha256 of the
// cache layout version and the file's device, inode, size and modification
// time, whatever path reaches it.
func scanKey(fi fs.FileInfo) (string, bool) {
	id, ok := osfs.ID(fi)
	if !ok {
		return "", false // no inode (Windows): no cache
	}
	k := fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%d\x00%d", scanCacheVersion, packageShape(),
		fi.Size(), fi.ModTime().UnixNano(), id.Dev, id.Ino)
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:]), true
}

// entityDigest is the sha256 of a key's public part (identities in name
// order): any change to the key (a new subkey, a revocation) makes it
// another key for the cache.
func entityDigest(e *openpgp.Entity) ([32]byte, bool) {
	h := sha256.New()
	err := e.PrimaryKey.Serialize(h)
	for _, s := range append(slices.Clone(e.Revocations), e.Signatures...) {
		err = errors.Join(err, s.Serialize(h))
	}
	names := slices.Sorted(maps.Keys(e.Identities))
	for _, n := range names {
		id := e.Identities[n]
		err = errors.Join(err, id.UserId.Serialize(h))
		for _, s := range id.Signatures {
			err = errors.Join(err, s.Serialize(h))
		}
	}
	for _, sub := range e.Subkeys {
		err = errors.Join(err, sub.PublicKey.Serialize(h))
		for _, s := range sub.Revocations {
			err = errors.Join(err, s.Serialize(h))
		}
		if sub.Sig != nil {
			err = errors.Join(err, sub.Sig.Serialize(h))
		}
	}
	if err != nil {
		return [32]byte{}, false
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d, true
}

func parseSigPacket(b []byte) (*rpmsig.Signature, bool) {
	s, err := rpmsig.Parse(b)
	if err != nil || s.KeyID == 0 {
		return nil, false
	}
	return s, true
}

// signingEntity finds the certificate whose primary key or a subkey has
// the signature's key id, as the scan's keyring does.
func signingEntity(sig *rpmsig.Signature, keyring openpgp.EntityList) *openpgp.Entity {
	for _, e := range keyring {
		if e.PrimaryKey != nil && e.PrimaryKey.KeyId == sig.KeyID {
			return e
		}
		for _, sub := range e.Subkeys {
			if sub.PublicKey != nil && sub.PublicKey.KeyId == sig.KeyID {
				return e
			}
		}
	}
	return nil
}
