//! What the request bodies hold, for stacks loaded from YAML.

use bollard::models::{
    HostConfig, HostConfigCgroupnsModeEnum, MountBindOptionsPropagationEnum, RestartPolicyNameEnum,
};

use super::container::ContainerSpec;
use super::resources::restart_policy;
use super::*;
use crate::limits::Limits;
use crate::model::stack::*;
use crate::testutil::stack;

fn host(spec: &ContainerSpec) -> &HostConfig {
    spec.body.host_config.as_ref().unwrap()
}

#[test]
fn network_request_carries_driver_options_ipam_and_berth_labels() {
    let s = stack(
        "services: {a: {image: x, networks: [back]}}\n\
         networks:\n  back:\n    driver_opts: {com.docker.network.bridge.name: br-t}\n    \
         internal: true\n    attachable: true\n    enable_ipv6: true\n    labels: {team: db}\n    \
         ipam:\n      config:\n        - subnet: 172.28.0.0/16\n          gateway: 172.28.0.1\n          \
         ip_range: 172.28.5.0/24\n",
    );
    let n = network(&s, "back").unwrap();
    assert_eq!(n.name, "t_back");
    assert_eq!(n.driver.as_deref(), Some("bridge"));
    assert_eq!(n.internal, Some(true));
    assert_eq!(n.attachable, Some(true));
    assert_eq!(n.enable_ipv6, Some(true));
    assert_eq!(n.enable_ipv4, None);
    assert_eq!(n.options.unwrap()["com.docker.network.bridge.name"], "br-t");
    let pool = &n.ipam.unwrap().config.unwrap()[0];
    assert_eq!(pool.subnet.as_deref(), Some("172.28.0.0/16"));
    assert_eq!(pool.gateway.as_deref(), Some("172.28.0.1"));
    assert_eq!(pool.ip_range.as_deref(), Some("172.28.5.0/24"));
    let labels = n.labels.unwrap();
    assert_eq!(labels["team"], "db");
    assert_eq!(labels[identity::PROJECT], "t");
    assert_eq!(labels[identity::NETWORK], "back");
    assert_eq!(labels[identity::VERSION], identity::BERTH_VERSION);
    assert!(network(&s, "nope").is_none());
}

#[test]
fn volume_request_carries_driver_options_and_berth_labels() {
    let s = stack(
        "services: {a: {image: x, volumes: [data:/d]}}\n\
         volumes:\n  data:\n    driver_opts: {type: tmpfs, device: tmpfs}\n    labels: {k: v}\n",
    );
    let v = volume(&s, "data").unwrap();
    assert_eq!(v.name.as_deref(), Some("t_data"));
    assert_eq!(v.driver.as_deref(), Some("local"));
    assert_eq!(v.driver_opts.unwrap()["type"], "tmpfs");
    let labels = v.labels.unwrap();
    assert_eq!(labels["k"], "v");
    assert_eq!(labels[identity::PROJECT], "t");
    assert_eq!(labels[identity::VOLUME], "data");
}

#[test]
fn restart_policies_read_like_docker_run() {
    let p = restart_policy(Restart::OnFailure(Some(3)));
    assert_eq!(p.name, Some(RestartPolicyNameEnum::ON_FAILURE));
    assert_eq!(p.maximum_retry_count, Some(3));
    assert_eq!(
        restart_policy(Restart::UnlessStopped).name,
        Some(RestartPolicyNameEnum::UNLESS_STOPPED)
    );
    assert_eq!(
        restart_policy(Restart::Always).name,
        Some(RestartPolicyNameEnum::ALWAYS)
    );
    assert_eq!(
        restart_policy(Restart::No).name,
        Some(RestartPolicyNameEnum::NO)
    );
}

