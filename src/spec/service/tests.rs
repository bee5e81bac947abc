//! What a Swarm service spec holds, for stacks loaded from YAML.

use bollard::models::{
    EndpointPortConfigProtocolEnum as Proto, EndpointPortConfigPublishModeEnum as Publish,
    EndpointSpecModeEnum, MountType, ServiceSpecRollbackConfigFailureActionEnum,
    ServiceSpecUpdateConfigFailureActionEnum, ServiceSpecUpdateConfigOrderEnum,
    TaskSpecContainerSpec, TaskSpecRestartPolicyConditionEnum as Cond,
};

use super::*;
use crate::spec::ObjectKind;
use crate::testutil::stack;

/// The guestbook demo as it runs on Swarm here: built images pushed to a
/// registry, dnsrr endpoints, a host-mode port (no IPVS, no routing mesh).
const GUESTBOOK: &str = "\
name: guestbook
services:
  frontend:
    build: ./frontend
    image: 127.0.0.1:5000/guestbook-frontend
    ports:
      - {target: 8080, published: '8081', mode: host}
    environment:
      BACKEND_URL: http://backend:8000
    depends_on:
      backend:
        condition: service_healthy
    restart: unless-stopped
    networks: [front]
    deploy: {endpoint_mode: dnsrr}
  backend:
    build: ./backend
    image: 127.0.0.1:5000/guestbook-backend
    environment:
      DB_URL: http://db:7000
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, 'http://127.0.0.1:8000/cgi-bin/entries']
      interval: 1s
      timeout: 3s
      retries: 30
    depends_on:
      db:
        condition: service_started
    restart: unless-stopped
    networks: [front, back]
    deploy: {endpoint_mode: dnsrr}
  db:
    build: ./db
    image: 127.0.0.1:5000/guestbook-db
    volumes:
      - db-data:/data
    restart: unless-stopped
    networks:
      back:
        aliases: [store]
    deploy: {endpoint_mode: dnsrr}
networks:
  front: {}
  back: {}
volumes:
  db-data:
    labels: {keep: 'yes'}
";

fn map_one(yaml: &str, name: &str) -> ServiceMapping {
    let s = stack(yaml);
    service(&s, &s.services[name], &ObjectNames::new())
}

fn container(m: &ServiceMapping) -> &TaskSpecContainerSpec {
    m.spec
        .task_template
        .as_ref()
        .unwrap()
        .container_spec
        .as_ref()
        .unwrap()
}

fn task(m: &ServiceMapping) -> &TaskSpec {
    m.spec.task_template.as_ref().unwrap()
}

fn keys(issues: &[SwarmIssue]) -> Vec<&str> {
    issues.iter().map(|i| i.key.as_str()).collect()
}

