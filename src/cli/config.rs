//! `berth config` and `berth validate`: print or check the normalised stack.
//!
//! `config` also prints what compose's `config` flags print: the names of
//! services, volumes, networks, profiles and images, each service's config hash, the
//! variables interpolation used, the merged files uninterpolated, and the
//! stack with its images pinned to digests (read from the local engine).

use std::path::{Path, PathBuf};

use super::session::{Needs, Session, load_stack_as};
use super::{Error, Global, Outcome, load_stack, print_out};
use crate::model::stack::Stack;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Stack file (same as -f)
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line
    #[arg(long)]
    pub networks: bool,
    /// Print every profile a service names, enabled or not, one per line
    // Its own id: `profiles` is the global `--profile`'s.
    #[arg(long = "profiles", id = "list_profiles")]
    pub list_profiles: bool,
    /// Print each service's image (`<project>-<service>` for one only
    /// built), one per line
    #[arg(long)]
    pub images: bool,
    /// Print `SERVICE HASH` for these services (comma-separated, or `*`
    /// for all): berth's config hash, the `io.berth.config-hash` label of
    /// their containers
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
    /// Print the variables interpolation uses (the environment, the env
    /// files, COMPOSE_PROJECT_NAME), `NAME=value`, sorted
    #[arg(long)]
    pub environment: bool,
    /// Print the merged stack files with their `${VAR}`s as written (not
    /// normalised or validated: that needs the values)
    #[arg(long, conflicts_with = "swarm")]
    pub no_interpolate: bool,
    /// Pin each service's `image` to its registry digest
    /// (`docker.io/library/redis:7@sha256:...`), read from the local
    /// engine's copy of the image (`RepoDigests`)
    #[arg(long)]
    pub resolve_image_digests: bool,
    /// Write what would be printed to FILE instead
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only validate; print nothing when the stack is valid
    #[arg(short, long)]
    pub quiet: bool,
    /// Print what `up --swarm` would send (overlay networks and service
    /// specs, as JSON), with a warning for each key Swarm cannot honour
    #[arg(long)]
    pub swarm: bool,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Stack file (same as -f)
    pub file: Option<PathBuf>,
}

pub fn validate(global: &Global, args: ValidateArgs) -> Result<Outcome, Error> {
    load_stack(global, args.file.as_ref())?;
    Ok(Outcome::Success)
}

pub fn run(global: &Global, args: ConfigArgs) -> Result<Outcome, Error> {
    let loaded = load_stack_as(global, args.file.as_ref(), args.no_interpolate)?;
    if args.quiet {
        return Ok(Outcome::Success);
    }

    let out = Output(args.output.as_deref());
    let stack = &loaded.stack;
    if args.swarm {
        let (specs, diags) = crate::converge::swarm::requests(&loaded);
        let errors = crate::output::print_warnings(diags, &loaded.sources);
        if !errors.is_empty() {
            return Err(Error::diagnostics(errors, Some(&loaded)).then("nothing was changed"));
        }
        out.text(&crate::converge::swarm::requests_json(&specs))?;
        return Ok(Outcome::Success);
    }
    let lines =
        |names: &mut dyn Iterator<Item = String>| -> String { names.map(|n| n + "\n").collect() };
    if let Some(model) = &loaded.uninterpolated {
        // Only the merged files exist; the lists come from them.
        let keys = |key: &str| -> String {
            lines(
                &mut model[key]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            )
        };
        let text = if args.services {
            keys("services")
        } else if args.volumes {
            keys("volumes")
        } else if args.networks {
            keys("networks")
        } else if args.list_profiles {
            lines(&mut loaded.profiles.iter().cloned())
        } else if args.images || args.hash.is_some() || args.environment {
            return Err(Error::message(
                "--no-interpolate goes with --services, --volumes, --networks or the whole \
                 stack; --images, --hash and --environment need the interpolated stack",
            ));
        } else if args.resolve_image_digests {
            return Err(Error::message(
                "--resolve-image-digests needs the interpolated stack (the image names); \
                 leave out --no-interpolate",
            ));
        } else {
            match args.format {
                Format::Json => serde_json::to_string_pretty(model).unwrap_or_default() + "\n",
                Format::Yaml => crate::output::to_yaml(model.clone()),
            }
        };
        out.text(&text)?;
        return Ok(Outcome::Success);
    }
    if args.services {
        out.text(&lines(&mut stack.services.keys().cloned()))?;
        return Ok(Outcome::Success);
    }
    if args.volumes {
        out.text(&lines(&mut stack.volumes.keys().cloned()))?;
        return Ok(Outcome::Success);
    }
    if args.networks {
        out.text(&lines(&mut stack.networks.keys().cloned()))?;
        return Ok(Outcome::Success);
    }
    if args.list_profiles {
        out.text(&lines(&mut loaded.profiles.iter().cloned()))?;
        return Ok(Outcome::Success);
    }
    if let Some(list) = &args.hash {
        out.text(&hashes(stack, list)?)?;
        return Ok(Outcome::Success);
    }
    if args.images {
        let images = stack
            .services
            .values()
            .map(|s| crate::identity::image_ref(stack, s));
        out.text(&lines(&mut images.into_iter()))?;
        return Ok(Outcome::Success);
    }
    if args.environment {
        let mut vars: Vec<String> = loaded
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        vars.sort();
        out.text(&lines(&mut vars.into_iter()))?;
        return Ok(Outcome::Success);
    }
    let pinned;
    let stack = if args.resolve_image_digests {
        // Only this flag talks to the engine: through a session, as every
        // command that does.
        let session = Session::for_project(&stack.name, Needs::read())?;
        pinned = resolve_image_digests(&session, stack)?;
        &pinned
    } else {
        stack
    };
    // Both formats are written straight from the model, not built first.
    let write = |w: &mut dyn std::io::Write| match args.format {
        Format::Json => crate::output::write_json(stack, w),
        Format::Yaml => crate::output::write_yaml(stack, w),
    };
    match out.0 {
        None => write(&mut std::io::stdout().lock()).map_err(|_| Error::broken_pipe())?,
        Some(path) => {
            let mut file = std::fs::File::create(path).map_err(|e| out.error(&e))?;
            write(&mut file).map_err(|e| out.error(&e))?;
        }
    }
    Ok(Outcome::Success)
}

