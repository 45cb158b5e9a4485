package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/volume"
)

// TestVolumesCLI: split a signed archive, read the set with verify,
// inspect and deploy straight from a read-only directory, verify one
// volume on its own, and refuse a damaged or incomplete set naming the
// volume, before anything is uploaded.
func TestVolumesCLI(t *testing.T) {
	secret, public := testutil.KeyPair(t, "Release")
	keys := t.TempDir()
	secFile, pubFile := filepath.Join(keys, "release.key"), filepath.Join(keys, "release.pub.asc")
	must0(t, os.WriteFile(secFile, secret, 0o600))
	must0(t, os.WriteFile(pubFile, public, 0o644))
	res := buildDeployBundle(t, builder.Options{NoCache: true, SignKey: secret})
	media := filepath.Join(t.TempDir(), "media")

	code, stdout, stderr := run(t, "split", res.Archive, "--volume-size", "512", "-o", media, "--sign-key", secFile)
	if code != ExitOK || !strings.Contains(stdout, "volumes: ") {
		t.Fatalf("split: exit %d\n%s%s", code, stdout, stderr)
	}
	vols, _ := filepath.Glob(filepath.Join(media, "*.vol[0-9]*"))
	n := len(vols)
	if n < 2 || n != int((res.ArchiveSize+511)/512) {
		t.Fatalf("%d volumes of a %d-byte archive", n, res.ArchiveSize)
	}
	// Byte-reproducible: a second split writes the same files.
	again := filepath.Join(t.TempDir(), "again")
	if code, stdout, stderr := run(t, "split", res.Archive, "--volume-size", "512", "-o", again, "--sign-key", secFile, "-q"); code != ExitOK {
		t.Fatalf("split again: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, v := range append(vols, filepath.Join(media, filepath.Base(res.Archive)+volume.ManifestSuffix), filepath.Join(media, filepath.Base(res.Archive)+volume.SignatureSuffix)) {
		a, _ := os.ReadFile(v)
		b, err := os.ReadFile(filepath.Join(again, filepath.Base(v)))
		if err != nil || string(a) != string(b) {
			t.Fatalf("%s differs between two splits (%v)", filepath.Base(v), err)
		}
	}

	// Read-only media.
	for _, v := range vols {
		must0(t, os.Chmod(v, 0o444))
	}
	must0(t, os.Chmod(media, 0o555))
	t.Cleanup(func() { os.Chmod(media, 0o755) })
	code, stdout, stderr = run(t, "verify", media, "--key", pubFile)
	if code != ExitOK || !strings.Contains(stdout, "OK mesos-site-2015.03.1 (read from its volume set): 3 files") || !strings.Contains(stdout, "signature good") {
		t.Fatalf("verify the set: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "verify", vols[1], "--key", pubFile)
	if want := "volume 2 of " + itoa(n) + ": ok"; code != ExitOK || !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "signature good") {
		t.Fatalf("verify one volume: exit %d, want %q\n%s%s", code, want, stdout, stderr)
	}
	code, stdout, stderr = run(t, "inspect", filepath.Join(media, filepath.Base(res.Archive)+volume.ManifestSuffix))
	if code != ExitOK || !strings.Contains(stdout, "Bundle mesos-site 2015.03.1 (volumes, signed)") {
		t.Fatalf("inspect the set: exit %d\n%s%s", code, stdout, stderr)
	}
	startSim(t)
	work := t.TempDir()
	code, stdout, stderr = run(t, "deploy", media, "--key", pubFile, "--work-dir", work, "--datastore-path", "vols")
	if code != ExitOK || !strings.Contains(stdout, "Deployed bundle mesos-site 2015.03.1: 3 files uploaded") {
		t.Fatalf("deploy the set: exit %d\n%s%s", code, stdout, stderr)
	}
	must0(t, os.Chmod(media, 0o755))

	// Damaged sets: each refusal names the volume; nothing is deployed.
	damaged := func(name string, damage func(dir string), want string) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "media")
			for _, f := range append(vols, filepath.Join(media, filepath.Base(res.Archive)+volume.ManifestSuffix), filepath.Join(media, filepath.Base(res.Archive)+volume.SignatureSuffix)) {
				testutil.CopyFiles(t, dir, f)
			}
			damage(dir)
			code, stdout, stderr := run(t, "verify", dir, "--key", pubFile)
			if code != ExitUser || !strings.Contains(stdout+stderr, want) {
				t.Fatalf("verify: exit %d, want 1 with %q\n%s%s", code, want, stdout, stderr)
			}
			code, stdout, stderr = run(t, "deploy", dir, "--key", pubFile, "--work-dir", t.TempDir(), "--datastore-path", "refused-"+strings.ReplaceAll(name, " ", "-"))
			if code != ExitUser || !strings.Contains(stderr, want) || strings.Contains(stdout, "Plan:") {
				t.Fatalf("deploy: exit %d, want 1 with %q\n%s%s", code, want, stdout, stderr)
			}
		})
	}
	vol := func(i int) string { return filepath.Base(vols[i-1]) }
	damaged("flipped byte", func(dir string) {
		p := filepath.Join(dir, vol(2))
		must0(t, os.Chmod(p, 0o644))
		b, _ := os.ReadFile(p)
		b[100] ^= 1
		must0(t, os.WriteFile(p, b, 0o644))
	}, "volume 2 of "+itoa(n)+" ("+vol(2)+"): volume set: sha256")
	damaged("missing volume", func(dir string) { must0(t, os.Remove(filepath.Join(dir, vol(n)))) },
		"volume "+itoa(n)+" of "+itoa(n)+" ("+vol(n)+"): volume set: missing")
	damaged("edited volume manifest", func(dir string) {
		p := filepath.Join(dir, filepath.Base(res.Archive)+volume.ManifestSuffix)
		must0(t, os.Chmod(p, 0o644))
		b, _ := os.ReadFile(p)
		must0(t, os.WriteFile(p, []byte(strings.Replace(string(b), `"version": "2015.03.1"`, `"version": "2015.03.2"`, 1)), 0o644))
	}, "bad signature")

	// One volume on its own: corrupt, and without its manifest.
	lone := t.TempDir()
	testutil.CopyFiles(t, lone, vols[0])
	code, _, stderr = run(t, "verify", filepath.Join(lone, vol(1)))
	if code != ExitUser || !strings.Contains(stderr, "volume manifest "+filepath.Base(res.Archive)+volume.ManifestSuffix+" is not beside it") {
		t.Fatalf("a volume without its manifest: exit %d\n%s", code, stderr)
	}
	// Bad sizes are usage errors.
	for _, bad := range []string{"4.7XB", "0", ""} {
		if code, _, stderr := run(t, "split", res.Archive, "--volume-size", bad, "-o", t.TempDir()); code != ExitUsage || !strings.Contains(stderr, "volume-size") {
			t.Errorf("--volume-size %q: exit %d\n%s", bad, code, stderr)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBuildVolumeSize: build --volume-size writes the set beside the
// archive, the same bytes split writes.
func TestBuildVolumeSize(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir)
	dist := filepath.Join(t.TempDir(), "dist")
	if code, stdout, stderr := run(t, "lock", dir, "-q"); code != ExitOK {
		t.Fatalf("lock: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := run(t, "build", dir, "-o", dist, "--offline", "--no-cache", "--volume-size", "1MB")
	if code != ExitOK || !strings.Contains(stdout, "volumes: ") {
		t.Fatalf("build --volume-size: exit %d\n%s%s", code, stdout, stderr)
	}
	set := filepath.Join(dist, "mesos-site-2015.03.1.volumes")
	vols, _ := filepath.Glob(filepath.Join(set, "*.vol[0-9]*"))
	fi, err := os.Stat(filepath.Join(dist, "mesos-site-2015.03.1.tar.zst"))
	if err != nil || len(vols) != int((fi.Size()+999_999)/1_000_000) {
		t.Fatalf("%d volumes beside the archive (%v)", len(vols), err)
	}
	again := filepath.Join(t.TempDir(), "again")
	if code, stdout, stderr := run(t, "split", filepath.Join(dist, "mesos-site-2015.03.1.tar.zst"), "--volume-size", "1MB", "-o", again, "-q"); code != ExitOK {
		t.Fatalf("split: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, v := range vols {
		a, _ := os.ReadFile(v)
		b, _ := os.ReadFile(filepath.Join(again, filepath.Base(v)))
		if string(a) != string(b) {
			t.Fatalf("%s: build and split differ", filepath.Base(v))
		}
	}
	if code, stdout, stderr := run(t, "verify", set); code != ExitOK {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := run(t, "build", dir, "-o", dist, "--offline", "--no-archive", "--volume-size", "dvd"); code != ExitUsage || !strings.Contains(stderr, "--no-archive") {
		t.Fatalf("--volume-size with --no-archive: exit %d\n%s", code, stderr)
	}
}

// TestImagesPushVolumeSet: images push reads a volume set in place; a set
// with a damaged volume is refused, naming it, before any blob is pushed.
func TestImagesPushVolumeSet(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := startDockerRegistry(t, "", "")
	proxy := startProxy(t, reg)
	bundleDir, archive := buildImagesSite(t, imagesSite(t, proxy.host, ""))
	media := filepath.Join(t.TempDir(), "media")
	if code, stdout, stderr := run(t, "split", archive, "--volume-size", "256KiB", "-o", media, "-q"); code != ExitOK {
		t.Fatalf("split: exit %d\n%s%s", code, stdout, stderr)
	}
	vols, _ := filepath.Glob(filepath.Join(media, "*.vol[0-9]*"))
	if len(vols) < 2 {
		t.Fatalf("%d volumes", len(vols))
	}
	damaged := filepath.Join(t.TempDir(), "media")
	for _, f := range append(vols, filepath.Join(media, filepath.Base(archive)+volume.ManifestSuffix)) {
		testutil.CopyFiles(t, damaged, f)
	}
	last := filepath.Join(damaged, filepath.Base(vols[len(vols)-1]))
	b, _ := os.ReadFile(last)
	b[len(b)-1] ^= 0xff
	must0(t, os.WriteFile(last, b, 0o644))
	code, stdout, stderr := run(t, "images", "push", damaged)
	if want := "volume " + itoa(len(vols)) + " of " + itoa(len(vols)); code != ExitUser || !strings.Contains(stdout+stderr, want) {
		t.Fatalf("push of a damaged set: exit %d, want 1 naming %q\n%s%s", code, want, stdout, stderr)
	}
	if got := proxy.commits.Load(); got != 0 {
		t.Fatalf("a damaged set pushed %d blobs", got)
	}
	code, stdout, stderr = run(t, "images", "push", media)
	if code != ExitOK {
		t.Fatalf("push of the set: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, blobs := proxy.commits.Load(), uniqueBlobs(t, bundleDir); got != int64(blobs) {
		t.Errorf("the push committed %d blobs, the layout has %d", got, blobs)
	}
}

// TestBuildVolumeSizeRefused: a bad --volume-size is a usage error before
// anything is compiled or written.
func TestBuildVolumeSizeRefused(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	for _, bad := range []string{"4.7XB", "0", "GB"} {
		code, _, stderr := run(t, "build", t.TempDir(), "-o", dist, "--volume-size", bad)
		if code != ExitUsage || !strings.Contains(stderr, "--volume-size") {
			t.Errorf("build --volume-size %q: exit %d\n%s", bad, code, stderr)
		}
	}
	if _, err := os.Stat(dist); err == nil {
		t.Error("a refused build wrote its output directory")
	}
}