#[test]
fn guestbook_maps_to_stack_names_labels_networks_and_host_ports() {
    let s = stack(GUESTBOOK);
    let front = service(&s, &s.services["frontend"], &ObjectNames::new());
    assert!(front.errors.is_empty(), "{:?}", front.errors);
    // service_healthy is kept: the plan creates frontend once backend has
    // converged. Nothing to warn about.
    assert_eq!(keys(&front.warnings), Vec::<&str>::new());
    let spec = &front.spec;
    assert_eq!(spec.name.as_deref(), Some("guestbook_frontend"));
    let labels = spec.labels.as_ref().unwrap();
    assert_eq!(labels[STACK_NAMESPACE], "guestbook");
    assert_eq!(labels[identity::PROJECT], "guestbook");
    assert_eq!(labels[identity::SERVICE], "frontend");
    assert_eq!(labels[identity::VERSION], identity::BERTH_VERSION);
    assert_eq!(labels[identity::CONFIG_HASH], service_hash(spec));
    assert_eq!(labels[STACK_IMAGE], "127.0.0.1:5000/guestbook-frontend");

    let c = container(&front);
    assert_eq!(
        c.image.as_deref(),
        Some("127.0.0.1:5000/guestbook-frontend")
    );
    assert_eq!(c.env, Some(vec!["BACKEND_URL=http://backend:8000".into()]));
    // Task containers carry the stack label but not berth's, which would
    // make them look like berth's own containers.
    let cl = c.labels.as_ref().unwrap();
    assert_eq!(cl[STACK_NAMESPACE], "guestbook");
    assert!(!cl.contains_key(identity::PROJECT));

    let ep = spec.endpoint_spec.as_ref().unwrap();
    assert_eq!(ep.mode, Some(EndpointSpecModeEnum::DNSRR));
    let port = &ep.ports.as_ref().unwrap()[0];
    assert_eq!(port.target_port, Some(8080));
    assert_eq!(port.published_port, Some(8081));
    assert_eq!(port.protocol, Some(Proto::TCP));
    assert_eq!(port.publish_mode, Some(Publish::HOST));

    let restart = task(&front).restart_policy.as_ref().unwrap();
    assert_eq!(restart.condition, Some(Cond::ANY));
    let mode = spec.mode.as_ref().unwrap();
    assert_eq!(mode.replicated.as_ref().unwrap().replicas, Some(1));

    let nets = task(&front).networks.as_ref().unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0].target.as_deref(), Some("guestbook_front"));
    assert_eq!(nets[0].aliases, Some(vec!["frontend".into()]));

    let back = service(&s, &s.services["backend"], &ObjectNames::new());
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    let nets = task(&back).networks.clone().unwrap();
    let targets: Vec<_> = nets.iter().map(|n| n.target.clone().unwrap()).collect();
    assert_eq!(targets, vec!["guestbook_back", "guestbook_front"]);
    let hc = container(&back).health_check.as_ref().unwrap();
    assert_eq!(hc.interval, Some(1_000_000_000));
    assert_eq!(hc.retries, Some(30));
    assert_eq!(hc.test.as_ref().unwrap()[0], "CMD");

    let db = service(&s, &s.services["db"], &ObjectNames::new());
    let nets = task(&db).networks.clone().unwrap();
    assert_eq!(nets[0].aliases, Some(vec!["db".into(), "store".into()]));
    let m = &container(&db).mounts.as_ref().unwrap()[0];
    assert_eq!(m.typ, Some(MountType::VOLUME));
    assert_eq!(m.source.as_deref(), Some("guestbook_db-data"));
    assert_eq!(m.target.as_deref(), Some("/data"));
    let vl = m.volume_options.as_ref().unwrap().labels.as_ref().unwrap();
    assert_eq!(vl["keep"], "yes");
    assert_eq!(vl[STACK_NAMESPACE], "guestbook");
    assert_eq!(vl[identity::VOLUME], "db-data");
    // No version label: a new berth must not change every spec.
    assert!(!vl.contains_key(identity::VERSION));
    assert!(db.spec.endpoint_spec.as_ref().unwrap().ports.is_none());
}

#[test]
fn overlay_networks_are_swarm_scoped_with_stack_labels() {
    let s = stack(
        "services: {a: {image: x, networks: [back, front, ext]}}\n\
         networks:\n  front: {}\n  ext: {external: true, name: shared}\n  back:\n    \
         driver_opts: {encrypted: ''}\n    internal: true\n    attachable: true\n    labels: {team: db}\n    \
         ipam:\n      config:\n        - subnet: 10.9.0.0/24\n",
    );
    let n = overlay_network(&s, "back").unwrap();
    assert_eq!(n.name, "t_back");
    assert_eq!(n.driver.as_deref(), Some("overlay"));
    assert_eq!(n.scope.as_deref(), Some("swarm"));
    assert_eq!(n.internal, Some(true));
    assert_eq!(n.attachable, Some(true));
    assert_eq!(n.enable_ipv4, None);
    assert_eq!(n.options.as_ref().unwrap()["encrypted"], "");
    let pool = &n.ipam.as_ref().unwrap().config.as_ref().unwrap()[0];
    assert_eq!(pool.subnet.as_deref(), Some("10.9.0.0/24"));
    let labels = n.labels.as_ref().unwrap();
    assert_eq!(labels["team"], "db");
    assert_eq!(labels[STACK_NAMESPACE], "t");
    assert_eq!(labels[identity::PROJECT], "t");
    assert_eq!(labels[identity::NETWORK], "back");
    assert_eq!(overlay_network(&s, "front").unwrap().internal, None);
    assert!(overlay_network(&s, "ext").is_none());
    assert!(overlay_network(&s, "nope").is_none());

    let m = service(&s, &s.services["a"], &ObjectNames::new());
    let targets: Vec<_> = task(&m)
        .networks
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.target.clone().unwrap())
        .collect();
    assert_eq!(targets, vec!["shared", "t_back", "t_front"]);
}