/// Where `config` prints: stdout, or the file of `--output`.
struct Output<'a>(Option<&'a Path>);

impl Output<'_> {
    fn text(&self, text: &str) -> Result<(), Error> {
        match self.0 {
            None => print_out(text),
            Some(path) => std::fs::write(path, text).map_err(|e| self.error(&e)),
        }
    }

    fn error(&self, e: &std::io::Error) -> Error {
        let path = self.0.map(Path::display);
        Error::message(format!(
            "cannot write {}: {e}; check that its directory exists and is writable",
            path.map(|p| p.to_string()).unwrap_or_default()
        ))
    }
}

/// `SERVICE HASH` lines, sorted by service, for `--hash web,db` or `*`.
fn hashes(stack: &Stack, list: &str) -> Result<String, Error> {
    let mut names: Vec<&str> = if list == "*" {
        stack.services.keys().map(String::as_str).collect()
    } else {
        list.split(',').map(str::trim).collect()
    };
    names.sort_unstable();
    let mut out = String::new();
    for name in names {
        let Some(service) = stack.services.get(name) else {
            let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
            return Err(Error::message(format!(
                "no such service: {name}; the stack's services are {} (or `--hash '*'` for all)",
                known.join(", ")
            )));
        };
        out.push_str(&format!(
            "{name} {}\n",
            crate::identity::config_hash(service)
        ));
    }
    Ok(out)
}

