# Runs the cookbook's BundleUpgrade.wait_for_master (libraries/upgrade.rb)
# as the install recipe's ruby_block does on a slave, against masters the
# test serves on loopback (a stand-in of the Mesos master's
# GET /master/state.json). Real HTTP, real sleeps, short bounds.
#
# Usage: ruby upgrade_wait.rb COOKBOOK_DIR PORT WANT INSTALLED WAIT INTERVAL MASTER...
# (INSTALLED "-" means nothing installed). Prints JSON: the master that
# answered (or null), the error message, the seconds taken.
require 'json'
load File.join(ARGV[0], 'libraries', 'upgrade.rb')

port = ARGV[1].to_i
want = ARGV[2]
installed = ARGV[3] == '-' ? nil : ARGV[3]
wait = ARGV[4].to_f
interval = ARGV[5].to_f
masters = ARGV[6..-1]
logs = []
start = Time.now.to_f
out = { 'master' => nil, 'error' => nil }
begin
  out['master'] = BundleUpgrade.wait_for_master(masters, want, :installed => installed, :port => port, :wait => wait,
                                                :interval => interval, :log => lambda { |m| logs << m })
rescue RuntimeError => e
  out['error'] = e.message
end
out['seconds'] = Time.now.to_f - start
out['logs'] = logs
puts JSON.generate(out)
