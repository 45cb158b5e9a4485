# The seed scenario: a Mesos 0.22.0 / Marathon 0.8.0 site on VMware BDE with
# two storage I/O profiles (VSAN shared, VMAX local), Hadoop pinned to VSAN and
# NGiNX (10 instances, port 80) pinned to VMAX, ZooKeeper, Chronos, Docker and
# HAProxy with the haproxy-marathon-bridge on every node.

bundle "mesos-site" {
  version     = "2015.03.1"
  epoch       = 1426032000 # SOURCE_DATE_EPOCH for every timestamp
  description = "Mesos 0.22.0 and Marathon 0.8.0 on BDE with VSAN and VMAX storage profiles"
}

variable "bde_server" {
  type        = string
  default     = "bde.localdomain"
  description = "FQDN of the BDE management server that serves /opt/serengeti/www"
}

variable "stats_password" {
  type        = string
  default     = "change-me"
  sensitive   = true
  description = "Password of the HAProxy stats page (user admin)"

  validation {
    condition     = length(var.stats_password) >= 8
    error_message = "The HAProxy stats password must be at least 8 characters."
  }
}

locals {
  yum = "https://${var.bde_server}/yum"
}

# The site this release goes over: release 1 left Mesos 0.21.0 under the
# distro name "mesos" (site/manifest is its www/distros/manifest). BDE fixed
# that name for cluster mesos01 when it created it, so the distro block
# "mesos" below updates that entry in place to 0.22.0, and 0.21.0 stays
# available under a name of its own ("mesos-previous", with its own repo
# directory and .repo file). See docs/upgrade.md.
upgrade {
  manifest = "site/manifest"
}

storage_profile "vsan" {
  backend    = "VMware VSAN"
  storage    = "shared"
  datastores = ["vsanDatastore"]
}

storage_profile "vmax" {
  backend    = "EMC VMAX 40K"
  storage    = "local"
  datastores = ["vmax-*"]
}

repo "mesos" {
  version  = "0.22.0"
  packages = ["rpms/mesos-0.22.0"]
  base_url = "${local.yum}/repos/mesos/0.22.0/"
}

repo "mesos-previous" {
  path     = "mesos"
  version  = "0.21.0"
  packages = ["rpms/mesos-0.21.0"]
  base_url = "${local.yum}/repos/mesos/0.21.0/"
}

distro "mesos" {
  vendor  = "MESOS"
  version = "0.22.0"
  repos   = [repo.mesos]
  roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_docker", "mesos_chronos", "mesos_marathon"]

  baseline {
    provides = ["/bin/sh", "/bin/bash", "bash", "glibc", "libcurl", "zlib", "cyrus-sasl-md5", "subversion", "apr", "apr-util", "java-1.7.0-openjdk", "java", "unzip", "initscripts", "chkconfig", "shadow-utils", "iptables", "device-mapper-libs", "libcgroup", "lxc", "xz", "git", "procps", "coreutils", "util-linux", "logrotate", "socat", "openssl", "rsyslog", "curl", "e2fsprogs", "python"]
  }
}

distro "mesos-previous" {
  vendor  = "MESOS"
  version = "0.21.0"
  repos   = [repo.mesos-previous]
  roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_docker", "mesos_chronos", "mesos_marathon"]

  baseline {
    provides = ["/bin/sh", "/bin/bash", "bash", "glibc", "libcurl", "zlib", "cyrus-sasl-md5", "subversion", "apr", "apr-util", "java-1.7.0-openjdk", "java", "unzip", "initscripts", "chkconfig", "shadow-utils", "iptables", "device-mapper-libs", "libcgroup", "lxc", "xz", "git", "procps", "coreutils", "util-linux", "logrotate", "socat", "openssl", "rsyslog", "curl", "e2fsprogs", "python"]
  }
}

cluster "mesos01" {
  distro   = distro.mesos
  marathon = "0.8.0"
  chronos  = "2.3.0"

  # mesos01 runs on the site: created on distro "mesos", at 0.21.0 until
  # this release moves it to 0.22.0 (deploy then runs cluster config).
  running {
    distro  = "mesos"
    version = "0.21.0"
  }

  zookeeper {
    path = "/mesos"
  }

  node_group "master" {
    roles     = ["zookeeper", "mesos_master", "mesos_marathon", "mesos_chronos"]
    instances = 3
    cpu       = 2
    memory_mb = 4096
    ha        = "on"
    template  = vm_template.mesos-node
    hosts     = ["master-1.localdomain", "master-2.localdomain", "master-3.localdomain"]

    storage {
      type       = "shared"
      size_gb    = 20
      datastores = ["vsanDatastore"]
    }
  }

  node_group "fast" {
    roles           = ["mesos_slave", "mesos_docker"]
    instances       = 5
    cpu             = 8
    memory_mb       = 32768
    storage_profile = storage_profile.vsan
    template        = vm_template.mesos-node
    attributes      = { rack = "r1" }

    storage {
      size_gb = 100
    }
  }

  node_group "bulk" {
    roles           = ["mesos_slave", "mesos_docker"]
    instances       = 10
    cpu             = 4
    memory_mb       = 8192
    storage_profile = storage_profile.vmax
    template        = vm_template.mesos-node
    attributes      = { rack = "r2" }

    storage {
      size_gb = 50
    }
  }

  haproxy {
    stats_auth = "admin:${var.stats_password}"
  }
}

app "hadoop" {
  cluster     = cluster.mesos01
  cmd         = "/opt/hadoop/bin/yarn resourcemanager"
  instances   = 3
  cpus        = 4
  mem         = 8192
  constraints = [["storage_profile", "CLUSTER", "vsan"], ["hostname", "UNIQUE"]]
}

app "nginx" {
  cluster     = cluster.mesos01
  instances   = 10
  cpus        = 0.5
  mem         = 256
  ports       = [80]
  image       = image.nginx
  network     = "BRIDGE"
  constraints = [["storage_profile", "CLUSTER", "vmax"]]

  health_check {
    protocol = "HTTP"
    path     = "/"
  }
}

image "nginx" {
  ref      = "docker-archive:images/nginx-1.7.9.tar"
  platform = "linux/amd64"

  # "preserve" (the default; bundle { image_media_types } sets it for every
  # image) keeps the upstream manifests byte for byte, so their digests and
  # any signatures made over them stay valid. "oci" rewrites Docker manifests
  # to OCI ones (new digests) so that skopeo and podman can read images/.
  media_types = "preserve"
}

vm_template "mesos-node" {
  guest_os  = "centos64Guest"
  disk      = "disks/centos-6.6.vmdk"
  cpu       = 2
  memory_mb = 4096
  network   = "VM Network"

  # role, storage_profile and zookeeper are filled in for each node group that
  # uses this template: the bundle carries one derived template per group.
  property "role" {
    label       = "Mesos roles of the node"
    description = "Comma-separated BDE roles, filled per node group"
  }

  property "storage_profile" {
    label       = "Storage I/O profile"
    description = "The storage_profile attribute of the node's Mesos slave"
  }

  property "zookeeper" {
    label       = "ZooKeeper ensemble"
    description = "The zk:// URL of the cluster's ZooKeeper ensemble"
  }
}

vcenter "site" {
  datacenter     = "DC1"
  datastore      = "vsanDatastore"
  folder         = "bde/templates"
  library        = "bundles"
  datastore_path = "bundles/mesos-site"
  registry       = "registry.localdomain:5000"
}
