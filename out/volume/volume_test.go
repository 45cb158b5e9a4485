package volume

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/bdebundle/bundle/out/manifest"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "4.7GB", want: 4_700_000_000},
		{in: "4GiB", want: 4 << 30},
		{in: "700MB", want: 700_000_000},
		{in: "700mb", want: 700_000_000},
		{in: "1.5KiB", want: 1536},
		{in: "512", want: 512},
		{in: "512B", want: 512},
		{in: "2kB", want: 2000},
		{in: "1TiB", want: 1 << 40},
		{in: "dvd", want: 4_700_000_000},
		{in: "DVD", want: 4_700_000_000},
		{in: "fat32", want: 4<<30 - 1},
		{in: "cd", want: 700_000_000},
		{in: "bd", want: 25_000_000_000},
		{in: "", bad: true},
		{in: "GB", bad: true},
		{in: "4.7XB", bad: true},
		{in: "0", bad: true},
		{in: "0.1B", bad: true},
		{in: "1.2.3GB", bad: true},
		{in: "-1GB", bad: true},
		{in: "99999999TiB", bad: true},
	} {
		got, err := ParseSize(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", c.in, got)
			} else if !strings.Contains(err.Error(), "volume size") {
				t.Errorf("ParseSize(%q): %v does not say what it read", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

// archive writes n pseudo-random bytes (seeded) as a stand-in archive: the
// volume code never looks inside.
func archive(t *testing.T, dir string, n int, seed uint64) string {
	t.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, "site-1.tar")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var info = Info{Name: "site", Version: "1", BundleSHA256: strings.Repeat("ab", 32)}

func split(t *testing.T, arch string, size int64, sign Signer) (*Manifest, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vols")
	m, mp, err := Split(context.Background(), arch, dir, size, info, sign)
	if err != nil {
		t.Fatal(err)
	}
	return m, mp
}

func readAll(t *testing.T, path string, key []byte) ([]byte, error) {
	t.Helper()
	s, err := Open(path, key)
	if err != nil {
		return nil, err
	}
	r := s.Reader(context.Background())
	defer r.Close()
	return io.ReadAll(r)
}

func TestSplitBoundaries(t *testing.T) {
	const total = 10*512 + 100
	arch := archive(t, t.TempDir(), total, 1)
	want, _ := os.ReadFile(arch)
	for _, c := range []struct {
		name string
		size int64
		n    int
	}{
		{"one tar block", 512, 11},
		{"a file straddles two volumes", 1000, 6},
		{"last volume one byte", total - 1, 2},
		{"exactly the archive", total, 1},
		{"one huge volume", 4 << 30, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, mp := split(t, arch, c.size, nil)
			if len(m.Volumes) != c.n {
				t.Fatalf("%d volumes, want %d", len(m.Volumes), c.n)
			}
			var cat []byte
			for _, v := range m.Volumes {
				b, err := os.ReadFile(filepath.Join(filepath.Dir(mp), v.Name))
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(b)) != v.Size {
					t.Fatalf("volume %d: %d bytes, manifest %d", v.Index, len(b), v.Size)
				}
				cat = append(cat, b...)
			}
			if !bytes.Equal(cat, want) {
				t.Fatal("the volumes concatenated are not the archive")
			}
			if s := sha256.Sum256(want); m.ArchiveSHA256 != hex.EncodeToString(s[:]) {
				t.Fatal("archive_sha256 is not the archive's")
			}
			got, err := readAll(t, filepath.Dir(mp), nil)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("reading the set back: %v (equal %v)", err, bytes.Equal(got, want))
			}
		})
	}
}

func TestVolumeNames(t *testing.T) {
	if got := volumeName("a.tar", 7, 12); got != "a.tar.vol007" {
		t.Error(got)
	}
	if got := volumeName("a.tar", 7, 1200); got != "a.tar.vol0007" {
		t.Error(got)
	}
	if b, i, ok := splitVolumeName("x-1.2.tar.zst.vol0012"); !ok || b != "x-1.2.tar.zst" || i != 12 {
		t.Error(b, i, ok)
	}
	for _, bad := range []string{"a.tar", "a.tar.vol", "a.tar.vol1", "a.tar.vol00x", "a.tar.vol000"} {
		if _, _, ok := splitVolumeName(bad); ok {
			t.Errorf("%q taken for a volume", bad)
		}
	}
}