/// The stack with each `image` pinned to its digest, read from the local
/// engine (compose asks the registry, which is not always reachable; the
/// local copy is what `up` would run). Every image that cannot be pinned
/// is named in one error.
fn resolve_image_digests(s: &Session, stack: &Stack) -> Result<Stack, Error> {
    let images: Vec<(String, String)> = stack
        .services
        .iter()
        .filter_map(|(name, s)| Some((name.clone(), s.image.clone()?)))
        .collect();
    let found = s.block_on(async {
        let wanted = images
            .iter()
            .filter(|(_, image)| reference::parse(image).digest.is_none());
        if wanted.clone().next().is_none() {
            return Ok(Vec::new());
        }
        let engine = s.connect().await?;
        let mut found = Vec::new();
        for (_, image) in wanted {
            let digests = engine
                .repo_digests(image)
                .await
                .map_err(|e| Error::engine(&e))?;
            found.push((image.clone(), digests));
        }
        Ok::<_, Error>(found)
    })?;
    let mut pinned = stack.clone();
    let mut problems = Vec::new();
    for (service, image) in &images {
        let digests = found.iter().find(|(i, _)| i == image).map(|(_, d)| d);
        match reference::pin(image, digests.and_then(|d| d.as_deref())) {
            Ok(p) => {
                if let Some(s) = pinned.services.get_mut(service) {
                    s.image = Some(p);
                }
            }
            Err(why) => problems.push(format!("service {service}: {why}")),
        }
    }
    if problems.is_empty() {
        Ok(pinned)
    } else {
        Err(Error::message(format!(
            "cannot resolve image digests:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Image references as the Docker CLI reads them, enough to pin one to a
/// digest as compose prints it.
mod reference {
    /// `docker.io/library/redis:7@sha256:...` in parts.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Reference {
        /// The registry and repository: `docker.io/library/redis`.
        pub name: String,
        pub tag: Option<String>,
        pub digest: Option<String>,
    }

    /// A reference with its defaults filled in as Docker's (`redis` is
    /// `docker.io/library/redis`); no tag stays no tag.
    pub fn parse(image: &str) -> Reference {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => {
                (&rest[..i], Some(rest[i + 1..].to_string()))
            }
            _ => (rest, None),
        };
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.to_lowercase() != first =>
            {
                (first, remainder.to_string())
            }
            _ => ("docker.io", name.to_string()),
        };
        let domain = if domain == "index.docker.io" {
            "docker.io"
        } else {
            domain
        };
        let path = if domain == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        Reference {
            name: format!("{domain}/{path}"),
            tag,
            digest,
        }
    }

    /// `image` pinned as compose pins it: `name:tag@digest` (tag `latest`
    /// when none), or `name@digest` when it had a digest already.
    /// `repo_digests` is the local image's `RepoDigests`, None when it is
    /// not present locally.
    pub fn pin(image: &str, repo_digests: Option<&[String]>) -> Result<String, String> {
        let r = parse(image);
        if let Some(digest) = r.digest {
            return Ok(format!("{}@{digest}", r.name));
        }
        let Some(digests) = repo_digests else {
            return Err(format!(
                "image {image} is not on this engine, so berth cannot read its digest; \
                 pull it first (`berth pull`)"
            ));
        };
        let digest = digests.iter().find_map(|d| {
            let d = parse(d);
            (d.name == r.name).then_some(d.digest).flatten()
        });
        match digest {
            Some(digest) => Ok(format!(
                "{}:{}@{digest}",
                r.name,
                r.tag.as_deref().unwrap_or("latest")
            )),
            None => Err(format!(
                "image {image} has no registry digest: it was built or tagged on this \
                 machine and never pushed to or pulled from {}; push it (`docker push`) \
                 or pull it, then run again",
                r.name.split('/').next().unwrap_or_default()
            )),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn references_get_dockers_defaults() {
            let name = |i: &str| parse(i).name;
            assert_eq!(name("redis"), "docker.io/library/redis");
            assert_eq!(name("me/app:1"), "docker.io/me/app");
            assert_eq!(name("docker.io/redis"), "docker.io/library/redis");
            assert_eq!(name("index.docker.io/me/app"), "docker.io/me/app");
            assert_eq!(name("localhost/app"), "localhost/app");
            assert_eq!(
                name("127.0.0.1:5000/busybox:latest"),
                "127.0.0.1:5000/busybox"
            );
            assert_eq!(name("ghcr.io/o/r/app@sha256:ab"), "ghcr.io/o/r/app");
            assert_eq!(parse("127.0.0.1:5000/busybox").tag, None);
            assert_eq!(parse("redis:7@sha256:ab").tag.as_deref(), Some("7"));
        }

        #[test]
        fn an_image_is_pinned_to_the_digest_of_its_own_repository() {
            let local = vec![
                "other/app@sha256:00".to_string(),
                "redis@sha256:11".to_string(),
            ];
            assert_eq!(
                pin("redis", Some(&local)).unwrap(),
                "docker.io/library/redis:latest@sha256:11"
            );
            assert_eq!(
                pin("redis:7", Some(&local)).unwrap(),
                "docker.io/library/redis:7@sha256:11"
            );
            // Already pinned: compose drops the tag and asks nothing.
            assert_eq!(
                pin("redis:7@sha256:22", None).unwrap(),
                "docker.io/library/redis@sha256:22"
            );
            let none = pin("berth-test/busybox:latest", Some(&[])).unwrap_err();
            assert!(none.contains("has no registry digest"), "{none}");
            assert!(none.contains("docker.io"), "{none}");
            let other = pin("mine:1", Some(&local)).unwrap_err();
            assert!(other.contains("has no registry digest"), "{other}");
            let missing = pin("gone:1", None).unwrap_err();
            assert!(missing.contains("not on this engine"), "{missing}");
        }
    }
}
