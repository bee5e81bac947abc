//! The stack file as written: a serde mirror of the Compose Specification.
//!
//! Every key a user may write has a field here, in short and long syntax, so that
//! the JSON Schema (`schema/stack.schema.json`) can be generated from these types
//! and editors can complete stack files. Nothing is checked here beyond types:
//! meaning (ports, sizes, references) is checked in `load::resolve`.
//!
//! Values that compose accepts as either text or number (ports, sizes, durations)
//! are read as [`Text`]; `Spanned` marks values whose later checks need to point
//! back at the file.

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Spanned;

/// `x-` keys are allowed wherever the spec allows extensions.
macro_rules! ext {
    () => {
        r"^x-"
    };
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "berth stack file", extend("patternProperties" = { ext!(): {} }))]
/// A berth stack file (Compose Specification).
#[allow(
    dead_code,
    reason = "the whole file's shape, for the JSON Schema: the loader types each section on its own"
)]
pub struct File {
    /// Obsolete; accepted with a warning.
    pub version: Option<Text>,
    /// Project name.
    pub name: Option<Spanned<String>>,
    pub include: Option<Vec<Spanned<Include>>>,
    pub services: Option<IndexMap<String, Option<Service>>>,
    pub networks: Option<IndexMap<String, Option<Network>>>,
    pub volumes: Option<IndexMap<String, Option<Volume>>>,
    pub secrets: Option<IndexMap<String, Option<SecretOrConfig>>>,
    pub configs: Option<IndexMap<String, Option<SecretOrConfig>>>,
}

/// A string, number or boolean, kept as the text compose would see.
#[derive(Debug, Clone, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transparent)]
pub struct Text(#[schemars(with = "StringOrNumberSchema")] pub String);

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum StringOrNumberSchema {
    S(String),
    N(f64),
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
        Ok(Text(crate::model::units::go_float(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// A number kept exactly as written (`0440` stays `0440`, where `Text` would hold
/// the 440 the YAML core schema reads): compose reads a file mode with a leading
/// `0` as octal, as Go does.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Verbatim(#[schemars(with = "StringOrNumberSchema")] pub String);

impl<'de> Deserialize<'de> for Verbatim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Verbatim, D::Error> {
        d.deserialize_str(TextVisitor).map(|t| Verbatim(t.0))
    }
}

/// Defines a type that is either one string (short syntax) or something longer.
/// `$list` handles a sequence, `$map` a mapping; either may be absent.
macro_rules! one_of {
    (
        $(#[$meta:meta])*
        $name:ident, $expecting:literal,
        str($s:ident) => $str_body:expr
        $(, seq($sq:ident) => $seq_body:expr)?
        $(, map($mp:ident) => $map_body:expr)?
    ) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        let $s = v.to_string();
                        Ok($str_body)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        self.visit_str(&crate::model::units::go_float(v))
                    }
                    $(
                    fn visit_seq<A: SeqAccess<'de>>(self, $sq: A) -> Result<$name, A::Error> {
                        Ok($seq_body)
                    }
                    )?
                    $(
                    fn visit_map<A: MapAccess<'de>>(self, $mp: A) -> Result<$name, A::Error> {
                        Ok($map_body)
                    }
                    )?
                }
                d.deserialize_any(V)
            }
        }
    };
}

fn seq<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(a: A) -> Result<T, A::Error> {
    T::deserialize(de::value::SeqAccessDeserializer::new(a))
}

fn map<'de, T: Deserialize<'de>, A: MapAccess<'de>>(a: A) -> Result<T, A::Error> {
    T::deserialize(de::value::MapAccessDeserializer::new(a))
}

/// `command: echo hi` or `command: [echo, hi]`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Command {
    Shell(String),
    Exec(Vec<Text>),
}
one_of!(Command, "a string or a list of strings",
    str(s) => Command::Shell(s),
    seq(a) => Command::Exec(seq(a)?));

/// One string or a list of them (`dns`, `tmpfs`, `env_file` ...).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<Spanned<Text>>),
}
one_of!(OneOrMany, "a string or a list of strings",
    str(s) => OneOrMany::One(s),
    seq(a) => OneOrMany::Many(seq(a)?));

