package cachedir

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Store is an opened cache directory: one that only its owner, the user
// running bundle, can write, holding a random key (the file "key", 32
// bytes, mode 0600) that authenticates every entry written under it.
// Entries are hints: one that does not authenticate is ignored, so an
// entry written by anyone without the key (copied from another machine,
// planted in a directory that was once writable by others) is never
// believed.
type Store struct {
	dir string
	key []byte
}

// ErrNotPrivate is wrapped by the errors of Open and Sub for a directory
// or key someone other than its owner could write (or, the key, read):
// the caller warns and runs without a cache.
var ErrNotPrivate = errors.New("only the user running bundle may write the cache directory")

// keySize is the size of the HMAC-SHA256 key.
const keySize = 32

// Open opens the cache directory dir, creating it (mode 0700) and its key
// when missing. It refuses a directory (or key) owned by another user or
// writable by group or others, and a key readable by them: the caller
// then runs without a cache, after a warning.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("no cache directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory %q: %w", dir, err)
	}
	if err := checkOwned(dir, true); err != nil {
		return nil, fmt.Errorf("cache directory %q: %w; not used (%w)", dir, err, ErrNotPrivate)
	}
	key, err := loadKey(filepath.Join(dir, "key"))
	if err != nil {
		return nil, fmt.Errorf("cache directory %q: %w; not used", dir, err)
	}
	return &Store{dir: dir, key: key}, nil
}

// loadKey reads the key file at p, or creates it: written to a temporary
// file and linked into place, so concurrent first runs agree on one key.
func loadKey(p string) ([]byte, error) {
	for range 2 {
		f, err := os.OpenFile(p, os.O_RDONLY|noFollow, 0)
		if err == nil {
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", p, err)
			}
			if !fi.Mode().IsRegular() || fi.Size() != keySize {
				return nil, fmt.Errorf("key %q is not a %d-byte file", p, keySize)
			}
			if err := checkOwned(p, false); err != nil {
				return nil, fmt.Errorf("key %q: %w (%w)", p, err, ErrNotPrivate)
			}
			key := make([]byte, keySize)
			if _, err := f.ReadAt(key, 0); err != nil {
				return nil, fmt.Errorf("key %q: %w", p, err)
			}
			return key, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("key %q: %w", p, err)
		}
		key := make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(p), ".key-*")
		if err != nil {
			return nil, err
		}
		_, werr := tmp.Write(key)
		cerr := tmp.Close()
		if werr == nil && cerr == nil {
			werr = os.Link(tmp.Name(), p) // fails when another run made one first
		}
		_ = os.Remove(tmp.Name())
		if werr == nil {
			return key, nil
		}
		if cerr != nil {
			return nil, cerr
		}
		if !errors.Is(werr, fs.ErrExist) {
			return nil, werr
		}
	}
	return nil, fmt.Errorf("key %q: cannot be read or created", p)
}

// Dir is the directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Sub returns the subdirectory name of the store, created (mode 0700) when
// missing and refused like the store when someone else could write it.
func (s *Store) Sub(name string) (string, error) {
	d := filepath.Join(s.dir, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("cache directory %q: %w", d, err)
	}
	if err := checkOwned(d, true); err != nil {
		return "", fmt.Errorf("cache directory %q: %w; not used (%w)", d, err, ErrNotPrivate)
	}
	return d, nil
}

// Seal returns the tag that authenticates body as an entry of kind
// domain ("rpm-scan", "sha256"): HMAC-SHA256 under the store's key.
func (s *Store) Seal(domain string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)
}

// Verify reports whether tag authenticates body as an entry of kind domain.
func (s *Store) Verify(domain string, body, tag []byte) bool {
	return hmac.Equal(tag, s.Seal(domain, body))
}

// Entries older than MaxAge (by modification time; a hit refreshes it)
// are removed by Prune, which runs at most once every PruneEvery per
// subdirectory.
var (
	MaxAge     = 30 * 24 * time.Hour
	PruneEvery = 24 * time.Hour
)

// Touch marks the entry at p as used now, when it was last marked more
// than a day ago (so a hit costs a write once a day at most).
func Touch(p string, fi fs.FileInfo) {
	now := time.Now()
	if fi != nil && now.Sub(fi.ModTime()) < 24*time.Hour {
		return
	}
	_ = os.Chtimes(p, now, now)
}

// Prune removes the entries of subdirectory d (and their temporary
// files) not used for MaxAge, unless it did so within PruneEvery; the time
// of the last prune is the modification time of .pruned-<name of d> next
// to d. Entries are the regular files below d; the store's key is never
// among them.
func Prune(d string) (removed int) {
	stamp := filepath.Join(filepath.Dir(d), ".pruned-"+filepath.Base(d))
	now := time.Now()
	if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < PruneEvery {
		return 0
	}
	if f, err := os.OpenFile(stamp, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		_ = f.Close()
		_ = os.Chtimes(stamp, now, now)
	}
	_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil
		}
		age := now.Sub(fi.ModTime())
		if age > MaxAge || strings.HasPrefix(e.Name(), ".tmp-") && age > time.Hour {
			if os.Remove(p) == nil {
				removed++
			}
		}
		return nil
	})
	return removed
}
