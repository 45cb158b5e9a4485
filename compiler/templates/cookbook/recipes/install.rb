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
site = BundleSite.node_group(node[cookbook_name], node[:cluster_name], node[:facet_name])
packages = site['group']['packages'] || []

# As mesos::install does, so the repos are the same when it runs.
node.normal[:enable_standard_os_yum_repos] = true
include_recipe 'hadoop_common::add_repo'

unless packages.empty?
  set_bootstrap_action(ACTION_INSTALL_PACKAGE, packages.map { |p| p['name'] }.join(', '), true)
end

packages.each do |pkg|
  yum_package pkg['name'] do
    version pkg['version'] unless pkg['version'].empty?
    arch pkg['arch'] unless pkg['arch'].empty?
    allow_downgrade true
    action :install
  end
end