#[test]
fn process_fields_use_swarm_names() {
    let m = map_one(
        "services:\n  web:\n    image: img\n    command: [serve, --port, '80']\n    \
         entrypoint: [/bin/app]\n    environment: {B: '2', A: '1', C: null}\n    labels: {team: web}\n    \
         hostname: h\n    user: '1000:1000'\n    working_dir: /w\n    init: true\n    \
         stop_signal: SIGINT\n    stop_grace_period: 1m30s\n    tty: true\n    stdin_open: true\n    \
         read_only: true\n    group_add: [audio]\n    sysctls: {net.core.somaxconn: '1024'}\n    \
         ulimits: {nproc: 65535, nofile: {soft: 1024, hard: 2048}}\n    cap_add: [NET_ADMIN]\n    \
         cap_drop: [ALL]\n    extra_hosts: ['db.local=10.0.0.5', 'v6=::1']\n    \
         dns: [1.1.1.1]\n    dns_search: [example.org]\n    dns_opt: ['ndots:2']\n    \
         logging: {driver: json-file, options: {max-size: 1m}}\n",
        "web",
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let c = container(&m);
    // compose's entrypoint is Swarm's Command; compose's command its Args.
    assert_eq!(c.command, Some(vec!["/bin/app".into()]));
    assert_eq!(
        c.args,
        Some(vec!["serve".into(), "--port".into(), "80".into()])
    );
    assert_eq!(c.env, Some(vec!["A=1".into(), "B=2".into(), "C".into()]));
    assert_eq!(c.labels.as_ref().unwrap()["team"], "web");
    assert_eq!(c.hostname.as_deref(), Some("h"));
    assert_eq!(c.user.as_deref(), Some("1000:1000"));
    assert_eq!(c.dir.as_deref(), Some("/w"));
    assert_eq!(c.init, Some(true));
    assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(c.stop_grace_period, Some(90_000_000_000));
    assert_eq!(c.tty, Some(true));
    assert_eq!(c.open_stdin, Some(true));
    assert_eq!(c.read_only, Some(true));
    assert_eq!(c.groups, Some(vec!["audio".into()]));
    assert_eq!(c.sysctls.as_ref().unwrap()["net.core.somaxconn"], "1024");
    let u = c.ulimits.as_ref().unwrap();
    assert_eq!(u[0].name.as_deref(), Some("nofile"));
    assert_eq!((u[0].soft, u[0].hard), (Some(1024), Some(2048)));
    assert_eq!((u[1].soft, u[1].hard), (Some(65535), Some(65535)));
    assert_eq!(c.capability_add, Some(vec!["NET_ADMIN".into()]));
    assert_eq!(c.capability_drop, Some(vec!["ALL".into()]));
    assert_eq!(
        c.hosts,
        Some(vec!["10.0.0.5 db.local".into(), "::1 v6".into()])
    );
    let dns = c.dns_config.as_ref().unwrap();
    assert_eq!(dns.nameservers, Some(vec!["1.1.1.1".into()]));
    assert_eq!(dns.search, Some(vec!["example.org".into()]));
    assert_eq!(dns.options, Some(vec!["ndots:2".into()]));
    let log = task(&m).log_driver.as_ref().unwrap();
    assert_eq!(log.name.as_deref(), Some("json-file"));
    assert_eq!(log.options.as_ref().unwrap()["max-size"], "1m");
}

#[test]
fn healthcheck_disable_is_none() {
    let m = map_one(
        "services: {web: {image: img, healthcheck: {disable: true}}}\n",
        "web",
    );
    let hc = container(&m).health_check.as_ref().unwrap();
    assert_eq!(hc.test, Some(vec!["NONE".into()]));
}

#[test]
fn mounts_carry_volume_driver_binds_and_tmpfs() {
    let d = crate::testutil::dir(&[(
        "compose.yaml",
        "name: t\nservices:\n  web:\n    image: img\n    tmpfs: ['/run:size=64k,mode=1770,noexec']\n    \
         volumes:\n      - data:/data:ro\n      - ext:/ext\n      - /anon\n      \
         - {type: bind, source: /srv/www, target: /www}\n      \
         - {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}\n\
         volumes:\n  data:\n    driver: local\n    driver_opts: {type: tmpfs, device: tmpfs}\n  \
         ext: {external: true, name: shared}\n",
    )]);
    let s = d.loaded().stack;
    let m = service(&s, &s.services["web"], &ObjectNames::new());
    let mounts = container(&m).mounts.clone().unwrap();
    assert_eq!(mounts.len(), 6);
    let data = &mounts[0];
    assert_eq!(data.source.as_deref(), Some("t_data"));
    assert_eq!(data.read_only, Some(true));
    let opts = data.volume_options.as_ref().unwrap();
    let driver = opts.driver_config.as_ref().unwrap();
    assert_eq!(driver.name.as_deref(), Some("local"));
    assert_eq!(driver.options.as_ref().unwrap()["device"], "tmpfs");
    assert_eq!(opts.labels.as_ref().unwrap()[identity::VOLUME], "data");
    // An external volume is the user's: no labels, no driver.
    assert_eq!(mounts[1].source.as_deref(), Some("shared"));
    assert!(mounts[1].volume_options.is_none());
    assert_eq!(mounts[2].source, None);
    assert_eq!(mounts[3].typ, Some(MountType::BIND));
    assert_eq!(mounts[3].source.as_deref(), Some("/srv/www"));
    assert_eq!(mounts[4].typ, Some(MountType::TMPFS));
    assert_eq!(
        mounts[4].tmpfs_options.as_ref().unwrap().size_bytes,
        Some(1024 * 1024)
    );
    // `tmpfs:` entries are tmpfs mounts; noexec is not a 1.41 option.
    let run = &mounts[5];
    assert_eq!(run.typ, Some(MountType::TMPFS));
    assert_eq!(run.target.as_deref(), Some("/run"));
    let t = run.tmpfs_options.as_ref().unwrap();
    assert_eq!((t.size_bytes, t.mode), (Some(64 * 1024), Some(0o1770)));
    assert_eq!(keys(&m.warnings), vec!["tmpfs"]);
    assert!(m.warnings[0].message.contains("noexec"));
}

#[test]
fn short_syntax_binds_warn_about_other_nodes_and_secrets_become_swarm_objects() {
    let d = crate::testutil::dir(&[
        (
            "compose.yaml",
            "name: t\nservices:\n  web:\n    image: img\n    volumes: ['./site:/site']\n    \
             secrets: [pw, {source: token, target: api_token, mode: 0400}]\n\
             secrets:\n  pw: {file: ./pw.txt}\n  token: {environment: TOKEN}\n",
        ),
        ("pw.txt", "x"),
    ]);
    let s = d.loaded().stack;
    let names: ObjectNames = [
        ((ObjectKind::Secret, "pw".into()), "t_pw-1".into()),
        ((ObjectKind::Secret, "token".into()), "t_token-2".into()),
    ]
    .into_iter()
    .collect();
    let m = service(&s, &s.services["web"], &names);
    assert_eq!(keys(&m.warnings), vec!["volumes"]);
    assert!(m.warnings[0].message.contains("does not create"));
    // No bind mount of the secret's file: a Swarm secret instead.
    let c = container(&m);
    assert_eq!(c.mounts.as_ref().map(Vec::len), Some(1));
    let refs: Vec<(String, String, u32)> = c
        .secrets
        .iter()
        .flatten()
        .map(|r| {
            let f = r.file.clone().unwrap();
            (
                r.secret_name.clone().unwrap(),
                f.name.unwrap(),
                f.mode.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refs,
        vec![
            ("t_pw-1".into(), "/run/secrets/pw".into(), 0o444),
            ("t_token-2".into(), "api_token".into(), 0o400),
        ]
    );
}

#[test]
fn deploy_modes_and_replicas() {
    let mode = |deploy: &str| {
        map_one(
            &format!("services: {{web: {{image: img, deploy: {deploy}}}}}\n"),
            "web",
        )
    };
    let m = mode("{replicas: 3}");
    let r = m.spec.mode.as_ref().unwrap().replicated.as_ref().unwrap();
    assert_eq!(r.replicas, Some(3));
    let m = map_one("services: {web: {image: img, scale: 2}}\n", "web");
    let r = m.spec.mode.as_ref().unwrap().replicated.as_ref().unwrap();
    assert_eq!(r.replicas, Some(2));
    let m = mode("{replicas: 0}");
    let r = m.spec.mode.as_ref().unwrap().replicated.as_ref().unwrap();
    assert_eq!(r.replicas, Some(0));

    let m = mode("{mode: global}");
    assert!(m.errors.is_empty());
    let g = m.spec.mode.as_ref().unwrap();
    assert!(g.global.is_some() && g.replicated.is_none());
    let json = serde_json::to_value(g).unwrap();
    assert_eq!(json, serde_json::json!({"Global": {}}));

    let m = mode("{mode: replicated-job, replicas: 4}");
    let j = m
        .spec
        .mode
        .as_ref()
        .unwrap()
        .replicated_job
        .as_ref()
        .unwrap();
    assert_eq!((j.max_concurrent, j.total_completions), (Some(4), Some(4)));
    let m = mode("{mode: global-job}");
    assert!(m.spec.mode.as_ref().unwrap().global_job.is_some());

    let m = mode("{mode: global, replicas: 2}");
    assert_eq!(keys(&m.errors), vec!["deploy.replicas"]);
    assert!(m.errors[0].message.contains("global"));
    let m = map_one(
        "services: {web: {image: img, scale: 2, deploy: {mode: global-job}}}\n",
        "web",
    );
    assert_eq!(keys(&m.errors), vec!["scale"]);
}

#[test]
fn resources_come_from_deploy_or_service_keys_with_a_warning() {
    const M: i64 = 1024 * 1024;
    let m = map_one(
        "services:\n  web:\n    image: img\n    deploy:\n      resources:\n        \
         limits: {cpus: '0.5', memory: 256m, pids: 100}\n        \
         reservations: {cpus: '0.25', memory: 64m}\n",
        "web",
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let r = task(&m).resources.as_ref().unwrap();
    let l = r.limits.as_ref().unwrap();
    assert_eq!(l.nano_cpus, Some(500_000_000));
    assert_eq!(l.memory_bytes, Some(256 * M));
    assert_eq!(l.pids, Some(100));
    let v = r.reservations.as_ref().unwrap();
    assert_eq!(v.nano_cpus, Some(250_000_000));
    assert_eq!(v.memory_bytes, Some(64 * M));

    let m = map_one(
        "services:\n  web:\n    image: img\n    cpus: 1.5\n    mem_limit: 128m\n    pids_limit: 50\n    \
         mem_reservation: 32m\n    deploy: {resources: {limits: {cpus: '2'}}}\n",
        "web",
    );
    let l = task(&m).resources.as_ref().unwrap().limits.clone().unwrap();
    // deploy wins where both are set; the service's keys fill the rest.
    assert_eq!(l.nano_cpus, Some(2_000_000_000));
    assert_eq!(l.memory_bytes, Some(128 * M));
    assert_eq!(l.pids, Some(50));
    let v = task(&m).resources.as_ref().unwrap().reservations.clone();
    assert_eq!(v.unwrap().memory_bytes, Some(32 * M));
    assert_eq!(
        keys(&m.warnings),
        vec!["cpus", "mem_limit", "pids_limit", "mem_reservation"]
    );
    assert!(m.warnings[0].message.contains("ignored"));
    assert!(
        m.warnings[1]
            .message
            .contains("mapped to deploy.resources.limits.memory")
    );

    let m = map_one("services: {web: {image: img}}\n", "web");
    assert!(task(&m).resources.is_none());
}

#[test]
fn restart_policy_from_deploy_or_restart() {
    let policy = |yaml: &str| {
        let m = map_one(yaml, "web");
        (task(&m).restart_policy.clone(), m.warnings, m.errors)
    };
    let (p, w, _) = policy(
        "services:\n  web:\n    image: img\n    restart: always\n    deploy:\n      \
         restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}\n",
    );
    let p = p.unwrap();
    assert_eq!(p.condition, Some(Cond::ON_FAILURE));
    assert_eq!(p.delay, Some(5_000_000_000));
    assert_eq!(p.max_attempts, Some(3));
    assert_eq!(p.window, Some(120_000_000_000));
    assert_eq!(keys(&w), vec!["restart"]);

    for (restart, cond, max) in [
        ("'no'", Cond::NONE, None),
        ("always", Cond::ANY, None),
        ("unless-stopped", Cond::ANY, None),
        ("on-failure", Cond::ON_FAILURE, None),
        ("on-failure:4", Cond::ON_FAILURE, Some(4)),
    ] {
        let (p, w, _) = policy(&format!(
            "services: {{web: {{image: img, restart: {restart}}}}}\n"
        ));
        let p = p.unwrap();
        assert_eq!(
            (p.condition, p.max_attempts),
            (Some(cond), max),
            "{restart}"
        );
        assert!(w.is_empty());
    }
    let (p, _, _) = policy("services: {web: {image: img}}\n");
    assert!(p.is_none());
    let (_, _, e) =
        policy("services: {web: {image: img, deploy: {restart_policy: {condition: always}}}}\n");
    assert_eq!(keys(&e), vec!["deploy.restart_policy.condition"]);
}

#[test]
fn update_rollback_and_placement() {
    let m = map_one(
        "services:\n  web:\n    image: img\n    platform: linux/arm64\n    deploy:\n      \
         update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 30s, \
         max_failure_ratio: 0.2, order: start-first}\n      \
         rollback_config: {failure_action: pause}\n      \
         placement:\n        constraints: [node.role==manager]\n        \
         preferences: [{spread: node.labels.zone}]\n        max_replicas_per_node: 2\n",
        "web",
    );
    assert!(m.errors.is_empty() && m.warnings.is_empty(), "{m:?}");
    let u = m.spec.update_config.as_ref().unwrap();
    assert_eq!(u.parallelism, Some(2));
    assert_eq!(u.delay, Some(10_000_000_000));
    assert_eq!(
        u.failure_action,
        Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK)
    );
    assert_eq!(u.monitor, Some(30_000_000_000));
    assert_eq!(u.max_failure_ratio, Some(0.2));
    assert_eq!(u.order, Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST));
    let r = m.spec.rollback_config.as_ref().unwrap();
    assert_eq!(r.parallelism, Some(1));
    assert_eq!(
        r.failure_action,
        Some(ServiceSpecRollbackConfigFailureActionEnum::PAUSE)
    );
    let p = task(&m).placement.as_ref().unwrap();
    assert_eq!(p.constraints, Some(vec!["node.role==manager".into()]));
    let spread = p.preferences.as_ref().unwrap()[0].spread.as_ref().unwrap();
    assert_eq!(
        spread.spread_descriptor.as_deref(),
        Some("node.labels.zone")
    );
    assert_eq!(p.max_replicas, Some(2));
    let platform = &p.platforms.as_ref().unwrap()[0];
    assert_eq!(platform.os.as_deref(), Some("linux"));
    assert_eq!(platform.architecture.as_deref(), Some("arm64"));

    let m = map_one(
        "services: {web: {image: img, deploy: {rollback_config: {failure_action: rollback}, \
         update_config: {order: later}}}}\n",
        "web",
    );
    assert_eq!(
        keys(&m.errors),
        vec![
            "deploy.update_config.order",
            "deploy.rollback_config.failure_action"
        ]
    );
}

#[test]
fn ports_long_and_short_in_ingress_and_host_mode() {
    let m = map_one(
        "services:\n  web:\n    image: img\n    ports:\n      - '8080:80'\n      - 53:53/udp\n      \
         - '9000'\n      - {target: 443, published: '8443', mode: host, name: https}\n      \
         - 0.0.0.0:7000:7000\n",
        "web",
    );
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let ep = m.spec.endpoint_spec.as_ref().unwrap();
    assert_eq!(ep.mode, None);
    let ports: Vec<_> = ep
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| (p.published_port, p.target_port, p.protocol, p.publish_mode))
        .collect();
    assert_eq!(
        ports,
        vec![
            (None, Some(9000), Some(Proto::TCP), Some(Publish::INGRESS)),
            (Some(53), Some(53), Some(Proto::UDP), Some(Publish::INGRESS)),
            (
                Some(7000),
                Some(7000),
                Some(Proto::TCP),
                Some(Publish::INGRESS)
            ),
            (
                Some(8080),
                Some(80),
                Some(Proto::TCP),
                Some(Publish::INGRESS)
            ),
            (Some(8443), Some(443), Some(Proto::TCP), Some(Publish::HOST)),
        ]
    );
    assert_eq!(ep.ports.as_ref().unwrap()[4].name.as_deref(), Some("https"));
}

#[test]
fn a_port_bound_to_an_address_is_an_error() {
    let m = map_one(
        "services:\n  web:\n    image: img\n    ports: ['127.0.0.1:8080:80']\n",
        "web",
    );
    assert_eq!(keys(&m.errors), vec!["ports"]);
    let e = &m.errors[0];
    assert!(e.message.contains("127.0.0.1"), "{}", e.message);
    assert!(e.message.contains("ingress"), "{}", e.message);
    // The port's own span, not the service's.
    let s = stack("services:\n  web:\n    image: img\n    ports: ['127.0.0.1:8080:80']\n");
    assert_eq!(e.span, s.services["web"].ports[0].span);
    assert_ne!(e.span, s.services["web"].span);

    let m = map_one(
        "services:\n  web:\n    image: img\n    ports:\n      \
         - {target: 80, published: '8080', host_ip: 127.0.0.1, mode: host}\n",
        "web",
    );
    assert_eq!(keys(&m.errors), vec!["ports"]);
    assert!(m.errors[0].message.contains("host-mode"));
}

#[test]
fn dnsrr_with_ingress_ports_and_published_ranges_are_errors() {
    let m = map_one(
        "services: {web: {image: img, ports: ['8080:80'], deploy: {endpoint_mode: dnsrr}}}\n",
        "web",
    );
    assert_eq!(keys(&m.errors), vec!["ports"]);
    assert!(m.errors[0].message.contains("dnsrr"));
    let m = map_one(
        "services: {web: {image: img, ports: ['9000-9001:9000']}}\n",
        "web",
    );
    assert_eq!(keys(&m.errors), vec!["ports"]);
    assert!(m.errors[0].message.contains("range"));
}

#[test]
fn keys_swarm_cannot_honour_are_warnings_with_the_service_span() {
    let yaml = "services:\n  web:\n    image: img\n    container_name: web1\n    links: [db]\n    \
                privileged: true\n    devices: ['/dev/fuse:/dev/fuse']\n  db: {image: db}\n";
    let s = stack(yaml);
    let m = service(&s, &s.services["web"], &ObjectNames::new());
    assert!(m.errors.is_empty());
    assert_eq!(
        keys(&m.warnings),
        vec!["container_name", "links", "privileged", "devices"]
    );
    for w in &m.warnings {
        assert_eq!(w.span, s.services["web"].span);
        assert_eq!(w.service, "web");
        assert!(!w.help.is_empty());
    }
    let d = m.diagnostics();
    assert_eq!(d.len(), 4);
    assert!(!d[0].is_error());
    assert!(d[0].message.contains("service `web`"));
}

#[test]
fn every_ignored_key_is_named() {
    let m = map_one(
        "services:\n  web:\n    build: .\n    network_mode: host\n    cpu_shares: 512\n    \
         cpuset: '0'\n    blkio_config: {weight: 300}\n    ipc: host\n    pid: host\n    \
         cgroup_parent: /x\n    security_opt: ['no-new-privileges:true']\n    shm_size: 64m\n    \
         userns_mode: host\n    expose: ['3000']\n    oom_score_adj: 100\n    oom_kill_disable: true\n    \
         mac_address: 02:42:ac:11:00:02\n    runtime: runc\n    volumes_from: [other]\n    \
         depends_on: {other: {condition: service_started, restart: true}}\n  other: {image: o}\n",
        "web",
    );
    let mut got = keys(&m.warnings);
    got.sort();
    let mut want = vec![
        "build",
        "network_mode",
        "cpu_shares",
        "cpuset",
        "blkio_config",
        "ipc",
        "pid",
        "cgroup_parent",
        "security_opt",
        "shm_size",
        "userns_mode",
        "expose",
        "oom_score_adj",
        "oom_kill_disable",
        "mac_address",
        "runtime",
        "volumes_from",
        "depends_on",
    ];
    want.sort();
    assert_eq!(got, want);
    let build = m.warnings.iter().find(|w| w.key == "build").unwrap();
    assert!(build.message.contains("`t-web`"), "{}", build.message);
    assert_eq!(container(&m).image.as_deref(), Some("t-web"));
}

#[test]
fn the_hash_is_stable_and_follows_the_spec() {
    let yaml = "services:\n  web:\n    image: img:1\n    environment: {A: '1', B: '2', C: '3'}\n    \
                labels: {x: '1', y: '2', z: '3'}\n    deploy: {labels: {p: '1', q: '2'}}\n";
    let a = map_one(yaml, "web");
    let b = map_one(yaml, "web");
    let hash = service_hash(&a.spec);
    assert_eq!(hash.len(), 64);
    assert_eq!(hash, service_hash(&b.spec));
    assert_eq!(hash, a.spec.labels.as_ref().unwrap()[identity::CONFIG_HASH]);
    // The hash label itself and berth's version do not count.
    let mut c = a.spec.clone();
    let labels = c.labels.as_mut().unwrap();
    labels.insert(identity::CONFIG_HASH.into(), "other".into());
    labels.insert(identity::VERSION.into(), "9.9.9".into());
    assert_eq!(service_hash(&c), hash);
    let d = map_one(&yaml.replace("img:1", "img:2"), "web");
    assert_ne!(service_hash(&d.spec), hash);
}

#[test]
fn changes_are_said_in_the_stack_files_words() {
    let old = map_one(
        "services:\n  web:\n    image: img:1\n    environment: {A: '1'}\n    ports: ['8080:80']\n",
        "web",
    );
    let new = map_one(
        "services:\n  web:\n    image: img:2\n    environment: {A: '2'}\n    ports: ['8081:80']\n    \
         user: app\n    deploy:\n      replicas: 3\n      endpoint_mode: vip\n      \
         resources: {limits: {cpus: '0.5', memory: 256m}}\n",
        "web",
    );
    assert_eq!(
        service_changes(&old.spec, &new.spec),
        vec![
            "image img:1 -> img:2",
            "replicas 1 -> 3",
            "env changed",
            "user unset -> app",
            "cpus unset -> 0.5",
            "memory unset -> 256m",
            "ports changed",
        ]
    );
    assert!(service_changes(&old.spec, &old.spec).is_empty());

    // What the engine fills in, or a pinned digest, is no change.
    let mut deployed = old.spec.clone();
    let t = deployed.task_template.as_mut().unwrap();
    t.runtime = Some("container".into());
    t.force_update = Some(0);
    let c = t.container_spec.as_mut().unwrap();
    c.isolation = Some(bollard::models::TaskSpecContainerSpecIsolationEnum::DEFAULT);
    c.image = Some("img:1@sha256:abc".into());
    let ep = deployed.endpoint_spec.as_mut().unwrap();
    ep.mode = Some(EndpointSpecModeEnum::VIP);
    assert!(
        service_changes(&deployed, &old.spec).is_empty(),
        "{:?}",
        service_changes(&deployed, &old.spec)
    );

    let global = map_one(
        "services: {web: {image: img:1, environment: {A: '1'}, ports: ['8080:80'], deploy: {mode: global, endpoint_mode: dnsrr}}}\n",
        "web",
    );
    let words = service_changes(&old.spec, &global.spec);
    assert_eq!(words[0], "mode replicated -> global");
    // dnsrr with an ingress port is an error, but the words still say it.
    assert!(
        words.contains(&"endpoint_mode unset -> dnsrr".to_string()),
        "{words:?}"
    );
    let scaled = map_one(
        "services: {web: {image: img:1, environment: {A: '1'}, ports: ['8080:80'], scale: 0}}\n",
        "web",
    );
    assert_eq!(
        service_changes(&old.spec, &scaled.spec),
        vec!["replicas 1 -> 0"]
    );
}

#[test]
fn depends_on_restart_is_the_one_part_of_depends_on_swarm_cannot_keep() {
    let s = stack(
        "name: t\nservices:\n  db: {image: db}\n  web:\n    image: web\n    depends_on:\n      db: {condition: service_healthy, restart: true}\n",
    );
    let web = service(&s, &s.services["web"], &ObjectNames::new());
    assert_eq!(keys(&web.warnings), vec!["depends_on"]);
    assert_eq!(web.warnings[0].span, s.services["web"].edges[0].span);
    assert_eq!(
        web.warnings[0].message,
        "`restart: true` is ignored under Swarm: an update of db does not restart web"
    );
}

#[test]
fn the_update_and_rollback_defaults_the_engine_fills_in_are_no_change() {
    use bollard::models::ServiceSpecRollbackConfigOrderEnum;
    let sent = map_one(
        "services:\n  web:\n    image: img:1\n    deploy:\n      update_config: {monitor: 1s}\n      \
         rollback_config: {monitor: 1s}\n",
        "web",
    );
    // As Docker 20.10 answers a service created with that spec.
    let mut deployed = sent.spec.clone();
    let u = deployed.update_config.as_mut().unwrap();
    u.failure_action = Some(ServiceSpecUpdateConfigFailureActionEnum::PAUSE);
    u.order = Some(ServiceSpecUpdateConfigOrderEnum::STOP_FIRST);
    u.max_failure_ratio = Some(0.0);
    let r = deployed.rollback_config.as_mut().unwrap();
    r.failure_action = Some(ServiceSpecRollbackConfigFailureActionEnum::PAUSE);
    r.order = Some(ServiceSpecRollbackConfigOrderEnum::STOP_FIRST);
    assert!(
        service_changes(&deployed, &sent.spec).is_empty(),
        "{:?}",
        service_changes(&deployed, &sent.spec)
    );
    // A value the file sets is still a change.
    deployed.update_config.as_mut().unwrap().order =
        Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST);
    assert_eq!(
        service_changes(&deployed, &sent.spec),
        ["update_config changed"]
    );
}
