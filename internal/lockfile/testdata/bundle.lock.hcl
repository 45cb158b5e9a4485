# This file is maintained automatically by "bundle lock".
# Manual edits may be lost in future updates.

image "app" {
  ref    = "registry.example:5000/team/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  digest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
}

image "multi" {
  ref       = "docker-archive:images/multi.tar"
  digest    = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  platforms = ["linux/amd64", "linux/arm64/v8"]
}

image "nginx" {
  ref       = "nginx:1.7.9"
  digest    = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
  platforms = ["linux/amd64"]
}
