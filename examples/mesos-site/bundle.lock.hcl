# This file is maintained automatically by "bundle lock".
# Manual edits may be lost in future updates.

image "nginx" {
  ref       = "docker-archive:images/nginx-1.7.9.tar"
  digest    = "sha256:a5b046b754522b29164b4fada5a8f41dc58a6425d3bdcad779701cfaaaec7797"
  platforms = ["linux/amd64"]
}