#[test]
fn process_fields_and_berth_labels_reach_the_body() {
    let s = stack(
        "services:\n  web:\n    image: img\n    command: [sh, -c, 'echo hi']\n    \
         entrypoint: [/bin/env]\n    environment: {A: '1', B: ''}\n    labels: {team: web}\n    \
         hostname: h\n    domainname: example.org\n    user: '1000:1000'\n    working_dir: /w\n    \
         init: true\n    stop_signal: SIGINT\n    stop_grace_period: 1m30s\n    tty: true\n    \
         stdin_open: true\n    platform: linux/amd64\n",
    );
    let spec = container(&s, &s.services["web"], 2);
    let b = &spec.body;
    assert_eq!(b.image.as_deref(), Some("img"));
    assert_eq!(
        b.cmd,
        Some(vec!["sh".into(), "-c".into(), "echo hi".into()])
    );
    assert_eq!(b.entrypoint, Some(vec!["/bin/env".into()]));
    assert_eq!(b.env, Some(vec!["A=1".into(), "B=".into()]));
    assert_eq!(b.hostname.as_deref(), Some("h"));
    assert_eq!(b.domainname.as_deref(), Some("example.org"));
    assert_eq!(b.user.as_deref(), Some("1000:1000"));
    assert_eq!(b.working_dir.as_deref(), Some("/w"));
    assert_eq!(b.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(b.stop_timeout, Some(90));
    assert_eq!(b.tty, Some(true));
    assert_eq!(b.open_stdin, Some(true));
    assert_eq!(host(&spec).init, Some(true));
    assert_eq!(spec.platform.as_deref(), Some("linux/amd64"));
    let labels = b.labels.as_ref().unwrap();
    let web = &s.services["web"];
    assert_eq!(labels["team"], "web");
    assert_eq!(labels[identity::PROJECT], "t");
    assert_eq!(labels[identity::SERVICE], "web");
    assert_eq!(labels[identity::NUMBER], "2");
    assert_eq!(labels[identity::CONFIG_HASH], identity::config_hash(web));
    let config: serde_json::Value = serde_json::from_str(&labels[identity::CONFIG]).unwrap();
    assert_eq!(config, identity::recreate_config(web));
}

#[test]
fn ports_become_bindings_and_exposed_ports() {
    let s = stack(
        "services:\n  web:\n    image: img\n    expose: ['3000', 4000-4001/udp]\n    ports:\n      \
         - 127.0.0.1:8080:80\n      - 8443:443/udp\n      - '9000-9001:9000'\n      - '81'\n      - 8081:80\n",
    );
    let spec = container(&s, &s.services["web"], 1);
    let exposed = spec.body.exposed_ports.clone().unwrap();
    for k in [
        "80/tcp", "443/udp", "9000/tcp", "81/tcp", "3000/tcp", "4000/udp", "4001/udp",
    ] {
        assert!(exposed.contains(&k.to_string()), "{k} in {exposed:?}");
    }
    let b = host(&spec).port_bindings.clone().unwrap();
    let hp = |k: &str| -> Vec<(Option<String>, Option<String>)> {
        b[k].clone()
            .unwrap()
            .into_iter()
            .map(|p| (p.host_ip, p.host_port))
            .collect()
    };
    assert_eq!(
        hp("80/tcp"),
        vec![
            (Some("127.0.0.1".into()), Some("8080".into())),
            (None, Some("8081".into()))
        ]
    );
    assert_eq!(hp("443/udp"), vec![(None, Some("8443".into()))]);
    assert_eq!(hp("9000/tcp"), vec![(None, Some("9000-9001".into()))]);
    assert_eq!(hp("81/tcp"), vec![(None, Some(String::new()))]);
}

#[test]
fn mounts_resolve_volume_names_and_carry_their_options() {
    let s = stack(
        "services:\n  web:\n    image: img\n    tmpfs: ['/run:size=64k']\n    volumes:\n      \
         - data:/data:ro,nocopy\n      - /anon\n      - ./src:/src:rshared\n      \
         - {type: tmpfs, target: /tmp, tmpfs: {size: 1m, mode: 0o1777}}\n\
         volumes:\n  data:\n    name: shared-data\n",
    );
    let spec = container(&s, &s.services["web"], 1);
    let h = host(&spec);
    let m = h.mounts.clone().unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(m[0].typ, Some(bollard::models::MountType::VOLUME));
    assert_eq!(m[0].source.as_deref(), Some("shared-data"));
    assert_eq!(m[0].read_only, Some(true));
    assert_eq!(m[0].volume_options.as_ref().unwrap().no_copy, Some(true));
    assert_eq!(m[1].source, None);
    assert_eq!(m[1].target.as_deref(), Some("/anon"));
    assert_eq!(m[2].typ, Some(bollard::models::MountType::BIND));
    assert!(m[2].source.as_deref().unwrap().ends_with("/src"));
    assert_eq!(
        m[2].bind_options.as_ref().unwrap().propagation,
        Some(MountBindOptionsPropagationEnum::RSHARED)
    );
    assert_eq!(m[3].typ, Some(bollard::models::MountType::TMPFS));
    let t = m[3].tmpfs_options.as_ref().unwrap();
    assert_eq!(t.size_bytes, Some(1024 * 1024));
    assert_eq!(t.mode, Some(0o1777));
    let dirs = host_dirs(&s.services["web"]);
    assert_eq!(dirs.len(), 1);
    assert!(dirs[0].ends_with("src"));
    assert_eq!(h.tmpfs.as_ref().unwrap()["/run"], "size=64k");
}

#[test]
fn limits_come_from_limits_of_the_service() {
    let s = stack(
        "services:\n  web:\n    image: img\n    cpus: 0.5\n    cpu_shares: 512\n    cpuset: '0'\n    \
         cpu_quota: 50000\n    cpu_period: 100000\n    mem_limit: 200m\n    memswap_limit: 400m\n    \
         mem_reservation: 100m\n    mem_swappiness: 10\n    pids_limit: 64\n    shm_size: 64m\n    \
         restart: on-failure:2\n    blkio_config:\n      weight: 300\n      \
         weight_device: [{path: /dev/sda, weight: 400}]\n      \
         device_read_bps: [{path: /dev/sda, rate: 1mb}]\n      \
         device_write_iops: [{path: /dev/sda, rate: 100}]\n",
    );
    let web = &s.services["web"];
    let spec = container(&s, web, 1);
    let h = host(&spec);
    const M: i64 = 1024 * 1024;
    assert_eq!(h.nano_cpus, Some(500_000_000));
    assert_eq!(h.cpu_shares, Some(512));
    assert_eq!(h.cpuset_cpus.as_deref(), Some("0"));
    assert_eq!(h.cpu_quota, Some(50000));
    assert_eq!(h.cpu_period, Some(100000));
    assert_eq!(h.memory, Some(200 * M));
    assert_eq!(h.memory_swap, Some(400 * M));
    assert_eq!(h.memory_reservation, Some(100 * M));
    assert_eq!(h.memory_swappiness, Some(10));
    assert_eq!(h.pids_limit, Some(64));
    assert_eq!(h.shm_size, Some(64 * M));
    assert_eq!(h.blkio_weight, Some(300));
    assert_eq!(h.blkio_weight_device.as_ref().unwrap()[0].weight, Some(400));
    let bps = &h.blkio_device_read_bps.as_ref().unwrap()[0];
    assert_eq!((bps.path.as_deref(), bps.rate), (Some("/dev/sda"), Some(M)));
    assert_eq!(
        h.blkio_device_write_iops.as_ref().unwrap()[0].rate,
        Some(100)
    );
    assert_eq!(
        h.restart_policy,
        Some(restart_policy(Restart::OnFailure(Some(2))))
    );

    // The update body sends the same values.
    let u = update(&Limits::of(web));
    assert_eq!(u.nano_cpus, h.nano_cpus);
    assert_eq!(u.memory, h.memory);
    assert_eq!(u.memory_swap, h.memory_swap);
    assert_eq!(u.cpuset_cpus, h.cpuset_cpus);
    assert_eq!(u.blkio_weight, h.blkio_weight);
    assert_eq!(u.pids_limit, h.pids_limit);
    assert_eq!(u.restart_policy, h.restart_policy);
    // pids_limit is the one limit an update can take away.
    assert_eq!(update(&Limits::default()).pids_limit, Some(0));
    assert_eq!(update(&Limits::default()).nano_cpus, None);
}

#[test]
fn security_and_kernel_fields_reach_the_host_config() {
    let s = stack(
        "services:\n  web:\n    image: img\n    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    \
         privileged: true\n    read_only: true\n    security_opt: ['no-new-privileges:true']\n    \
         devices: ['/dev/null:/dev/xnull']\n    sysctls: {net.core.somaxconn: '1024'}\n    \
         ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}\n    oom_kill_disable: true\n    \
         oom_score_adj: 500\n    pid: host\n    ipc: shareable\n    userns_mode: host\n    \
         group_add: [audio]\n    storage_opt: {size: 1G}\n    cgroup: private\n",
    );
    let spec = container(&s, &s.services["web"], 1);
    let h = host(&spec);
    assert_eq!(h.cap_add, Some(vec!["NET_ADMIN".into()]));
    assert_eq!(h.cap_drop, Some(vec!["ALL".into()]));
    assert_eq!(h.privileged, Some(true));
    assert_eq!(h.readonly_rootfs, Some(true));
    assert_eq!(h.security_opt, Some(vec!["no-new-privileges:true".into()]));
    let d = &h.devices.as_ref().unwrap()[0];
    assert_eq!(d.path_on_host.as_deref(), Some("/dev/null"));
    assert_eq!(d.path_in_container.as_deref(), Some("/dev/xnull"));
    assert_eq!(d.cgroup_permissions.as_deref(), Some("rwm"));
    assert_eq!(h.sysctls.as_ref().unwrap()["net.core.somaxconn"], "1024");
    let u = h.ulimits.as_ref().unwrap();
    let nproc = u
        .iter()
        .find(|u| u.name.as_deref() == Some("nproc"))
        .unwrap();
    assert_eq!((nproc.soft, nproc.hard), (Some(65535), Some(65535)));
    let nofile = u
        .iter()
        .find(|u| u.name.as_deref() == Some("nofile"))
        .unwrap();
    assert_eq!((nofile.soft, nofile.hard), (Some(20000), Some(40000)));
    assert_eq!(h.oom_kill_disable, Some(true));
    assert_eq!(h.oom_score_adj, Some(500));
    assert_eq!(h.pid_mode.as_deref(), Some("host"));
    assert_eq!(h.ipc_mode.as_deref(), Some("shareable"));
    assert_eq!(h.userns_mode.as_deref(), Some("host"));
    assert_eq!(h.group_add, Some(vec!["audio".into()]));
    assert_eq!(h.storage_opt.as_ref().unwrap()["size"], "1G");
    assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
}

#[test]
fn dns_hosts_logging_and_healthcheck_are_in_engine_form() {
    let s = stack(
        "services:\n  web:\n    image: img\n    dns: [1.1.1.1]\n    dns_search: [example.org]\n    \
         dns_opt: [ndots:2]\n    extra_hosts: ['db:10.0.0.2', 'v6=::1']\n    \
         logging: {driver: json-file, options: {max-size: 1m}}\n    \
         healthcheck: {test: wget -q -O- localhost, interval: 2s, timeout: 1s, retries: 3, start_period: 5s}\n  \
         off:\n    image: img\n    healthcheck: {disable: true}\n",
    );
    let spec = container(&s, &s.services["web"], 1);
    let h = host(&spec);
    assert_eq!(h.dns, Some(vec!["1.1.1.1".into()]));
    assert_eq!(h.dns_search, Some(vec!["example.org".into()]));
    assert_eq!(h.dns_options, Some(vec!["ndots:2".into()]));
    let mut hosts = h.extra_hosts.clone().unwrap();
    hosts.sort();
    assert_eq!(hosts, vec!["db:10.0.0.2".to_string(), "v6:::1".to_string()]);
    let log = h.log_config.as_ref().unwrap();
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    assert_eq!(log.config.as_ref().unwrap()["max-size"], "1m");
    let hc = spec.body.healthcheck.as_ref().unwrap();
    assert_eq!(
        hc.test,
        Some(vec!["CMD-SHELL".into(), "wget -q -O- localhost".into()])
    );
    assert_eq!(hc.interval, Some(2_000_000_000));
    assert_eq!(hc.timeout, Some(1_000_000_000));
    assert_eq!(hc.retries, Some(3));
    assert_eq!(hc.start_period, Some(5_000_000_000));
    let off = container(&s, &s.services["off"], 1);
    assert_eq!(
        off.body.healthcheck.unwrap().test,
        Some(vec!["NONE".to_string()])
    );
}

#[test]
fn references_to_services_name_their_first_container() {
    let s = stack(
        "services:\n  db: {image: img, container_name: the-db}\n  app: {image: img}\n  \
         web:\n    image: img\n    links: ['db:database', app]\n    volumes_from: ['app:ro', 'container:other']\n  \
         side: {image: img, network_mode: 'service:app', ipc: 'service:db'}\n",
    );
    let spec = container(&s, &s.services["web"], 1);
    let h = host(&spec);
    assert_eq!(
        h.links,
        Some(vec!["the-db:database".into(), "t-app-1:app".into()])
    );
    assert_eq!(
        h.volumes_from,
        Some(vec!["t-app-1:ro".into(), "other".into()])
    );
    let side = container(&s, &s.services["side"], 1);
    let h = host(&side);
    assert_eq!(h.network_mode.as_deref(), Some("container:t-app-1"));
    assert_eq!(h.ipc_mode.as_deref(), Some("container:the-db"));
    assert!(side.body.networking_config.is_none());
    assert!(side.connect.is_empty());
}

#[test]
fn first_network_by_priority_is_created_with_the_rest_to_connect() {
    let s = stack(
        "services:\n  api:\n    image: img\n    networks:\n      \
         zeta: {priority: 10, aliases: [backend], ipv4_address: 172.29.0.5}\n      alpha: {}\n      beta:\n\
         networks:\n  zeta:\n    ipam: {config: [{subnet: 172.29.0.0/16}]}\n  alpha: {}\n  beta: {name: custom-beta}\n",
    );
    let spec = container(&s, &s.services["api"], 1);
    let h = host(&spec);
    assert_eq!(h.network_mode.as_deref(), Some("t_zeta"));
    let eps = spec
        .body
        .networking_config
        .as_ref()
        .unwrap()
        .endpoints_config
        .as_ref()
        .unwrap();
    let zeta = &eps["t_zeta"];
    assert_eq!(
        zeta.aliases,
        Some(vec!["api".to_string(), "backend".to_string()])
    );
    assert_eq!(
        zeta.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
        Some("172.29.0.5")
    );
    let rest: Vec<&str> = spec.connect.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(rest, vec!["custom-beta", "t_alpha"]);
    assert_eq!(spec.connect[0].1.aliases, Some(vec!["api".to_string()]));
}

#[test]
fn fields_an_old_engine_lacks_are_listed() {
    let mut s = Service {
        extras: Some(Box::new(crate::model::stack::ServiceExtras {
            mac_address: Some("02:42:ac:11:00:02".into()),
            ..Default::default()
        })),
        ..Service::default()
    };
    assert_eq!(unsupported(&s), vec!["mac_address"]);
    s.extras_mut().mac_address = None;
    assert!(unsupported(&s).is_empty());
}
