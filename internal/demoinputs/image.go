package demoinputs

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// NginxTag is the tag of the image NginxImage writes.
const NginxTag = "nginx:1.7.9"

// nginxFiles are the files of the stand-in image, in tar order.
var nginxFiles = []struct {
	path string
	mode int64
	body string
}{
	{"etc/", 0o755, ""},
	{"etc/nginx/", 0o755, ""},
	{"etc/nginx/nginx.conf", 0o644, `worker_processes 1;
events { worker_connections 64; }
http {
    server {
        listen 80;
        root /usr/share/nginx/html;
    }
}
`},
	{"usr/", 0o755, ""},
	{"usr/sbin/", 0o755, ""},
	{"usr/sbin/nginx", 0o755, `#!/bin/sh
# nginx 1.7.9 stand-in: serves nothing, reports its version.
case "$1" in
-v|-V) echo "nginx version: nginx/1.7.9" >&2; exit 0 ;;
esac
exec sleep 2147483647
`},
	{"usr/share/", 0o755, ""},
	{"usr/share/nginx/", 0o755, ""},
	{"usr/share/nginx/html/", 0o755, ""},
	{"usr/share/nginx/html/index.html", 0o644, `<!DOCTYPE html>
<html><head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1></body></html>
`},
}

// NginxImage writes to path a docker-archive (`docker save` format) of a
// tiny nginx stand-in image tagged nginx:1.7.9 for linux/amd64: one layer
// with a few fixed files, every timestamp at epoch. The same epoch gives
// the same bytes and digest.
func NginxImage(path string, epoch int64) error {
	img, err := nginxImage(epoch)
	if err != nil {
		return fmt.Errorf("building nginx image: %w", err)
	}
	tag, err := name.NewTag(NginxTag)
	if err != nil {
		return err
	}
	return atomicfs.Write(path, 0o644, func(w io.Writer) error { return tarball.Write(tag, img, w) })
}

func nginxImage(epoch int64) (v1.Image, error) {
	when := time.Unix(epoch, 0).UTC()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range nginxFiles {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: when, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if f.path[len(f.path)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: when},
			CreatedBy: "bundle demo: nginx 1.7.9 stand-in",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = "amd64"
	cf.OS = "linux"
	cf.Created = v1.Time{Time: when}
	cf.Config.Cmd = []string{"nginx", "-g", "daemon off;"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.7.9"}
	cf.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	return mutate.ConfigFile(img, cf)
}