func TestSplitReproducible(t *testing.T) {
	arch := archive(t, t.TempDir(), 5000, 2)
	key, _ := testKey(t)
	sign := func(d []byte) ([]byte, error) { return manifest.Sign(d, key, nil, 1420070400) }
	_, a := split(t, arch, 1024, sign)
	_, b := split(t, arch, 1024, sign)
	for _, dir := range []string{filepath.Dir(a), filepath.Dir(b)} {
		ents, _ := os.ReadDir(dir)
		if len(ents) != 7 { // 5 volumes, manifest, signature
			t.Fatalf("%s holds %d files, want 7", dir, len(ents))
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(a))
	for _, e := range ents {
		x, _ := os.ReadFile(filepath.Join(filepath.Dir(a), e.Name()))
		y, err := os.ReadFile(filepath.Join(filepath.Dir(b), e.Name()))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two splits", e.Name())
		}
	}
}

func TestSplitRemovesStaleVolumes(t *testing.T) {
	arch := archive(t, t.TempDir(), 5000, 3)
	dir := filepath.Join(t.TempDir(), "v")
	key, _ := testKey(t)
	sign := func(d []byte) ([]byte, error) { return manifest.Sign(d, key, nil, 0) }
	if _, _, err := Split(context.Background(), arch, dir, 512, info, sign); err != nil {
		t.Fatal(err)
	}
	m, _, err := Split(context.Background(), arch, dir, 2048, info, nil)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(m.Volumes)+1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("after a second split: %v, want %d volumes and the manifest only", names, len(m.Volumes))
	}
}

func TestSplitRefuses(t *testing.T) {
	dir := t.TempDir()
	arch := archive(t, dir, 100, 4)
	empty := filepath.Join(dir, "empty.tar")
	os.WriteFile(empty, nil, 0o644)
	out := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		arch, want string
		size       int64
	}{
		{empty, "empty", 512},
		{filepath.Join(dir, "nope.tar"), "nope.tar", 512},
		{dir, "", 512},
	} {
		if _, _, err := Split(context.Background(), c.arch, out, c.size, info, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Split(%s): %v, want an error with %q", c.arch, err, c.want)
		}
	}
	if _, _, err := Split(context.Background(), arch, out, 1, Info{Name: "x"}, nil); err == nil {
		t.Error("a bad bundle id was taken")
	}
	if _, err := os.Stat(out); err == nil {
		ents, _ := os.ReadDir(out)
		if len(ents) != 0 {
			t.Errorf("a refused split left %d files", len(ents))
		}
	}
}

// testKey returns an armored EdDSA secret key and its public key.
func testKey(t *testing.T) (secret, public []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("Volume Test", "", "vol@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return time.Unix(1400000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	var s, p bytes.Buffer
	w, _ := armor.Encode(&s, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&p, openpgp.PublicKeyType, nil)
	e.Serialize(w)
	w.Close()
	return s.Bytes(), p.Bytes()
}

func TestSignature(t *testing.T) {
	arch := archive(t, t.TempDir(), 3000, 7)
	key, pub := testKey(t)
	_, otherPub := testKey(t)
	sign := func(d []byte) ([]byte, error) { return manifest.Sign(d, key, nil, 1420070400) }
	_, mp := split(t, arch, 1000, sign)
	s, err := Open(mp, pub)
	if err != nil || !s.Signed || s.SignedBy == "" {
		t.Fatalf("Open with the key: %+v, %v", s, err)
	}
	if _, err := Open(mp, otherPub); err == nil || !strings.Contains(err.Error(), "bad signature site-1.tar.volumes.json.sig") {
		t.Errorf("another key: %v", err)
	}
	// An edited manifest no longer checks.
	b, _ := os.ReadFile(mp)
	os.WriteFile(mp, bytes.Replace(b, []byte(`"version": "1"`), []byte(`"version": "2"`), 1), 0o644)
	if _, err := Open(mp, pub); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Errorf("an edited manifest: %v", err)
	}
	// Unsigned, with a key: refused.
	_, ump := split(t, arch, 1000, nil)
	if _, err := Open(ump, pub); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned set with a key: %v", err)
	}
}

