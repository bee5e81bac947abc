//! The checked-in labs, brought up for real with the test image.

use crate::engine::*;

/// The host's disk: blkio limits must name a device that exists.
fn block_device() -> &'static str {
    ["/dev/vda", "/dev/sda", "/dev/xvda", "/dev/nvme0n1"]
        .into_iter()
        .find(|d| std::path::Path::new(d).exists())
        .expect("a block device for the blkio limits (/dev/vda, /dev/sda, ...)")
}

/// Whether this kernel keeps a blkio weight (the engine discards it with a
/// warning when the cgroup has no weight file, as on mq-deadline disks).
fn blkio_weight_supported(p: &Project) -> bool {
    let label = format!("{LABEL}={}", p.name);
    let id = docker(&[
        "create",
        "--label",
        &label,
        "--blkio-weight",
        "300",
        IMAGE,
        "true",
    ]);
    let id = id.trim();
    let w = docker(&["inspect", "-f", "{{.HostConfig.BlkioWeight}}", id]);
    docker(&["rm", "-f", id]);
    w.trim() == "300"
}

fn device_list(c: &Container, key: &str) -> Vec<(String, i64)> {
    c.host(key)
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["Path"].as_str().unwrap_or("").to_string(),
                        d["Rate"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn resources_lab_gets_exactly_the_limits_it_declares() {
    let p = Project::new("lab-resources");
    let dev = block_device();
    let lab = std::fs::read_to_string(repo_path("stacks/labs/resources.yaml")).unwrap();
    // Same limits; the test image, and no busy loops on the shared machine.
    let lab = lab
        .replace("image: busybox:latest", "image: {IMAGE}")
        .replace(
            r#"command: sh -c "while :; do :; done""#,
            "command: sleep 3600",
        )
        .replace("name: lab-resources", "name: {P}")
        .replace("/dev/vda", dev);
    assert!(
        !lab.contains("while :"),
        "the lab changed; update this test"
    );
    p.write("compose.yaml", &lab);
    p.berth(&["up"]).ok();

    let weight = if blkio_weight_supported(&p) { 300 } else { 0 };
    let cs = p.containers();
    assert_eq!(cs.len(), 6, "six services");
    // (service, CpuShares, CpusetCpus, NanoCpus, Memory, MemorySwap, MemoryReservation, BlkioWeight)
    type Row = (&'static str, i64, &'static str, i64, i64, i64, i64, i64);
    let expected: [Row; 6] = [
        ("cpu-capped", 0, "", 200_000_000, 0, 0, 0, 0),
        ("cpu-high", 1024, "0", 0, 0, 0, 0, 0),
        ("cpu-low", 512, "0", 0, 0, 0, 0, 0),
        ("disk-io", 0, "", 0, 0, 0, 0, weight),
        ("mem-limited", 0, "", 0, 128 << 20, 256 << 20, 0, 0),
        ("mem-soft", 0, "", 0, 0, 0, 64 << 20, 0),
    ];
    for (svc, shares, cpuset, nano, mem, swap, reservation, bw) in expected {
        let c = p.container(svc);
        assert!(c.running(), "{svc} runs");
        let got: Row = (
            svc,
            c.host_i64("CpuShares"),
            match c.host("CpusetCpus").as_str().unwrap_or("") {
                "0" => "0",
                "" => "",
                other => panic!("{svc}: unexpected CpusetCpus {other}"),
            },
            c.host_i64("NanoCpus"),
            c.host_i64("Memory"),
            c.host_i64("MemorySwap"),
            c.host_i64("MemoryReservation"),
            c.host_i64("BlkioWeight"),
        );
        assert_eq!(
            got,
            (svc, shares, cpuset, nano, mem, swap, reservation, bw),
            "{svc}"
        );
        let devices = [
            ("BlkioDeviceReadBps", 20 << 20),
            ("BlkioDeviceWriteBps", 10 << 20),
            ("BlkioDeviceReadIOps", 200),
            ("BlkioDeviceWriteIOps", 100),
        ];
        for (key, rate) in devices {
            let want = if svc == "disk-io" {
                vec![(dev.to_string(), rate)]
            } else {
                vec![]
            };
            assert_eq!(device_list(&c, key), want, "{svc} {key}");
        }
        assert!(
            c.host("PidsLimit").as_i64().unwrap_or(0) <= 0,
            "{svc}: no pids limit declared"
        );
    }
    // Converged: the engine's view of the limits matches the file's.
    p.berth(&["plan"]).code_is(0).says_nothing_changed();
}

fn repo_path(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}
