//! The validated stack: what berth acts on.
//!
//! Long syntax only, every default applied, sizes in bytes, durations in
//! nanoseconds, relative paths made absolute, project-prefixed names; a number
//! that compose treats as unset when zero (`mem_limit: 0`) is `None`. Its serde
//! form is the canonical one `docker compose config --format json` prints, field
//! for field, so the two can be compared; fields marked `skip` are berth's own
//! bookkeeping (where a value was written), never printed.

use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;
use serde::ser::Serializer;

use super::develop::Develop;
use super::{Map, is_false};
use crate::source::Span;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stack {
    pub name: String,
    /// Printed even when empty (`"services": {}`), as compose prints it.
    pub services: Map<Service>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub networks: Map<Network>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: Map<Volume>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub secrets: Map<FileObject>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub configs: Map<FileObject>,
    /// Top-level `x-` keys: compose prints them back as they were written.
    #[serde(flatten)]
    pub extensions: Map<serde_json::Value>,
}

/// A size in bytes; compose prints sizes as strings of bytes (`"6291456"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub i64);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// compose keeps CPU counts and ratios as Go `float32`s and prints them with Go's
/// encoder: shortest float32 digits, and no `.0` on whole numbers (`2`, not `2.0`).
fn go_float<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match *v {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => s.serialize_i64(f as i64),
        // Through f32's shortest digits, so that 0.3 prints as 0.3 even where
        // the output goes through an f64 (serde_json::Value) first.
        Some(f) => {
            let short: f64 = (f as f32).to_string().parse().unwrap_or(f);
            s.serialize_f64(short)
        }
        None => s.serialize_none(),
    }
}

/// compose prints `mem_swappiness` as a string, like the byte sizes it shares a
/// Go type with.
fn int_as_string<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.serialize_str(&n.to_string()),
        None => s.serialize_none(),
    }
}

/// A file mode; compose prints it in octal with a leading zero (`"0440"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0{:o}", self.0))
    }
}

/// A duration in nanoseconds; printed the way Go prints a `time.Duration`
/// (`"1m30s"`), as compose does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub i64);

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::model::units::format_go_duration(self.0))
    }
}

/// One service. The large sections most services leave out (`build`,
/// `deploy`, `healthcheck`, `logging`, `blkio_config`) are boxed, so that a
/// stack of many services holds a pointer for each instead of their full
/// size (a 100,000-service file: about 130 MB less). So are, together, the
/// many fields most services leave empty ([`ServiceExtras`]): inline, each
/// empty list or map would still take its full size in every service
/// (a 100,000-service file: 376 MB at peak inline, 247 MB boxed). They are
/// read through [`Service::extras`] and written through
/// [`Service::extras_mut`].
///
/// Printed in compose's field order, extras and all: see the `Serialize`
/// impl below.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub name: String,
    /// Where the service is defined (its key in `services:`).
    pub span: Span,
    /// compose prints `null` when no command is set.
    pub command: Option<Vec<String>>,
    pub container_name: Option<String>,
    pub depends_on: Map<Dependency>,
    /// compose prints `null` when no entrypoint is set.
    pub entrypoint: Option<Vec<String>>,
    pub environment: Map<Option<String>>,
    pub image: Option<String>,
    pub labels: Map<String>,
    /// `null` for a network joined with no options. Boxed: nearly every
    /// service joins `default` with none, and an inline `ServiceNetwork`
    /// would take its full size in each of those entries.
    pub networks: Map<Option<Box<ServiceNetwork>>>,
    pub ports: Vec<Port>,
    pub privileged: bool,
    pub read_only: bool,
    pub stdin_open: bool,
    pub tty: bool,
    pub volumes: Vec<ServiceVolume>,
    /// Where each dependency edge was written, for cycle reports.
    pub edges: Vec<Edge>,
    /// The fields most services leave empty; `None` when they all are
    /// (the resolved service is compacted by [`Service::shrink_to_fit`]).
    /// Public so that a service can be built in one literal; read it
    /// through [`Service::extras`], which stands an empty set in for `None`.
    pub extras: Option<Box<ServiceExtras>>,
}

