//! berth changes only what carries its project label.

use crate::engine::*;

#[test]
fn same_named_unlabelled_network_is_refused_and_nothing_changes() {
    let mut p = Project::new("foreignnet");
    let net = format!("{}_default", p.name);
    docker(&["network", "create", &net]);
    p.extra_networks.push(net.clone());
    let app = idle("app", "    volumes: [data:/data]\n");
    p.write(
        "compose.yaml",
        &format!("services:\n{app}volumes:\n  data: {{}}\n"),
    );
    let up = p.berth(&["up"]).failed();
    up.says(&net).says("external");
    assert!(p.containers().is_empty(), "no container created");
    assert!(p.volumes().is_empty(), "no volume created");
    let labels = docker(&["network", "inspect", "-f", "{{json .Labels}}", &net]);
    assert!(
        !labels.contains("io.berth"),
        "the user's network was not taken over: {labels}"
    );
    // And down leaves the user's network alone too.
    p.berth(&["down"]).ok();
    assert!(exists("network", &net));
}

#[test]
fn external_network_that_does_not_exist_is_an_error() {
    let app = idle("app", "    networks: [outside]\n");
    let p = Project::with_stack(
        "noexternal",
        &format!(
            "services:\n{app}networks:\n  outside:\n    external: true\n    name: {{P}}-missing-net\n"
        ),
    );
    p.berth(&["up"])
        .failed()
        .says(&format!("{}-missing-net", p.name));
    assert!(p.containers().is_empty());
}
