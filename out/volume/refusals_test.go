package volume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadVolumes damages a set every way the media can and checks that
// each fault is named with its volume.
func TestBadVolumes(t *testing.T) {
	arch := archive(t, t.TempDir(), 4*1000+300, 5)
	other := archive(t, t.TempDir(), 4*1000+300, 6)
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string, m *Manifest)
		open   bool // the fault shows at Open, before any byte is read
		want   string
	}{
		{"flipped byte in volume 1", flip(1), false, "volume 1 of 5 (site-1.tar.vol001): volume set: sha256"},
		{"flipped byte in volume 2", flip(2), false, "volume 2 of 5 (site-1.tar.vol002): volume set: sha256"},
		{"flipped byte in volume 3", flip(3), false, "volume 3 of 5 (site-1.tar.vol003): volume set: sha256"},
		{"flipped byte in volume 4", flip(4), false, "volume 4 of 5 (site-1.tar.vol004): volume set: sha256"},
		{"flipped byte in volume 5", flip(5), false, "volume 5 of 5 (site-1.tar.vol005): volume set: sha256"},
		{"volumes swapped", func(t *testing.T, dir string, m *Manifest) {
			a, b := filepath.Join(dir, m.Volumes[1].Name), filepath.Join(dir, m.Volumes[2].Name)
			os.Rename(a, a+".x")
			os.Rename(b, a)
			os.Rename(a+".x", b)
		}, false, "volume 2 of 5 (site-1.tar.vol002): volume set: holds the bytes of volume 3 (site-1.tar.vol003): volumes swapped"},
		{"a volume of another build", func(t *testing.T, dir string, m *Manifest) {
			_, omp := split(t, other, 1000, nil)
			copyFile(t, filepath.Join(filepath.Dir(omp), m.Volumes[3].Name), filepath.Join(dir, m.Volumes[3].Name))
		}, false, "volume 4 of 5 (site-1.tar.vol004): volume set: sha256"},
		{"truncated last volume", func(t *testing.T, dir string, m *Manifest) {
			os.Truncate(filepath.Join(dir, m.Volumes[4].Name), 299)
		}, true, "volume 5 of 5 (site-1.tar.vol005): volume set: truncated: 299 bytes, the manifest records 300"},
		{"a longer volume", func(t *testing.T, dir string, m *Manifest) {
			f, _ := os.OpenFile(filepath.Join(dir, m.Volumes[0].Name), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0})
			f.Close()
		}, true, "volume 1 of 5 (site-1.tar.vol001): volume set: 1001 bytes"},
		{"missing volume", func(t *testing.T, dir string, m *Manifest) {
			os.Remove(filepath.Join(dir, m.Volumes[2].Name))
		}, true, "volume 3 of 5 (site-1.tar.vol003): volume set: missing"},
		{"manifest edited", func(t *testing.T, dir string, m *Manifest) {
			p := filepath.Join(dir, ManifestName(m.Archive))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"archive_size": 4300`), []byte(`"archive_size": 4301`), 1), 0o644)
		}, true, "the volumes hold 4300 bytes, archive_size is 4301"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, mp := split(t, arch, 1000, nil)
			c.damage(t, filepath.Dir(mp), m)
			s, err := Open(mp, nil)
			if c.open {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Open: %v, want %q", err, c.want)
				}
				if !errors.Is(err, ErrSet) {
					t.Errorf("%v is not ErrSet", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			r := s.Reader(context.Background())
			defer r.Close()
			_, err = io.Copy(io.Discard, r)
			var ve *Error
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ve) || !errors.Is(err, ErrSet) {
				t.Fatalf("reading: %v, want a volume error with %q", err, c.want)
			}
		})
	}
}

func flip(i int) func(t *testing.T, dir string, m *Manifest) {
	return func(t *testing.T, dir string, m *Manifest) {
		p := filepath.Join(dir, m.Volumes[i-1].Name)
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 0x20
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadManifest opens garbage volume manifests: each is refused naming
// the manifest and why.
func TestBadManifest(t *testing.T) {
	arch := archive(t, t.TempDir(), 2*1000+300, 7)
	good, mp := split(t, arch, 1000, nil)
	edit := func(f func(m *Manifest)) []byte {
		m := *good
		m.Volumes = append([]Entry(nil), good.Volumes...)
		f(&m)
		return m.Encode()
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("PK\x03\x04 not json"), "not a volume manifest"},
		{"data after the object", append(good.Encode(), []byte("{}")...), "data after the JSON object"},
		{"too large", bytes.Repeat([]byte(" "), maxManifestSize+1), ""},
		{"zero volumes", edit(func(m *Manifest) { m.Volumes = nil }), "0 volumes"},
		{"negative volume size", edit(func(m *Manifest) { m.Volumes[2].Size = -1 }), "size -1 does not fit"},
		{"negative volume_size", edit(func(m *Manifest) { m.VolumeSize = -1000 }), "volume_size must be positive"},
		{"negative archive_size", edit(func(m *Manifest) { m.ArchiveSize = -2300 }), "archive_size"},
		{"sizes that overflow", edit(func(m *Manifest) {
			m.VolumeSize = math.MaxInt64
			m.Volumes[0].Size, m.Volumes[1].Size, m.Volumes[2].Size = math.MaxInt64, math.MaxInt64, 2
			m.ArchiveSize = 0 // the sum, 2⁶⁴, wraps to it
		}), "the volumes hold more than"},
		{"a name with ../", edit(func(m *Manifest) { m.Volumes[1].Name = "../site-1.tar.vol002" }), `"../site-1.tar.vol002" is not a plain file name`},
		{"an absolute name", edit(func(m *Manifest) { m.Volumes[1].Name = "/etc/passwd" }), `"/etc/passwd" is not a plain file name`},
		{"an archive name with ../", edit(func(m *Manifest) { m.Archive = "../x.tar" }), "archive:"},
		{"duplicate indexes", edit(func(m *Manifest) { m.Volumes[2].Index = 2 }), "volume 3 is numbered 2"},
		{"duplicate names", edit(func(m *Manifest) { m.Volumes[2].Name = m.Volumes[1].Name }), "used twice"},
		{"unknown key", bytes.Replace(good.Encode(), []byte(`"schema"`), []byte(`"evil": 1, "schema"`), 1), "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(mp, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(mp, nil)
			if err == nil || !strings.Contains(err.Error(), mp) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v; want an error naming %s and %q", err, mp, c.want)
			}
			vol := filepath.Join(filepath.Dir(mp), good.Volumes[0].Name)
			if _, err := CheckVolume(context.Background(), vol, nil); err == nil || !strings.Contains(err.Error(), filepath.Base(mp)) {
				t.Fatalf("CheckVolume: %v; want an error naming %s", err, filepath.Base(mp))
			}
		})
	}
}
