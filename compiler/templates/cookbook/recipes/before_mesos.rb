#
# Recipe:: before_mesos
#
# Its role comes first in the node group's roles, so this runs before
# mesos::master and mesos::slave, after role[basic] and the install recipe
# have installed the group's packages (so no package installed later can
# shadow or overwrite what this writes). It writes the Mesos flag files the
# bundle renders for the group (each flag once: the master quorum and
# work_dir, the slave's isolation, work_dir and Docker settings) and the
# slave attributes, so the first start already has them.
# When a registered slave's attributes change, it removes the checkpointed
# slave info (work_dir/meta/slaves/latest) at once and restarts the slave at
# the end of the run; Mesos otherwise refuses to recover it ("Incompatible
# slave info detected").
#
site = BundleSite.node_group(node[cookbook_name], node[:cluster_name], node[:facet_name])
group_data = site['group']
files = group_data['files'] || {}
restarts = group_data['restarts'] || {}
attrs = group_data['attributes'] || {}
slave = group_data['roles'].include?('mesos_slave')

dirs = files.keys.map { |path| ::File.dirname(path) }
if slave
  # mesos::slave writes mesos-slave-env.sh there whatever the prefix.
  dirs << '/usr/local/etc/mesos'
  dirs << '/etc/mesos-slave/attributes'
end
dirs.uniq.sort.each do |dir|
  directory dir do
    owner 'root'
    group 'root'
    mode '0755'
    recursive true
  end
end

files.keys.sort.each do |path|
  existed = ::File.exist?(path)
  restart = restarts[path]
  template path do
    source 'value.erb'
    owner 'root'
    group 'root'
    mode '0644'
    variables(value: files[path])
    notifies :restart, restart, :delayed if existed && restart && restart.start_with?('service[')
    notifies :run, restart, :delayed if existed && restart && !restart.start_with?('service[')
  end
end

if slave
  latest = ::File.join(group_data['work_dir'], 'meta', 'slaves', 'latest')
  registered = ::File.symlink?(latest) || ::File.exist?(latest)
  link latest do
    action :nothing
  end

  attr_dir = '/etc/mesos-slave/attributes'
  attrs.keys.sort.each do |key|
    template ::File.join(attr_dir, key) do
      source 'value.erb'
      owner 'root'
      group 'root'
      mode '0644'
      variables(value: attrs[key] + "\n")
      if registered
        notifies :delete, "link[#{latest}]", :immediately
        notifies :run, 'bash[restart-mesos-slave]', :delayed
      end
    end
  end

  # Attributes no longer in the definition.
  Dir.glob(::File.join(attr_dir, '*')).sort.each do |path|
    next if attrs.key?(::File.basename(path))
    file path do
      action :delete
      if registered
        notifies :delete, "link[#{latest}]", :immediately
        notifies :run, 'bash[restart-mesos-slave]', :delayed
      end
    end
  end
end
