#
# Recipe:: after_mesos
#
# Its role comes after the mesos roles in the node group's roles, so when
# this is compiled the mesos cookbook's resources are in the run. It makes
# each of them that writes a file the bundle renders write the bundle's
# content instead (the init jobs with the exec paths of the shipped
# packages, /etc/default/mesos* with only what mesos-init-wrapper reads;
# the ZooKeeper ensemble), stops the mesos cookbook from
# rewriting the flag files before_mesos owns (it rewrote them and restarted
# Mesos on every run, with a hard-coded quorum of 1), and drops the
# downloads an air-gapped node cannot make.
#
site = BundleSite.node_group(node[cookbook_name], node[:cluster_name], node[:facet_name])
cluster_data = site['cluster']
group_data = site['group']
cb = cookbook_name.to_s
by_name = BundleSite.resources_by_name(run_context)

upstream = group_data['upstream_files'] || {}
upstream.keys.sort.each do |path|
  copies = by_name["template[#{path}]"] || []
  copies.each_with_index do |r, i|
    r.cookbook(cb)
    r.source('value.erb')
    r.variables(value: upstream[path])
    # mesos::install writes the init jobs stopped, mesos::master and
    # mesos::slave again started: keep the last.
    r.action(:nothing) if path.start_with?('/etc/init/') && i < copies.size - 1
  end
end

zk = by_name['template[/etc/mesos/zk]'] || []
unless zk.empty?
  url = BundleSite.zk_url(cluster_data, BundleSite.search_lookup(self))
  zk.each do |r|
    r.cookbook(cb)
    r.source('zk.erb')
    r.variables(url: url)
  end
end

(group_data['files'] || {}).keys.sort.each do |path|
  (by_name["execute[#{path}]"] || []).each { |r| r.action(:nothing) }
end

offline = %w(
  package[epel-release]
  package[python-setuptools]
  remote_file[/var/lib/mesos/executors/docker]
  bash[install-mesos-egg]
)
offline << "remote_file[#{::File.join(Chef::Config[:file_cache_path], 'mesos.egg')}]"
# before_mesos renders /etc/sysconfig/docker and the containerizer flags.
offline << 'bash[config docker containerizer for mesos]'
offline.each do |name|
  (by_name[name] || []).each { |r| r.action(:nothing) }
end
