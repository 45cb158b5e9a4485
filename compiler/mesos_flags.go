package compiler

import (
	"regexp"
	"strconv"
	"strings"
)

// mesosFlagLists holds every flag mesos-master and mesos-slave accept, with
// its value type, by release and daemon. Taken from apache/mesos at the tags
// 0.21.0 and 0.22.0 (src/{master,slave,logging}/flags.hpp and the
// add(&Flags::...) of src/{master,slave}/main.cpp); patch releases keep
// their minor release's flags. Mesos' flag parser (stout FlagsBase::load)
// refuses a flag it does not know and a flag given twice, and the daemon
// exits.
var mesosFlagLists = map[string]string{
	"0.21.0 master": `acls:string allocation_interval:duration authenticate:bool authenticate_slaves:bool authenticators:string cluster:string credentials:string framework_sorter:string help:bool hostname:string initialize_driver_logging:bool ip:string log_auto_initialize:bool log_dir:string logbufsecs:int logging_level:string max_executors_per_slave:int modules:string offer_timeout:duration port:int quiet:bool quorum:int rate_limits:string recovery_slave_removal_limit:string registry:string registry_fetch_timeout:duration registry_store_timeout:duration registry_strict:bool roles:string root_submissions:bool slave_reregister_timeout:duration user_sorter:string version:bool webui_dir:string weights:string whitelist:string work_dir:string zk:string zk_session_timeout:duration`,
	"0.21.0 slave":  `attributes:string cgroups_enable_cfs:bool cgroups_hierarchy:string cgroups_limit_swap:bool cgroups_root:string cgroups_subsystems:string checkpoint:bool containerizer_path:string containerizers:string credential:string default_container_image:string default_container_info:string default_role:string disk_watch_interval:duration docker:string docker_remove_delay:duration docker_sandbox_directory:string egress_rate_limit_per_container:bytes ephemeral_ports_per_container:int eth0_name:string executor_registration_timeout:duration executor_shutdown_grace_period:duration frameworks_home:string gc_delay:duration hadoop_home:string help:bool hostname:string initialize_driver_logging:bool ip:string isolation:string lo_name:string log_dir:string logbufsecs:int logging_level:string master:string modules:string perf_duration:duration perf_events:string perf_interval:duration port:int quiet:bool recover:string recovery_timeout:duration registration_backoff_factor:duration resource_monitoring_interval:duration resources:string slave_subsystems:string strict:bool switch_user:bool version:bool work_dir:string`,
	"0.22.0 master": `acls:string allocation_interval:duration authenticate:bool authenticate_slaves:bool authenticators:string cluster:string credentials:string external_log_file:string framework_sorter:string help:bool hooks:string hostname:string initialize_driver_logging:bool ip:string log_auto_initialize:bool log_dir:string logbufsecs:int logging_level:string max_executors_per_slave:int modules:string offer_timeout:duration port:int quiet:bool quorum:int rate_limits:string recovery_slave_removal_limit:string registry:string registry_fetch_timeout:duration registry_store_timeout:duration registry_strict:bool roles:string root_submissions:bool slave_removal_rate_limit:string slave_reregister_timeout:duration user_sorter:string version:bool webui_dir:string weights:string whitelist:string work_dir:string zk:string zk_session_timeout:duration`,
	"0.22.0 slave":  `attributes:string authenticatee:string cgroups_enable_cfs:bool cgroups_hierarchy:string cgroups_limit_swap:bool cgroups_root:string container_disk_watch_interval:duration containerizer_path:string containerizers:string credential:string default_container_image:string default_container_info:string default_role:string disk_watch_interval:duration docker:string docker_remove_delay:duration docker_sandbox_directory:string docker_stop_timeout:duration egress_rate_limit_per_container:bytes enforce_container_disk_quota:bool ephemeral_ports_per_container:int eth0_name:string executor_registration_timeout:duration executor_shutdown_grace_period:duration external_log_file:string frameworks_home:string gc_delay:duration gc_disk_headroom:double hadoop_home:string help:bool hooks:string hostname:string initialize_driver_logging:bool ip:string isolation:string lo_name:string log_dir:string logbufsecs:int logging_level:string master:string modules:string network_enable_socket_statistics_details:bool network_enable_socket_statistics_summary:bool perf_duration:duration perf_events:string perf_interval:duration port:int quiet:bool recover:string recovery_timeout:duration registration_backoff_factor:duration resource_monitoring_interval:duration resources:string slave_subsystems:string strict:bool switch_user:bool version:bool work_dir:string`,
}

// MesosDaemons are the two Mesos daemons the init wrapper starts.
var MesosDaemons = []string{"master", "slave"}

// MesosFlags returns the flags the daemon ("master" or "slave") of a Mesos
// release accepts, by name with their value type (bool, int, double,
// duration, bytes, string), and the release whose list applies (the one of
// the same major.minor); ok is false when the compiler knows no list for
// the version.
func MesosFlags(version, daemon string) (flags map[string]string, release string, ok bool) {
	v := parts(version)
	for key, list := range mesosFlagLists {
		rel, d, _ := strings.Cut(key, " ")
		r := parts(rel)
		if d != daemon || len(v) < 2 || v[0] != r[0] || v[1] != r[1] {
			continue
		}
		flags = map[string]string{}
		for _, f := range strings.Fields(list) {
			name, typ, _ := strings.Cut(f, ":")
			flags[name] = typ
		}
		return flags, rel, true
	}
	return nil, "", false
}

// wrapperVars are the variables of /etc/default/mesos and
// /etc/default/mesos-<daemon> that Mesosphere's mesos-init-wrapper turns
// into flags, by daemon (the same at mesos-deb-packaging a245843, f46d9d3
// and 1c830a0). Besides these it reads only ULIMIT (run as ulimit); every
// file of /etc/mesos-<daemon>/ becomes --<name>=<content> (or --<name> for
// a ?<name> file), and a slave's attributes/ and resources/ directories
// become --attributes and --resources. The variables are not exported, so
// they never reach the daemon's environment as MESOS_* flags.
var wrapperVars = map[string]map[string]string{
	"master": {"ZK": "zk", "IP": "ip", "PORT": "port", "CLUSTER": "cluster", "LOGS": "log_dir"},
	"slave":  {"MASTER": "master", "IP": "ip", "LOGS": "log_dir", "ISOLATION": "isolation"},
}

// wrapperReads reports whether the wrapper reads variable name of an
// /etc/default file when it starts daemon.
func wrapperReads(daemon, name string) bool {
	_, ok := wrapperVars[daemon][name]
	return ok || name == "ULIMIT"
}

var (
	durationRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(ns|us|ms|secs|mins|hrs|days|weeks)$`)
	bytesRE    = regexp.MustCompile(`^[0-9]+(B|KB|MB|GB|TB)$`)
)

// flagValueOK reports whether stout parses value as a flag of type typ.
func flagValueOK(typ, value string) bool {
	switch typ {
	case "bool":
		return value == "true" || value == "false" || value == "1" || value == "0"
	case "int":
		_, err := strconv.ParseInt(value, 10, 32)
		return err == nil
	case "double":
		_, err := strconv.ParseFloat(value, 64)
		return err == nil
	case "duration":
		return durationRE.MatchString(value)
	case "bytes":
		return bytesRE.MatchString(value)
	}
	return true
}