/// The fields of a [`Service`] that most services leave empty, kept out
/// of line so that an empty one costs a pointer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceExtras {
    pub profiles: Vec<String>,
    pub annotations: Option<Map<String>>,
    pub blkio_config: Option<Box<BlkioConfig>>,
    pub build: Option<Box<Build>>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub cgroup: Option<Cgroup>,
    pub cgroup_parent: Option<String>,
    pub cpu_count: Option<i64>,
    pub cpu_percent: Option<f64>,
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_rt_period: Option<Duration>,
    pub cpu_rt_runtime: Option<Duration>,
    pub cpus: Option<f64>,
    pub cpuset: Option<String>,
    pub cpu_shares: Option<i64>,
    pub configs: Vec<FileRef>,
    pub deploy: Option<Box<Deploy>>,
    pub develop: Option<Box<Develop>>,
    pub devices: Vec<Device>,
    pub dns: Vec<String>,
    pub dns_opt: Vec<String>,
    pub dns_search: Vec<String>,
    pub domainname: Option<String>,
    pub expose: Vec<String>,
    pub external_links: Vec<String>,
    /// `host=ip` lines, as compose prints them.
    pub extra_hosts: Vec<String>,
    pub group_add: Vec<String>,
    pub healthcheck: Option<Box<Healthcheck>>,
    pub hostname: Option<String>,
    pub init: Option<bool>,
    pub ipc: Option<String>,
    pub isolation: Option<String>,
    pub links: Vec<String>,
    pub logging: Option<Box<Logging>>,
    pub mac_address: Option<String>,
    pub mem_limit: Option<Bytes>,
    pub mem_reservation: Option<Bytes>,
    pub mem_swappiness: Option<i64>,
    pub memswap_limit: Option<Bytes>,
    pub network_mode: Option<String>,
    pub oom_kill_disable: Option<bool>,
    pub oom_score_adj: Option<i64>,
    pub pid: Option<String>,
    pub pids_limit: Option<i64>,
    pub platform: Option<String>,
    pub pull_policy: Option<PullPolicy>,
    pub restart: Option<Restart>,
    pub runtime: Option<String>,
    pub scale: Option<i64>,
    pub secrets: Vec<FileRef>,
    pub security_opt: Vec<String>,
    pub shm_size: Option<Bytes>,
    pub stop_grace_period: Option<Duration>,
    pub stop_signal: Option<String>,
    pub storage_opt: Map<String>,
    pub sysctls: Map<String>,
    pub tmpfs: Vec<String>,
    pub ulimits: Map<Ulimit>,
    pub user: Option<String>,
    pub userns_mode: Option<String>,
    pub uts: Option<String>,
    pub volumes_from: Vec<String>,
    pub working_dir: Option<String>,
}

impl Service {
    /// The fields most services leave empty: the service's own, or an
    /// empty set shared by every service that has none.
    pub fn extras(&self) -> &ServiceExtras {
        static EMPTY: std::sync::OnceLock<ServiceExtras> = std::sync::OnceLock::new();
        match &self.extras {
            Some(x) => x,
            None => EMPTY.get_or_init(ServiceExtras::default),
        }
    }

    /// The fields most services leave empty, to write: allocates them if
    /// the service has none, so it is for what fills them in (the loader,
    /// and tests); [`Service::shrink_to_fit`] gives them back if they are
    /// left empty. Code that only reads uses [`Service::extras`].
    pub fn extras_mut(&mut self) -> &mut ServiceExtras {
        self.extras.get_or_insert_with(Box::default)
    }
}

thread_local! {
    /// Set while [`omitting_null_commands`] runs.
    static OMIT_NULL_COMMANDS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with a service's unset `command` and `entrypoint` left out of
/// what it serializes, instead of written as `null`: compose prints `null`
/// in JSON and nothing in YAML, and the YAML is written straight from the
/// model (`output::write_yaml`), with no tree to take them out of afterwards.
pub fn omitting_null_commands<T>(f: impl FnOnce() -> T) -> T {
    OMIT_NULL_COMMANDS.with(|c| c.set(true));
    let out = f();
    OMIT_NULL_COMMANDS.with(|c| c.set(false));
    out
}

/// compose's `omitempty`, the rule it prints a service's fields by
/// (`command` and `entrypoint` aside): a field with no value, an empty
/// list or map, or a `false` is left out.
trait OmitEmpty {
    fn omitted(&self) -> bool;
}

impl<T> OmitEmpty for Option<T> {
    fn omitted(&self) -> bool {
        self.is_none()
    }
}

impl<T> OmitEmpty for Vec<T> {
    fn omitted(&self) -> bool {
        self.is_empty()
    }
}

impl<V> OmitEmpty for Map<V> {
    fn omitted(&self) -> bool {
        self.is_empty()
    }
}

impl OmitEmpty for bool {
    fn omitted(&self) -> bool {
        !*self
    }
}

/// `command` and `entrypoint`: `null` when unset, but left out where
/// [`omitting_null_commands`] says so.
struct NullableCommand<'a>(&'a Option<Vec<String>>);