func TestCheckVolume(t *testing.T) {
	arch := archive(t, t.TempDir(), 3000, 8)
	key, pub := testKey(t)
	sign := func(d []byte) ([]byte, error) { return manifest.Sign(d, key, nil, 1420070400) }
	m, mp := split(t, arch, 1000, sign)
	dir := filepath.Dir(mp)
	// One medium: volume 2 and the manifest, nothing else.
	medium := t.TempDir()
	for _, n := range []string{m.Volumes[1].Name, filepath.Base(mp), m.Archive + SignatureSuffix} {
		copyFile(t, filepath.Join(dir, n), filepath.Join(medium, n))
	}
	rep, err := CheckVolume(context.Background(), filepath.Join(medium, m.Volumes[1].Name), pub)
	if err != nil || rep.Volume.Index != 2 || len(rep.Set.Manifest.Volumes) != 3 || rep.Set.SignedBy == "" {
		t.Fatalf("CheckVolume: %+v, %v", rep, err)
	}
	flip(2)(t, medium, m)
	if _, err := CheckVolume(context.Background(), filepath.Join(medium, m.Volumes[1].Name), pub); err == nil || !strings.Contains(err.Error(), "volume 2 of 3 (site-1.tar.vol002)") {
		t.Errorf("a corrupt volume: %v", err)
	}
	// Volume 3's bytes under volume 1's name.
	copyFile(t, filepath.Join(dir, m.Volumes[2].Name), filepath.Join(medium, m.Volumes[0].Name))
	m.VolumeSize = 0
	if _, err := CheckVolume(context.Background(), filepath.Join(medium, m.Volumes[0].Name), nil); err == nil || !strings.Contains(err.Error(), "volume 1 of 3 (site-1.tar.vol001): volume set: 1000 bytes") && !strings.Contains(err.Error(), "holds the bytes of volume 3") {
		t.Errorf("a misnamed volume: %v", err)
	}
	lone := t.TempDir()
	copyFile(t, filepath.Join(dir, m.Volumes[0].Name), filepath.Join(lone, m.Volumes[0].Name))
	if _, err := CheckVolume(context.Background(), filepath.Join(lone, m.Volumes[0].Name), nil); err == nil || !strings.Contains(err.Error(), "site-1.tar.volumes.json is not beside it") {
		t.Errorf("no manifest: %v", err)
	}
	copyFile(t, mp, filepath.Join(lone, filepath.Base(mp)))
	copyFile(t, filepath.Join(dir, m.Volumes[0].Name), filepath.Join(lone, "site-1.tar.vol009"))
	if _, err := CheckVolume(context.Background(), filepath.Join(lone, "site-1.tar.vol009"), nil); err == nil || !strings.Contains(err.Error(), "lists no volume of that name") {
		t.Errorf("a volume of another set: %v", err)
	}
}

// TestReadOnlyMedia reads a set from a read-only directory and, where
// mounts can be made (root), from a read-only bind mount: nothing is
// written, so both work, and a damaged volume there is still named.
func TestReadOnlyMedia(t *testing.T) {
	arch := archive(t, t.TempDir(), 5000, 9)
	want, _ := os.ReadFile(arch)
	m, mp := split(t, arch, 2048, nil)
	dir := filepath.Dir(mp)
	for _, v := range m.Volumes {
		os.Chmod(filepath.Join(dir, v.Name), 0o444)
	}
	os.Chmod(mp, 0o444)
	os.Chmod(dir, 0o555)
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	got, err := readAll(t, dir, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read-only directory: %v", err)
	}
	if os.Geteuid() != 0 {
		return
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "--bind", dir, mnt).CombinedOutput(); err != nil {
		t.Logf("no bind mount here (%v: %s); the read-only directory was tested", err, out)
		return
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(mnt, "probe"), nil, 0o644); err == nil {
		t.Fatal("the bind mount is writable")
	}
	got, err = readAll(t, filepath.Join(mnt, filepath.Base(mp)), nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read-only mount: %v", err)
	}
	if _, err := CheckVolume(context.Background(), filepath.Join(mnt, m.Volumes[1].Name), nil); err != nil {
		t.Fatalf("one volume on a read-only mount: %v", err)
	}
}

func TestIsSet(t *testing.T) {
	arch := archive(t, t.TempDir(), 3000, 10)
	m, mp := split(t, arch, 1000, nil)
	dir := filepath.Dir(mp)
	if !IsSet(mp) || !IsSet(dir) || IsSet(arch) || IsSet(filepath.Join(dir, m.Volumes[0].Name)) {
		t.Error("IsSet")
	}
	if !IsVolume(filepath.Join(dir, m.Volumes[0].Name)) || IsVolume(mp) {
		t.Error("IsVolume")
	}
	os.WriteFile(filepath.Join(dir, manifest.FileName), nil, 0o644)
	if IsSet(dir) {
		t.Error("a bundle directory taken for a volume set")
	}
}
