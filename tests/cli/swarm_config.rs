//! `berth config --swarm`: what `up --swarm` would send, without an engine.

use serde_json::Value;

use crate::support::*;

fn config(yaml: &str) -> Run {
    Berth::new()
        .file("compose.yaml", yaml)
        .args(["-p", "shop", "config", "--swarm"])
        .run()
}

#[test]
fn config_swarm_prints_the_specs_up_would_send_the_same_every_time() {
    let yaml = "services:\n  web:\n    image: img:1\n    command: [serve]\n    networks: [front]\n    ports: [{target: 80, published: 8080, mode: host}]\n    deploy: {replicas: 2, endpoint_mode: dnsrr}\nnetworks:\n  front: {}\n";
    let run = config(yaml).ok();
    assert_eq!(run.stderr(), "");
    assert_eq!(config(yaml).stdout(), run.stdout(), "stable text");
    let v: Value = serde_json::from_str(run.stdout()).unwrap();
    let web = &v["services"]["web"];
    assert_eq!(web["Name"], "shop_web");
    assert_eq!(web["Labels"]["com.docker.stack.namespace"], "shop");
    assert_eq!(web["Mode"]["Replicated"]["Replicas"], 2);
    assert_eq!(web["EndpointSpec"]["Mode"], "dnsrr");
    assert_eq!(web["EndpointSpec"]["Ports"][0]["PublishMode"], "host");
    assert_eq!(web["TaskTemplate"]["ContainerSpec"]["Image"], "img:1");
    assert_eq!(web["TaskTemplate"]["ContainerSpec"]["Args"][0], "serve");
    assert_eq!(web["TaskTemplate"]["Networks"][0]["Target"], "shop_front");
    assert_eq!(web["TaskTemplate"]["Networks"][0]["Aliases"][0], "web");
    assert_eq!(v["networks"]["front"]["Driver"], "overlay");
}

#[test]
fn config_swarm_warns_at_keys_swarm_ignores_and_refuses_a_host_ip_on_a_port() {
    let run = config("services:\n  web:\n    image: img\n    container_name: fixed\n").ok();
    run.says("container_name").says("compose.yaml:");
    let run =
        config("services:\n  web:\n    image: img\n    ports: ['127.0.0.1:8080:80']\n").code_is(1);
    run.says("compose.yaml:4").says("nothing was changed");
    assert_eq!(run.stdout(), "");
}