impl Serialize for NullableCommand<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl OmitEmpty for NullableCommand<'_> {
    fn omitted(&self) -> bool {
        self.0.is_none() && OMIT_NULL_COMMANDS.with(std::cell::Cell::get)
    }
}

/// `cpus` and `cpu_percent`, printed by [`go_float`].
struct GoFloat<'a>(&'a Option<f64>);

impl Serialize for GoFloat<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        go_float(self.0, s)
    }
}

impl OmitEmpty for GoFloat<'_> {
    fn omitted(&self) -> bool {
        self.0.is_none()
    }
}

/// `mem_swappiness`, printed by [`int_as_string`].
struct IntAsString<'a>(&'a Option<i64>);

impl Serialize for IntAsString<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        int_as_string(self.0, s)
    }
}

impl OmitEmpty for IntAsString<'_> {
    fn omitted(&self) -> bool {
        self.0.is_none()
    }
}

/// Serializes `name: value` pairs as one struct, in the order given, each
/// left out when [`OmitEmpty::omitted`]: what `#[derive(Serialize)]` with a
/// `skip_serializing_if` on every field does, down to the length handed to
/// the serializer (the fields printed; the YAML writer lays a mapping out
/// by it).
macro_rules! serialize_omitting_empty {
    ($s:expr, $struct_name:literal, { $($key:ident: $value:expr,)* }) => {{
        use serde::ser::SerializeStruct;
        $(let $key = $value;)*
        let len = 0 $(+ usize::from(!$key.omitted()))*;
        let mut out = $s.serialize_struct($struct_name, len)?;
        $(
            if $key.omitted() {
                out.skip_field(stringify!($key))?;
            } else {
                out.serialize_field(stringify!($key), &$key)?;
            }
        )*
        out.end()
    }};
}

/// The service as compose prints it: every field, extras included, in one
/// mapping and in compose's order. Written out here rather than derived:
/// compose's order interleaves the extras with the service's own fields,
/// and serde's `flatten` would print the extras as one block (in a map,
/// not a struct); a derived view of borrowed fields would list every
/// field twice more (its declaration and its construction).
impl Serialize for Service {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.extras();
        serialize_omitting_empty!(s, "Service", {
            profiles: &x.profiles,
            annotations: &x.annotations,
            blkio_config: &x.blkio_config,
            build: &x.build,
            develop: &x.develop,
            cap_add: &x.cap_add,
            cap_drop: &x.cap_drop,
            cgroup: &x.cgroup,
            cgroup_parent: &x.cgroup_parent,
            cpu_count: &x.cpu_count,
            cpu_percent: GoFloat(&x.cpu_percent),
            cpu_period: &x.cpu_period,
            cpu_quota: &x.cpu_quota,
            cpu_rt_period: &x.cpu_rt_period,
            cpu_rt_runtime: &x.cpu_rt_runtime,
            cpus: GoFloat(&x.cpus),
            cpuset: &x.cpuset,
            cpu_shares: &x.cpu_shares,
            command: NullableCommand(&self.command),
            configs: &x.configs,
            container_name: &self.container_name,
            depends_on: &self.depends_on,
            deploy: &x.deploy,
            devices: &x.devices,
            dns: &x.dns,
            dns_opt: &x.dns_opt,
            dns_search: &x.dns_search,
            domainname: &x.domainname,
            entrypoint: NullableCommand(&self.entrypoint),
            environment: &self.environment,
            expose: &x.expose,
            external_links: &x.external_links,
            extra_hosts: &x.extra_hosts,
            group_add: &x.group_add,
            healthcheck: &x.healthcheck,
            hostname: &x.hostname,
            image: &self.image,
            init: &x.init,
            ipc: &x.ipc,
            isolation: &x.isolation,
            labels: &self.labels,
            links: &x.links,
            logging: &x.logging,
            mac_address: &x.mac_address,
            mem_limit: &x.mem_limit,
            mem_reservation: &x.mem_reservation,
            mem_swappiness: IntAsString(&x.mem_swappiness),
            memswap_limit: &x.memswap_limit,
            network_mode: &x.network_mode,
            networks: &self.networks,
            oom_kill_disable: &x.oom_kill_disable,
            oom_score_adj: &x.oom_score_adj,
            pid: &x.pid,
            pids_limit: &x.pids_limit,
            platform: &x.platform,
            ports: &self.ports,
            privileged: &self.privileged,
            pull_policy: &x.pull_policy,
            read_only: &self.read_only,
            restart: &x.restart,
            runtime: &x.runtime,
            scale: &x.scale,
            secrets: &x.secrets,
            security_opt: &x.security_opt,
            shm_size: &x.shm_size,
            stdin_open: &self.stdin_open,
            stop_grace_period: &x.stop_grace_period,
            stop_signal: &x.stop_signal,
            storage_opt: &x.storage_opt,
            sysctls: &x.sysctls,
            tmpfs: &x.tmpfs,
            tty: &self.tty,
            ulimits: &x.ulimits,
            user: &x.user,
            userns_mode: &x.userns_mode,
            uts: &x.uts,
            volumes: &self.volumes,
            volumes_from: &x.volumes_from,
            working_dir: &x.working_dir,
        })
    }
}

