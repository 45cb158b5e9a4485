package haproxyjudge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/internal/cachedir"
)

// MakeArgs is the build line of HAProxy 1.5 on a current GCC: no PCRE,
// OpenSSL or zlib (the configurations the bundle writes use none), and
// -fcommon, which GCC 10 and later need for 1.5's tentative definitions.
var MakeArgs = []string{"TARGET=linux2628", "USE_PCRE=", "USE_OPENSSL=", "USE_ZLIB=", `DEBUG_CFLAGS=-g -fcommon -w`}

// Build returns the path of the haproxy binary built from tarball (a
// haproxy-X.Y.Z.tar.gz release), building it with make and the C compiler
// when the cache lacks it. The cache directory is cacheDir when set, else
// the bundle cache (internal/cachedir). Concurrent builds of the same
// tarball each build in a directory of their own; the first to finish is
// kept.
func Build(ctx context.Context, tarball, cacheDir string) (string, error) {
	sum, err := fileSHA256(tarball)
	if err != nil {
		return "", err
	}
	key := sha256.Sum256([]byte(sum + "\x00" + strings.Join(MakeArgs, "\x00")))
	root := cachedir.Dir(cacheDir)
	if root == "" {
		return "", errors.New("no cache directory to build HAProxy in (set BUNDLE_CACHE_DIR)")
	}
	dir := filepath.Join(root, "haproxy-judge", hex.EncodeToString(key[:])[:32])
	bin := filepath.Join(dir, "haproxy")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	for _, tool := range []string{"make", "cc", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("building HAProxy from %q needs %s (scripts/debian-packages.txt: gcc, make, libc6-dev, libcrypt-dev): %w", tarball, tool, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("creating %q: %w", filepath.Dir(dir), err)
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		return "", fmt.Errorf("creating a build directory: %w", err)
	}
	defer os.RemoveAll(work)
	if out, err := exec.CommandContext(ctx, "tar", "-xzf", tarball, "-C", work, "--strip-components=1").CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpacking %q: %w\n%s", tarball, err, out)
	}
	jobs := fmt.Sprintf("-j%d", min(runtime.NumCPU(), 2))
	cmd := exec.CommandContext(ctx, "make", append([]string{jobs}, MakeArgs...)...)
	cmd.Dir = work
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building HAProxy from %q (make %s): %w\n%s", tarball, strings.Join(MakeArgs, " "), err, tail(log.Bytes(), 4000))
	}
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(work, "haproxy"), filepath.Join(out, "haproxy")); err != nil {
		return "", fmt.Errorf("the build of %q made no haproxy: %w", tarball, err)
	}
	if err := os.Rename(out, dir); err != nil {
		// Another build finished first: use its binary.
		if fi, serr := os.Stat(bin); serr == nil && fi.Mode().IsRegular() {
			return bin, nil
		}
		return "", fmt.Errorf("keeping the HAProxy build in %q: %w", dir, err)
	}
	return bin, nil
}

// Version is the first line of `haproxy -v`, e.g. "HA-Proxy version 1.5.2 2014/07/12".
func Version(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "-v").Output()
	if err != nil {
		return "", fmt.Errorf("%s -v: %w", bin, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// ServerHosts are the host names (not addresses) of the server lines of a
// haproxy.cfg, sorted and without duplicates.
func ServerHosts(cfg []byte) []string {
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "server" {
			continue
		}
		host := f[2]
		if h, _, err := net.SplitHostPort(f[2]); err == nil {
			host = h
		}
		if host != "" && net.ParseIP(host) == nil {
			seen[host] = true
		}
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// Check runs `bin -c -f cfg`. When known is not empty, it runs in a new
// mount namespace (unshare -m as root, else unshare -r -m, which needs
// unprivileged user namespaces) with an
// /etc/hosts mapping each of those names to 127.0.0.1, the way a node's
// resolver knows the cluster's hosts; other names resolve as on this
// machine. It returns HAProxy's output and an error when HAProxy refuses
// the file.
func Check(ctx context.Context, bin, cfg string, known []string) ([]byte, error) {
	if len(known) == 0 {
		out, err := exec.CommandContext(ctx, bin, "-c", "-f", cfg).CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("%s -c -f %s: %w", bin, cfg, err)
		}
		return out, nil
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading %q: %w", "/etc/hosts", err)
	}
	var b bytes.Buffer
	b.Write(hosts)
	if len(hosts) > 0 && hosts[len(hosts)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, h := range known {
		if strings.ContainsAny(h, " \t\n#") {
			return nil, fmt.Errorf("host name %q cannot go into /etc/hosts", h)
		}
		fmt.Fprintf(&b, "127.0.0.1 %s\n", h)
	}
	f, err := os.CreateTemp("", "haproxyjudge-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return nil, err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("checking with an /etc/hosts of the cluster's names needs unshare (util-linux): %w", err)
	}
	// Root gets a mount namespace of its own; anyone else a user namespace
	// mapping them to root as well.
	args := []string{"-m"}
	if os.Geteuid() != 0 {
		args = []string{"-r", "-m"}
	}
	script := `mount --bind "$1" /etc/hosts && exec "$2" -c -f "$3"`
	args = append(args, "sh", "-c", script, "sh", f.Name(), bin, cfg)
	out, err := exec.CommandContext(ctx, unshare, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s -c -f %s (hosts %s): %w", bin, cfg, strings.Join(known, " "), err)
	}
	return out, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("opening %q: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %q: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
