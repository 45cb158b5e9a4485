#
# Recipe:: haproxy
#
# HAProxy and the bundle's haproxy-marathon-bridge on every node of the
# cluster: haproxy from the distro's repos, the bridge (with the cluster's
# stats auth in its header), the marathons list, the first haproxy.cfg and
# the cron.d file that refreshes it from Marathon every minute. Host names
# of groups without declared hosts come from a Chef search that waits for
# every node of the group (BundleSite.search_lookup), so the first
# converge writes complete lists.
#
site = BundleSite.node_group(node[cookbook_name], node[:cluster_name], node[:facet_name])
cluster_data = site['cluster']
hp = cluster_data['haproxy']
lookup = BundleSite.search_lookup(self)
bridge = ::File.join(node[:cluster_name].to_s, 'haproxy-marathon-bridge')

# The distro's repos (a no-op when the mesos or zookeeper recipes added them).
include_recipe 'hadoop_common::add_repo'

%w(haproxy curl).each do |pkg|
  package pkg
end

directory '/etc/haproxy-marathon-bridge' do
  owner 'root'
  group 'root'
  mode '0755'
end

cookbook_file '/usr/local/bin/haproxy-marathon-bridge' do
  source bridge
  owner 'root'
  group 'root'
  mode '0755'
end

template '/etc/haproxy-marathon-bridge/marathons' do
  source 'marathons.erb'
  owner 'root'
  group 'root'
  mode '0644'
  variables(marathons: BundleSite.marathons(cluster_data, lookup))
end

template '/etc/haproxy/haproxy.cfg' do
  source 'haproxy.cfg.erb'
  owner 'root'
  group 'root'
  mode '0640'
  variables(
    stats_port: hp['stats_port'],
    stats_auth: hp['stats_auth'],
    server_options: hp['server_options'],
    listens: BundleSite.listens(cluster_data, lookup)
  )
  notifies :reload, 'service[haproxy]', :delayed
end

cookbook_file '/etc/cron.d/haproxy-marathon-bridge' do
  source 'haproxy-marathon-bridge.cron'
  owner 'root'
  group 'root'
  mode '0644'
end

service 'haproxy' do
  supports status: true, restart: true, reload: true
  action [:enable, :start]
end