impl Service {
    /// Gives back the spare capacity of its lists and maps, once resolved:
    /// a map grown by one insert keeps room for several, which across a
    /// stack of many services is a large share of its memory. Extras left
    /// empty (allocated by [`Service::extras_mut`] but holding nothing)
    /// are dropped.
    pub fn shrink_to_fit(&mut self) {
        self.depends_on.shrink_to_fit();
        self.environment.shrink_to_fit();
        self.labels.shrink_to_fit();
        self.networks.shrink_to_fit();
        self.ports.shrink_to_fit();
        self.volumes.shrink_to_fit();
        self.edges.shrink_to_fit();
        if let Some(x) = &mut self.extras {
            if **x == ServiceExtras::default() {
                self.extras = None;
            } else {
                x.shrink_to_fit();
            }
        }
    }
}

impl ServiceExtras {
    /// Gives back the spare capacity of the lists and maps among the
    /// extras, as [`Service::shrink_to_fit`] does for the service's own.
    fn shrink_to_fit(&mut self) {
        self.profiles.shrink_to_fit();
        self.cap_add.shrink_to_fit();
        self.cap_drop.shrink_to_fit();
        self.configs.shrink_to_fit();
        self.devices.shrink_to_fit();
        self.dns.shrink_to_fit();
        self.dns_opt.shrink_to_fit();
        self.dns_search.shrink_to_fit();
        self.expose.shrink_to_fit();
        self.external_links.shrink_to_fit();
        self.extra_hosts.shrink_to_fit();
        self.group_add.shrink_to_fit();
        self.links.shrink_to_fit();
        self.secrets.shrink_to_fit();
        self.security_opt.shrink_to_fit();
        self.storage_opt.shrink_to_fit();
        self.sysctls.shrink_to_fit();
        self.tmpfs.shrink_to_fit();
        self.ulimits.shrink_to_fit();
        self.volumes_from.shrink_to_fit();
    }
}

/// `pull_policy`: whether `up` pulls or builds a service's image. Printed
/// as compose prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull on every `up`.
    Always,
    /// Never pull: a missing image is an error.
    Never,
    /// Pull an image only when it is missing (the default); also written
    /// `if_not_present`, which compose prints as `missing`.
    Missing,
    /// Build on every `up`.
    Build,
    /// Pull again once the local image is older than a period: `daily`,
    /// `weekly`, `every_<duration>`, or plain `refresh` (no period). berth
    /// does not track an image's age, so for now these pull only a missing
    /// image, as `missing` does.
    Refresh(Option<RefreshPeriod>),
}

/// How often a [`PullPolicy::Refresh`] pulls again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshPeriod {
    Daily,
    Weekly,
    /// `every_<duration>`, the duration as written (`12h`, `1w`).
    Every(String),
}