/// `KEY=VALUE` lines or a mapping (`environment`, `labels`, `args` ...).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ListOrDict {
    List(Vec<Spanned<Text>>),
    Dict(IndexMap<Spanned<String>, Option<Text>>),
}
impl<'de> Deserialize<'de> for ListOrDict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ListOrDict, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ListOrDict;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping or a list of KEY=VALUE strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<ListOrDict, A::Error> {
                Ok(ListOrDict::List(seq(a)?))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<ListOrDict, A::Error> {
                Ok(ListOrDict::Dict(map(a)?))
            }
        }
        d.deserialize_any(V)
    }
}

/// `extra_hosts`: `host:ip` or `host=ip` lines (`ip` may be a comma-separated
/// list), or a mapping of host to one address or a list of them.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ExtraHosts {
    List(Vec<Spanned<Text>>),
    Map(IndexMap<String, Option<OneOrMany>>),
}
impl<'de> Deserialize<'de> for ExtraHosts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExtraHosts, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtraHosts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of \"host:ip\" strings or a mapping of host to address")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<ExtraHosts, A::Error> {
                Ok(ExtraHosts::List(seq(a)?))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<ExtraHosts, A::Error> {
                Ok(ExtraHosts::Map(map(a)?))
            }
        }
        d.deserialize_any(V)
    }
}

