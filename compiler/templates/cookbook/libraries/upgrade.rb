#
# Library:: upgrade
#
# Masters before slaves. BDE's cluster config runs Chef on every node at
# once, and Mesos' upgrade notes ask for the masters first. So a slave
# whose Mesos package changes version waits, before installing it, until a
# master answers GET http://<master>:5050/master/state.json with the new
# version (Mesos 0.21/0.22 master/http.cpp: "version" = MESOS_VERSION),
# for at most the bundle's master_wait_seconds; then the run fails naming
# the masters and what each answered. Plain Ruby 1.9: the bundle's tests
# run it against a loopback stand-in of the master.
#
require 'json'
require 'net/http'

module BundleUpgrade
  module_function

  # The installed version (upstream, without release) of an RPM, or nil.
  def installed_version(name)
    out = IO.popen(['rpm', '-q', '--qf', '%{VERSION}', name], :err => [:child, :out]) { |io| io.read }
    $?.success? ? out.strip : nil
  end

  # What a master's state.json says its version is; raises on failure.
  def master_version(host, port, timeout)
    http = Net::HTTP.new(host, port)
    http.open_timeout = timeout
    http.read_timeout = timeout
    res = http.get('/master/state.json')
    raise "HTTP #{res.code}" unless res.code == '200'
    v = JSON.parse(res.body)['version']
    raise 'no "version" in state.json' unless v.is_a?(String)
    v
  end

  # Waits until one of masters (host names) answers with version want.
  # Returns at once when the installed version (opts[:installed], else
  # rpm -q) is want or nothing is installed (a first install: the slave
  # starts through the normal path). opts: :port (5050), :wait (seconds,
  # 1800), :interval (10), :installed, :fetch (lambda host, port ->
  # version), :sleep, :now (lambdas, for tests), :log (lambda msg).
  # Returns the master that answered, or nil when there was nothing to wait
  # for.
  def wait_for_master(masters, want, opts = {})
    installed = opts.key?(:installed) ? opts[:installed] : installed_version('mesos')
    return nil if installed.nil? || installed == want
    port = opts[:port] || 5050
    wait = (opts[:wait] || 1800).to_f
    interval = (opts[:interval] || 10).to_f
    fetch = opts[:fetch] || lambda { |h, p| master_version(h, p, [interval, 5].max) }
    sleeper = opts[:sleep] || lambda { |s| sleep(s) }
    now = opts[:now] || lambda { Time.now.to_f }
    log = opts[:log] || lambda { |_m| }
    if masters.empty?
      raise "bundle: this slave moves from Mesos #{installed} to #{want} and waits for a master on #{want}, but its cluster has no master"
    end
    deadline = now.call + wait
    answers = {}
    loop do
      masters.each do |h|
        begin
          v = fetch.call(h, port)
          answers[h] = "version #{v}"
          return h if v == want
        rescue StandardError => e
          answers[h] = e.message
        end
      end
      break if now.call + interval > deadline
      log.call("bundle: waiting for a Mesos master on #{want} before upgrading this slave from #{installed}")
      sleeper.call(interval)
    end
    said = masters.map { |h| "#{h}:#{port} (#{answers[h]})" }.join(', ')
    raise "bundle: this slave moves from Mesos #{installed} to #{want}, masters first, but no master answered GET /master/state.json with version #{want} within #{wait == wait.to_i ? wait.to_i : wait} s: #{said}. Upgrade the masters (cluster config again once they run #{want})"
  end
end
