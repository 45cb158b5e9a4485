#
# Recipe:: docker_images
#
# On a mesos_docker node of a cluster whose Docker cannot pull by digest
# (docker-io before 1.6), loads the container images the cluster's Marathon
# apps run: each docker load archive is downloaded from the management
# server (remote_file, checked against its sha256), loaded, and its tag
# checked to name the archive's image id. An image already loaded under its
# tag is skipped. Mesos' Docker containerizer (0.21, 0.22) runs docker
# inspect before docker pull and pulls only when the image is missing, so a
# loaded image runs without a registry. Nothing to do on a cluster whose
# Docker pulls from the site registry by digest.
#
site = BundleSite.node_group(node[cookbook_name], node[:cluster_name], node[:facet_name])
images = site['cluster']['docker_images'] || []
archives = node["#{cookbook_name}_docker_archives"]
dir = '/var/lib/bundle/docker'

run = lambda do |argv|
  cmd = Mixlib::ShellOut.new(*argv, :timeout => 3600)
  cmd.run_command
  [cmd.exitstatus == 0, cmd.stdout, cmd.stderr]
end

unless images.empty?
  directory dir do
    owner 'root'
    group 'root'
    mode '0755'
    recursive true
  end
end

images.each do |im|
  archive = BundleDocker.archive_for(im, archives)
  path = ::File.join(dir, "#{im['name']}.tar")

  remote_file path do
    source im['url']
    checksum archive['sha256']
    owner 'root'
    group 'root'
    mode '0644'
    not_if { BundleDocker.loaded?(run, im, archive) }
  end

  ruby_block "docker load #{BundleDocker.ref(im)}" do
    block { BundleDocker.load(run, im, archive, path) }
    not_if { BundleDocker.loaded?(run, im, archive) }
  end
end