/// `extends: base` or `extends: {file: common.yaml, service: base}`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendsLong {
    pub service: String,
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Extends {
    Service(String),
    Long(ExtendsLong),
}
one_of!(Extends, "a service name or a mapping with `service` and `file`",
    str(s) => Extends::Service(s),
    map(a) => Extends::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncludeLong {
    pub path: OneOrMany,
    pub env_file: Option<OneOrMany>,
    pub project_directory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Include {
    Path(String),
    Long(IncludeLong),
}
one_of!(Include, "a path or a mapping with `path`",
    str(s) => Include::Path(s),
    map(a) => Include::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildLong {
    pub context: Option<String>,
    pub dockerfile: Option<String>,
    pub dockerfile_inline: Option<String>,
    pub entitlements: Option<Spanned<Vec<String>>>,
    pub args: Option<ListOrDict>,
    pub provenance: Option<Spanned<Text>>,
    pub sbom: Option<Spanned<Text>>,
    pub target: Option<String>,
    pub labels: Option<ListOrDict>,
    pub cache_from: Option<Vec<String>>,
    pub cache_to: Option<Spanned<Vec<String>>>,
    pub network: Option<String>,
    pub shm_size: Option<Spanned<Text>>,
    pub extra_hosts: Option<Spanned<ExtraHosts>>,
    pub pull: Option<bool>,
    pub no_cache: Option<bool>,
    pub no_cache_filter: Option<Spanned<OneOrMany>>,
    pub platforms: Option<Spanned<Vec<String>>>,
    pub tags: Option<Spanned<Vec<String>>>,
    pub ssh: Option<Spanned<ListOrDict>>,
    pub secrets: Option<Vec<Spanned<ServiceFileRef>>>,
    pub additional_contexts: Option<Spanned<ListOrDict>>,
    pub isolation: Option<Spanned<String>>,
    pub privileged: Option<Spanned<bool>>,
    pub ulimits: Option<IndexMap<String, Spanned<Ulimit>>>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Build {
    Context(String),
    Long(Box<BuildLong>),
}
one_of!(Build, "a build context path or a mapping",
    str(s) => Build::Context(s),
    map(a) => Build::Long(Box::new(map(a)?)));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvFileLong {
    pub path: String,
    pub required: Option<bool>,
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum EnvFileEntry {
    Path(String),
    Long(EnvFileLong),
}
one_of!(EnvFileEntry, "a path or a mapping with `path` and `required`",
    str(s) => EnvFileEntry::Path(s),
    map(a) => EnvFileEntry::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum EnvFile {
    One(String),
    Many(Vec<Spanned<EnvFileEntry>>),
}
one_of!(EnvFile, "a path or a list of paths",
    str(s) => EnvFile::One(s),
    seq(a) => EnvFile::Many(seq(a)?));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortLong {
    pub name: Option<String>,
    pub mode: Option<String>,
    pub host_ip: Option<String>,
    pub target: Option<Spanned<Text>>,
    pub published: Option<Spanned<Text>>,
    pub protocol: Option<String>,
    pub app_protocol: Option<String>,
}

/// `"127.0.0.1:8080:80/tcp"`, `80`, or the long form.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Port {
    Short(String),
    Long(PortLong),
}
one_of!(Port, "a port (\"8080:80\") or a mapping with `target`",
    str(s) => Port::Short(s),
    map(a) => Port::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeBindOptions {
    pub propagation: Option<String>,
    pub create_host_path: Option<bool>,
    pub selinux: Option<String>,
    pub recursive: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeVolumeOptions {
    pub nocopy: Option<bool>,
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeTmpfsOptions {
    pub size: Option<Spanned<Text>>,
    pub mode: Option<Spanned<Verbatim>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeImageOptions {
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceVolumeLong {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub source: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub read_only: Option<bool>,
    pub consistency: Option<String>,
    pub bind: Option<VolumeBindOptions>,
    pub volume: Option<VolumeVolumeOptions>,
    pub tmpfs: Option<VolumeTmpfsOptions>,
    pub image: Option<VolumeImageOptions>,
}

/// `./data:/data:ro`, `named:/data`, `/anon`, or the long form.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ServiceVolume {
    Short(String),
    Long(Box<ServiceVolumeLong>),
}
one_of!(ServiceVolume, "a volume (\"src:dst[:mode]\") or a mapping with `type`",
    str(s) => ServiceVolume::Short(s),
    map(a) => ServiceVolume::Long(Box::new(map(a)?)));

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    pub aliases: Option<Vec<String>>,
    pub ipv4_address: Option<Spanned<String>>,
    pub ipv6_address: Option<Spanned<String>>,
    pub link_local_ips: Option<Vec<String>>,
    pub mac_address: Option<String>,
    pub driver_opts: Option<IndexMap<String, Text>>,
    pub priority: Option<i64>,
    pub gw_priority: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ServiceNetworks {
    List(Vec<Spanned<String>>),
    Map(IndexMap<Spanned<String>, Spanned<Option<ServiceNetwork>>>),
}
impl<'de> Deserialize<'de> for ServiceNetworks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ServiceNetworks, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ServiceNetworks;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of network names or a mapping")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<ServiceNetworks, A::Error> {
                Ok(ServiceNetworks::List(seq(a)?))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<ServiceNetworks, A::Error> {
                Ok(ServiceNetworks::Map(map(a)?))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub condition: Option<Spanned<String>>,
    pub restart: Option<bool>,
    pub required: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum DependsOn {
    List(Vec<Spanned<String>>),
    Map(IndexMap<Spanned<String>, Dependency>),
}
impl<'de> Deserialize<'de> for DependsOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DependsOn, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DependsOn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of service names or a mapping of service to condition")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<DependsOn, A::Error> {
                Ok(DependsOn::List(seq(a)?))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<DependsOn, A::Error> {
                Ok(DependsOn::Map(map(a)?))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    pub test: Option<Command>,
    pub interval: Option<Spanned<Text>>,
    pub timeout: Option<Spanned<Text>>,
    pub retries: Option<Spanned<Text>>,
    pub start_period: Option<Spanned<Text>>,
    pub start_interval: Option<Spanned<Text>>,
    pub disable: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UlimitLong {
    pub soft: Text,
    pub hard: Text,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Ulimit {
    Single(String),
    Long(UlimitLong),
}
one_of!(Ulimit, "a number or a mapping with `soft` and `hard`",
    str(s) => Ulimit::Single(s),
    map(a) => Ulimit::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightDevice {
    pub path: String,
    pub weight: Spanned<Text>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleDevice {
    pub path: Spanned<String>,
    pub rate: Spanned<Text>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlkioConfig {
    pub weight: Option<Spanned<Text>>,
    pub weight_device: Option<Vec<WeightDevice>>,
    pub device_read_bps: Option<Vec<ThrottleDevice>>,
    pub device_write_bps: Option<Vec<ThrottleDevice>>,
    pub device_read_iops: Option<Vec<ThrottleDevice>>,
    pub device_write_iops: Option<Vec<ThrottleDevice>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    pub driver: Option<String>,
    pub options: Option<IndexMap<String, Option<Text>>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRefLong {
    pub source: Spanned<String>,
    pub target: Option<String>,
    pub uid: Option<Text>,
    pub gid: Option<Text>,
    pub mode: Option<Spanned<Verbatim>>,
}

/// A secret or config used by a service: its name, or the long form.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum ServiceFileRef {
    Name(String),
    Long(FileRefLong),
}
one_of!(ServiceFileRef, "a name or a mapping with `source`",
    str(s) => ServiceFileRef::Name(s),
    map(a) => ServiceFileRef::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceLong {
    pub source: String,
    pub target: Option<String>,
    pub permissions: Option<String>,
}

#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Device {
    Short(String),
    Long(DeviceLong),
}
one_of!(Device, "a device (\"/dev/x:/dev/y:rwm\") or a mapping with `source`",
    str(s) => Device::Short(s),
    map(a) => Device::Long(map(a)?));

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub cpus: Option<Spanned<Text>>,
    pub memory: Option<Spanned<Text>>,
    pub pids: Option<Spanned<Text>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub limits: Option<ResourceSpec>,
    pub reservations: Option<ResourceSpec>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    pub condition: Option<String>,
    pub delay: Option<Spanned<Text>>,
    pub max_attempts: Option<Spanned<Text>>,
    pub window: Option<Spanned<Text>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    pub parallelism: Option<Spanned<Text>>,
    pub delay: Option<Spanned<Text>>,
    pub failure_action: Option<String>,
    pub monitor: Option<Spanned<Text>>,
    pub max_failure_ratio: Option<Spanned<Text>>,
    pub order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preference {
    pub spread: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub constraints: Option<Vec<String>>,
    pub preferences: Option<Vec<Preference>>,
    pub max_replicas_per_node: Option<Spanned<Text>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    pub mode: Option<Spanned<String>>,
    pub replicas: Option<Spanned<Text>>,
    pub endpoint_mode: Option<String>,
    pub labels: Option<ListOrDict>,
    pub resources: Option<Resources>,
    pub restart_policy: Option<RestartPolicy>,
    pub update_config: Option<UpdateConfig>,
    pub rollback_config: Option<UpdateConfig>,
    pub placement: Option<Placement>,
}

/// `develop`: what `berth watch` does when the service's files change.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct Develop {
    pub watch: Option<Vec<Spanned<WatchRule>>>,
}

/// One `develop.watch` rule: a path on the host and what a change under it
/// does (`sync`, `rebuild`, `restart`, `sync+restart`, `sync+exec`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct WatchRule {
    pub path: Spanned<String>,
    #[schemars(extend("enum" = ["sync", "rebuild", "restart", "sync+restart", "sync+exec"]))]
    pub action: Spanned<String>,
    pub target: Option<Spanned<String>>,
    pub ignore: Option<OneOrMany>,
    pub include: Option<OneOrMany>,
    pub initial_sync: Option<bool>,
    pub exec: Option<Spanned<ServiceHook>>,
}

/// A command run in the service's containers (`develop.watch[].exec`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct ServiceHook {
    /// compose prints `command: null` for a watch rule without a hook, and
    /// reads that back: a hook with a null command is no hook.
    pub command: Option<Spanned<Command>>,
    pub user: Option<Text>,
    /// A boolean, or a string compose reads as one (`"true"`).
    pub privileged: Option<Spanned<Text>>,
    pub working_dir: Option<String>,
    pub environment: Option<ListOrDict>,
}

/// One service: a container definition.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct Service {
    pub image: Option<Spanned<String>>,
    pub build: Option<Spanned<Build>>,
    pub command: Option<Spanned<Command>>,
    pub entrypoint: Option<Spanned<Command>>,
    pub environment: Option<ListOrDict>,
    pub env_file: Option<Spanned<EnvFile>>,
    pub ports: Option<Vec<Spanned<Port>>>,
    pub expose: Option<Vec<Spanned<Text>>>,
    pub volumes: Option<Vec<Spanned<ServiceVolume>>>,
    pub tmpfs: Option<Spanned<OneOrMany>>,
    pub networks: Option<ServiceNetworks>,
    pub depends_on: Option<DependsOn>,
    pub links: Option<Vec<Spanned<String>>>,
    pub external_links: Option<Vec<String>>,
    pub restart: Option<Spanned<String>>,
    pub healthcheck: Option<Healthcheck>,
    pub labels: Option<ListOrDict>,
    pub container_name: Option<Spanned<String>>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub user: Option<Text>,
    pub working_dir: Option<String>,
    pub init: Option<bool>,
    pub stop_signal: Option<String>,
    pub stop_grace_period: Option<Spanned<Text>>,
    pub cpu_shares: Option<Spanned<Text>>,
    pub cpuset: Option<Spanned<Text>>,
    pub cpus: Option<Spanned<Text>>,
    pub cpu_quota: Option<Spanned<Text>>,
    pub cpu_period: Option<Spanned<Text>>,
    pub cpu_count: Option<Spanned<Text>>,
    pub cpu_percent: Option<Spanned<Text>>,
    pub cpu_rt_runtime: Option<Spanned<Text>>,
    pub cpu_rt_period: Option<Spanned<Text>>,
    pub mem_limit: Option<Spanned<Text>>,
    pub memswap_limit: Option<Spanned<Text>>,
    pub mem_reservation: Option<Spanned<Text>>,
    pub mem_swappiness: Option<Spanned<Text>>,
    pub oom_kill_disable: Option<bool>,
    pub oom_score_adj: Option<Spanned<Text>>,
    pub blkio_config: Option<BlkioConfig>,
    pub pids_limit: Option<Spanned<Text>>,
    pub shm_size: Option<Spanned<Text>>,
    pub ulimits: Option<IndexMap<String, Spanned<Ulimit>>>,
    pub sysctls: Option<ListOrDict>,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub privileged: Option<bool>,
    pub read_only: Option<bool>,
    pub security_opt: Option<Vec<String>>,
    pub devices: Option<Vec<Spanned<Device>>>,
    pub dns: Option<Spanned<OneOrMany>>,
    pub dns_search: Option<OneOrMany>,
    pub dns_opt: Option<Vec<String>>,
    pub extra_hosts: Option<Spanned<ExtraHosts>>,
    pub network_mode: Option<Spanned<String>>,
    pub ipc: Option<Spanned<String>>,
    pub pid: Option<Spanned<String>>,
    pub uts: Option<String>,
    pub userns_mode: Option<String>,
    pub cgroup: Option<Spanned<String>>,
    pub cgroup_parent: Option<String>,
    pub isolation: Option<String>,
    pub mac_address: Option<String>,
    pub volumes_from: Option<Vec<Spanned<String>>>,
    pub logging: Option<Logging>,
    pub tty: Option<bool>,
    pub stdin_open: Option<bool>,
    pub profiles: Option<Vec<String>>,
    pub scale: Option<Spanned<Text>>,
    pub pull_policy: Option<Spanned<String>>,
    pub platform: Option<Spanned<String>>,
    pub runtime: Option<String>,
    pub secrets: Option<Vec<Spanned<ServiceFileRef>>>,
    pub configs: Option<Vec<Spanned<ServiceFileRef>>>,
    pub deploy: Option<Deploy>,
    pub develop: Option<Develop>,
    pub extends: Option<Spanned<Extends>>,
    pub group_add: Option<Vec<Text>>,
    pub storage_opt: Option<IndexMap<String, Text>>,
    pub annotations: Option<ListOrDict>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub aux_addresses: Option<IndexMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Option<Vec<IpamPool>>,
    pub options: Option<IndexMap<String, Text>>,
}

/// `external: true`, or the obsolete `external: {name: x}`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum External {
    Flag(bool),
    Named { name: String },
}
impl<'de> Deserialize<'de> for External {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<External, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Named {
            name: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = External;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<External, E> {
                Ok(External::Flag(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<External, A::Error> {
                let n: Named = map(a)?;
                Ok(External::Named { name: n.name })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct Network {
    pub name: Option<Spanned<String>>,
    pub driver: Option<String>,
    pub driver_opts: Option<IndexMap<String, Text>>,
    pub external: Option<Spanned<External>>,
    pub internal: Option<bool>,
    pub attachable: Option<bool>,
    pub enable_ipv4: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub ipam: Option<Ipam>,
    pub labels: Option<ListOrDict>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct Volume {
    pub name: Option<Spanned<String>>,
    pub driver: Option<String>,
    pub driver_opts: Option<IndexMap<String, Text>>,
    pub external: Option<Spanned<External>>,
    pub labels: Option<ListOrDict>,
}

/// A top-level secret or config: where its content comes from.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("patternProperties" = { ext!(): {} }))]
pub struct SecretOrConfig {
    pub name: Option<String>,
    pub file: Option<Spanned<String>>,
    pub environment: Option<Spanned<String>>,
    pub content: Option<String>,
    pub external: Option<Spanned<External>>,
    pub labels: Option<ListOrDict>,
    pub driver: Option<String>,
    pub driver_opts: Option<IndexMap<String, Text>>,
    pub template_driver: Option<String>,
}
