#
# Recipe:: install
#
# Its role (before_mesos) runs BDE's role[basic] first, so hadoop_common's
# error handler reports a failure here. It installs the node group's
# packages (mesos, and marathon, chronos, docker-io by role) at the exact
# versions the bundle ships, from the distro's repos, before before_mesos
# writes any configuration: Mesosphere's packages mark every /etc file
# %config(noreplace), so a file written before its package is installed
# would be left in place and the package's copy written as .rpmnew, which
# mesos-init-wrapper passes to Mesos as a flag. A different installed
# version is upgraded or downgraded to the bundle's. The mesos cookbook's
# own `package` resources then find them installed.
#
# On a node that already runs them (its init job exists), a package that
# changes version restarts its daemons at the end of the run, after
# before_mesos and after_mesos have written the new version's flags:
# mesos restarts mesos-master and/or mesos-slave, marathon and chronos
# their own jobs (declared by mesos::master). A first install starts them
# through the mesos recipes as before. Masters before slaves: a slave that
# is not also a master waits, before its Mesos package changes version,
# until a master answers with the new version (BundleUpgrade, bounded by
# the bundle's master_wait_seconds).
#
site = BundleSite.node_group(node[cookbook_name], node[:cluster_name], node[:facet_name])
packages = site['group']['packages'] || []

# As mesos::install does, so the repos are the same when it runs.
node.normal[:enable_standard_os_yum_repos] = true
include_recipe 'hadoop_common::add_repo'

unless packages.empty?
  set_bootstrap_action(ACTION_INSTALL_PACKAGE, packages.map { |p| p['name'] }.join(', '), true)
end

roles = site['group']['roles']
master = roles.include?('mesos_master')
slave = roles.include?('mesos_slave')
# The jobs a package's daemons run as, and whether the mesos cookbook
# declares their restart on this node.
jobs = { 'mesos' => [], 'marathon' => [], 'chronos' => [] }
jobs['mesos'] << 'mesos-master' if master
jobs['mesos'] << 'mesos-slave' if slave
jobs['marathon'] << 'marathon' if master && roles.include?('mesos_marathon')
jobs['chronos'] << 'chronos' if master && roles.include?('mesos_chronos')

packages.each do |pkg|
  running = (jobs[pkg['name']] || []).select { |job| ::File.exist?("/etc/init/#{job}.conf") }
  if pkg['name'] == 'mesos' && slave && !master && running.include?('mesos-slave') && !pkg['version'].empty?
    want = pkg['version'].split('-').first
    masters = BundleSite.role_hosts(site['cluster'], 'mesos_master', BundleSite.search_lookup(self))
    wait = (node[cookbook_name]['master_wait_seconds'] || 1800).to_i
    ruby_block "bundle: a Mesos master on #{want} before this slave" do
      block do
        BundleUpgrade.wait_for_master(masters, want, :wait => wait, :log => lambda { |m| Chef::Log.info(m) })
      end
    end
  end
  yum_package pkg['name'] do
    version pkg['version'] unless pkg['version'].empty?
    arch pkg['arch'] unless pkg['arch'].empty?
    allow_downgrade true
    action :install
    running.each { |job| notifies :run, "bash[restart-#{job}]", :delayed }
  end
end