impl PullPolicy {
    /// A `pull_policy` as written; None if compose would not accept it.
    pub fn parse(text: &str) -> Option<PullPolicy> {
        Some(match text {
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            "missing" | "if_not_present" => PullPolicy::Missing,
            "build" => PullPolicy::Build,
            "refresh" => PullPolicy::Refresh(None),
            "daily" => PullPolicy::Refresh(Some(RefreshPeriod::Daily)),
            "weekly" => PullPolicy::Refresh(Some(RefreshPeriod::Weekly)),
            _ => {
                let every = text.strip_prefix("every_")?;
                PullPolicy::Refresh(Some(RefreshPeriod::Every(every.to_string())))
            }
        })
    }
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PullPolicy::Always => f.write_str("always"),
            PullPolicy::Never => f.write_str("never"),
            PullPolicy::Missing => f.write_str("missing"),
            PullPolicy::Build => f.write_str("build"),
            PullPolicy::Refresh(None) => f.write_str("refresh"),
            PullPolicy::Refresh(Some(RefreshPeriod::Daily)) => f.write_str("daily"),
            PullPolicy::Refresh(Some(RefreshPeriod::Weekly)) => f.write_str("weekly"),
            PullPolicy::Refresh(Some(RefreshPeriod::Every(d))) => write!(f, "every_{d}"),
        }
    }
}

impl Serialize for PullPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `restart`: what the engine does when a container's main process exits.
/// Printed as written: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Restart {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// After a non-zero exit, at most N times when N is given.
    OnFailure(Option<u32>),
}

impl Restart {
    /// A `restart` value as written; None if it is not a policy.
    pub fn parse(text: &str) -> Option<Restart> {
        match text.split_once(':') {
            None => match text {
                "no" => Some(Restart::No),
                "always" => Some(Restart::Always),
                "unless-stopped" => Some(Restart::UnlessStopped),
                "on-failure" => Some(Restart::OnFailure(None)),
                _ => None,
            },
            Some(("on-failure", n)) => n.parse().ok().map(|n| Restart::OnFailure(Some(n))),
            Some(_) => None,
        }
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Restart::No => f.write_str("no"),
            Restart::Always => f.write_str("always"),
            Restart::UnlessStopped => f.write_str("unless-stopped"),
            Restart::OnFailure(None) => f.write_str("on-failure"),
            Restart::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
        }
    }
}

impl Serialize for Restart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `cgroup`: whether the container gets its own cgroup namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cgroup {
    Host,
    Private,
}

impl Cgroup {
    /// `host` or `private`; None for anything else.
    pub fn parse(text: &str) -> Option<Cgroup> {
        match text {
            "host" => Some(Cgroup::Host),
            "private" => Some(Cgroup::Private),
            _ => None,
        }
    }
}

/// Why one service waits for another, and where the user said so.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub to: String,
    pub kind: EdgeKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    DependsOn,
    Link,
    VolumesFrom,
    NetworkMode,
    /// `ipc: service:x`.
    Ipc,
    /// `pid: service:x`.
    Pid,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::DependsOn => "depends_on",
            EdgeKind::Link => "links",
            EdgeKind::VolumesFrom => "volumes_from",
            EdgeKind::NetworkMode => "network_mode",
            EdgeKind::Ipc => "ipc",
            EdgeKind::Pid => "pid",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::enum_variant_names,
    reason = "compose's own names: service_started, service_healthy, ..."
)]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    #[serde(skip_serializing_if = "is_false")]
    pub restart: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Build {
    pub context: String,
    pub dockerfile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    /// An arg written without a value has taken it from the environment, or
    /// been dropped when the variable is not set, as compose does.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub args: Map<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: Map<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<Bytes>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub pull: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub no_cache: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<String>,
    /// As written (`true`, `mode=max`); compose prints it as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_cache_filter: Vec<String>,
    /// Name to a path (absolute) or a URL such as `docker-image://alpine`.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub additional_contexts: Map<String>,
    /// Build secrets: no default target, unlike a service's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub ulimits: Map<Ulimit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Port {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    pub target: u16,
    /// Text, since it may be a range (`"9000-9001"`) or empty for a random port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
    Npipe,
    Cluster,
    Image,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceVolume {
    #[serde(rename = "type")]
    pub kind: MountType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageOptions>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub create_host_path: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: Map<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Healthcheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    #[serde(skip_serializing_if = "is_false")]
    pub disable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ulimit {
    Single(i64),
    Range { soft: i64, hard: i64 },
}

/// compose treats a zero as unset: `nproc: 0` prints `{}`, and a zero soft or
/// hard limit is left out of the mapping.
impl Serialize for Ulimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (soft, hard) = match *self {
            Ulimit::Single(n) if n != 0 => return s.serialize_i64(n),
            Ulimit::Single(_) => (0, 0),
            Ulimit::Range { soft, hard } => (soft, hard),
        };
        let mut m = s.serialize_map(None)?;
        if soft != 0 {
            m.serialize_entry("soft", &soft)?;
        }
        if hard != 0 {
            m.serialize_entry("hard", &hard)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightDevice {
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Weight")]
    pub weight: u16,
}

/// compose prints throttle devices with Go's field names (`Path`, `Rate`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrottleDevice {
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Rate")]
    pub rate: Bytes,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlkioConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<ThrottleDevice>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// An option written without a value is the empty string, as in compose.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub options: Map<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub source: String,
    pub target: String,
    /// The short syntax defaults to `rwm`; the long one leaves it to the engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
}

/// A secret or config as a service uses it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRef {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
    /// sha256 (hex) of the content a plain engine copies into the container
    /// (an object from `environment` or `content`): part of the config hash,
    /// so that a changed value recreates the container. berth's own, never
    /// printed by `config`.
    #[serde(skip)]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceSpec {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_float")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RestartPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_float")]
    pub max_failure_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Preference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Placement {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<Preference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas_per_node: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: Map<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdateConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_config: Option<UpdateConfig>,
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// compose prints `placement: {}` when a deploy section exists.
    pub placement: Placement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub aux_addresses: Map<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    /// Passed to the engine, but compose does not print it.
    #[serde(skip)]
    pub options: Map<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: Map<String>,
    /// compose prints `ipam: {}` even when nothing is set.
    pub ipam: Ipam,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: Map<String>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: Map<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: Map<String>,
    #[serde(skip)]
    pub span: Span,
}

/// A top-level secret or config.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileObject {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: Map<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: Map<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_driver: Option<String>,
    /// The value of the variable `environment` names, when it is set: the
    /// object's content. berth's own, never printed.
    #[serde(skip)]
    pub value: Option<String>,
    /// Where the object is declared (its key), for errors about it.
    #[serde(skip)]
    pub span: Span,
}

impl FileObject {
    /// The content the stack itself holds for the object, with no file read:
    /// its `content:`, or the value of the variable its `environment:` names
    /// (`Err` with that name when it is not set). None for an object that
    /// has neither (a `file:`, an external or a driver's object).
    pub fn inline_content(&self) -> Option<Result<&str, &str>> {
        if let Some(var) = &self.environment {
            Some(self.value.as_deref().ok_or(var.as_str()))
        } else {
            self.content.as_deref().map(Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policies_print_as_compose_prints_them() {
        for (written, printed) in [
            ("always", "always"),
            ("never", "never"),
            ("missing", "missing"),
            ("if_not_present", "missing"),
            ("build", "build"),
            ("refresh", "refresh"),
            ("daily", "daily"),
            ("weekly", "weekly"),
            ("every_12h", "every_12h"),
        ] {
            let policy = PullPolicy::parse(written).unwrap();
            assert_eq!(policy.to_string(), printed);
            assert_eq!(serde_json::to_value(&policy).unwrap(), printed);
        }
        assert_eq!(
            PullPolicy::parse("weekly"),
            Some(PullPolicy::Refresh(Some(RefreshPeriod::Weekly)))
        );
        assert_eq!(PullPolicy::parse("sometimes"), None);
        assert_eq!(PullPolicy::parse("Always"), None);
    }

    #[test]
    fn restart_policies_print_as_written() {
        for text in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:5",
        ] {
            let restart = Restart::parse(text).unwrap();
            assert_eq!(restart.to_string(), text);
            assert_eq!(serde_json::to_value(restart).unwrap(), text);
        }
        assert_eq!(
            Restart::parse("on-failure:3"),
            Some(Restart::OnFailure(Some(3)))
        );
        for bad in ["sometimes", "always:3", "on-failure:x", "on-failure:-1", ""] {
            assert_eq!(Restart::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cgroup_modes_are_host_and_private() {
        assert_eq!(Cgroup::parse("host"), Some(Cgroup::Host));
        assert_eq!(
            serde_json::to_value(Cgroup::parse("private").unwrap()).unwrap(),
            "private"
        );
        assert_eq!(Cgroup::parse("shared"), None);
    }
}
