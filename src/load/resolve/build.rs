//! A service's `build` section: the context and Dockerfile, args (from the
//! environment when given without a value), additional contexts, build
//! secrets and ulimits, with a warning at each key that berth's builds do
//! not honour, and compose-go's rule that a service's `platform` is one of
//! its `build.platforms`. The build itself is not the loader's: this only
//! reads and checks what the file asks for.

use crate::diag::Diagnostic;
use crate::load::resolve::context::{Context, Defined};
use crate::load::resolve::extra_hosts::extra_hosts;
use crate::load::resolve::file_refs::file_refs;
use crate::load::resolve::lists::{empty_names, labels, list_or_dict, one_or_many, strings};
use crate::load::resolve::resources::ulimits;
use crate::load::resolve::values::bytes;
use crate::model::Spanned;
use crate::model::raw;
use crate::model::stack::*;
use crate::source::Span;

pub(super) fn build(cx: &mut Context, b: &Spanned<raw::Build>, defined: &Defined) -> Build {
    match &b.value {
        raw::Build::Context(c) => Build {
            context: build_context(cx, c),
            dockerfile: "Dockerfile".into(),
            ..Build::default()
        },
        raw::Build::Long(l) => {
            not_honoured(cx, l);
            build_ssh(cx, l);
            Build {
                labels: {
                    empty_names(cx, &l.labels, "build.labels");
                    labels(&l.labels)
                },
                context: build_context(cx, l.context.as_deref().unwrap_or(".")),
                dockerfile: l.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into()),
                dockerfile_inline: l.dockerfile_inline.clone(),
                // An arg without a value takes it from the environment; compose
                // drops it when the variable is not set.
                args: list_or_dict(&l.args, '=')
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let v = v.or_else(|| cx.env.get(&k).cloned())?;
                        Some((k, v))
                    })
                    .collect(),
                target: l.target.clone(),
                cache_from: strings(&l.cache_from),
                cache_to: l
                    .cache_to
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                network: l.network.clone(),
                shm_size: l.shm_size.as_ref().and_then(|s| bytes(cx, s, "shm_size")),
                extra_hosts: extra_hosts(cx, &l.extra_hosts),
                pull: l.pull.unwrap_or(false),
                no_cache: l.no_cache.unwrap_or(false),
                platforms: l
                    .platforms
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                tags: l.tags.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                isolation: l.isolation.as_ref().map(|v| v.value.clone()),
                privileged: l.privileged.as_ref().is_some_and(|v| v.value),
                entitlements: l
                    .entitlements
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                provenance: l.provenance.as_ref().map(|v| v.value.0.clone()),
                sbom: l.sbom.as_ref().map(|v| v.value.0.clone()),
                no_cache_filter: one_or_many(l.no_cache_filter.as_ref().map(|v| &v.value)),
                // Paths are relative to the project directory; other
                // contexts (`docker-image://`, URLs) are kept as written.
                additional_contexts: l
                    .additional_contexts
                    .as_ref()
                    .map(|a| {
                        list_or_dict(&Some(a.value.clone()), '=')
                            .into_iter()
                            .map(|(k, v)| {
                                let v = v.unwrap_or_default();
                                let v = if v.contains("://") {
                                    v
                                } else {
                                    cx.abs_path(&v)
                                };
                                (k, v)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                secrets: file_refs(cx, &l.secrets, &defined.secrets, "build secret", "secrets"),
                ulimits: ulimits(cx, &l.ulimits),
            }
        }
    }
}

/// compose-go's rule: a service's `platform`, when set, is one of its
/// `build.platforms`, when those are listed (compared as written).
pub(super) fn build_platform(cx: &mut Context, s: &raw::Service) {
    let Some(platform) = &s.platform else {
        return;
    };
    let Some(raw::Build::Long(l)) = s.build.as_ref().map(|b| &b.value) else {
        return;
    };
    let Some(platforms) = l.platforms.as_ref().filter(|p| !p.value.is_empty()) else {
        return;
    };
    if platforms.value.contains(&platform.value) {
        return;
    }
    let listed: Vec<String> = platforms.value.iter().map(|p| format!("`{p}`")).collect();
    cx.diagnostics.push(
        Diagnostic::error(format!(
            "`platform: {}` is not among the service's `build.platforms`",
            platform.value
        ))
        .label(platform.span, "not a platform the image is built for")
        .label(platforms.span, "built for these")
        .help(format!(
            "set `platform` to one of {} (spelled the same), or add it to `build.platforms`",
            listed.join(", ")
        )),
    );
}

/// Each `build.ssh` entry is `default` (the SSH agent) or `ID=PATH`, as
/// compose-go reads them; an ID alone is refused there, so here.
fn build_ssh(cx: &mut Context, l: &raw::BuildLong) {
    let Some(raw::ListOrDict::List(entries)) = l.ssh.as_ref().map(|s| &s.value) else {
        return;
    };
    for e in entries {
        let text = &e.value.0;
        if text == "default" || text.contains('=') {
            continue;
        }
        cx.error(
            e.span,
            if text.is_empty() {
                "empty `build.ssh` entry".to_string()
            } else {
                format!("invalid `build.ssh` entry `{text}`")
            },
            "not `default` or `ID=PATH`",
            "write `default` to forward the SSH agent, or `ID=PATH` (such as `github=~/.ssh/id_ed25519`) to forward a key",
        );
    }
}

/// A warning at each `build` key that berth's builds cannot honour: they go
/// to the engine's classic builder (API 1.41), which has no BuildKit
/// features (entitlements, attestations, secrets, SSH, cache exports,
/// several platforms) and whose API berth's client does not give ulimits or
/// isolation. compose hands these to BuildKit.
fn not_honoured(cx: &mut Context, l: &raw::BuildLong) {
    let first_secret = l.secrets.as_ref().and_then(|v| v.first()).map(|v| v.span);
    let first_ulimit = l
        .ulimits
        .as_ref()
        .and_then(|u| u.values().next())
        .map(|v| v.span);
    let privileged = l.privileged.as_ref().filter(|v| v.value).map(|v| v.span);
    // The API takes the size as a 32-bit number of bytes.
    let huge_shm = l.shm_size.as_ref().filter(|s| {
        crate::model::units::parse_bytes(&s.value.0).is_ok_and(|b| b > i64::from(i32::MAX))
    });
    let keys: [(&str, Option<Span>, &str); 14] = [
        (
            "shm_size",
            huge_shm.map(|s| s.span),
            "a build's shm_size is at most 2 GiB - 1 byte",
        ),
        (
            "entitlements",
            l.entitlements.as_ref().map(|v| v.span),
            "no entitlements",
        ),
        (
            "provenance",
            l.provenance.as_ref().map(|v| v.span),
            "no attestations",
        ),
        ("sbom", l.sbom.as_ref().map(|v| v.span), "no attestations"),
        (
            "cache_to",
            l.cache_to.as_ref().map(|v| v.span),
            "no cache exports",
        ),
        (
            "no_cache_filter",
            l.no_cache_filter.as_ref().map(|v| v.span),
            "no cache control per stage",
        ),
        (
            "platforms",
            l.platforms.as_ref().map(|v| v.span),
            "no multi-platform builds",
        ),
        ("tags", l.tags.as_ref().map(|v| v.span), "one tag per build"),
        ("ssh", l.ssh.as_ref().map(|v| v.span), "no SSH forwarding"),
        ("secrets", first_secret, "no build secrets"),
        (
            "additional_contexts",
            l.additional_contexts.as_ref().map(|v| v.span),
            "no named contexts",
        ),
        (
            "isolation",
            l.isolation.as_ref().map(|v| v.span),
            "no isolation setting berth can send",
        ),
        ("privileged", privileged, "no privileged builds"),
        ("ulimits", first_ulimit, "no ulimits berth can send"),
    ];
    for (key, span, why) in keys {
        let Some(span) = span else { continue };
        cx.diagnostics.push(
            Diagnostic::warning(format!(
                "`build.{key}` is not honoured: berth builds with the engine's classic builder (API 1.41): {why}"
            ))
            .label(span, "not honoured")
            .help("remove it, or build the image with `docker buildx build` and name it in `image:`"),
        );
    }
}

/// A build context is a path unless it is a URL (git, http).
fn build_context(cx: &Context, c: &str) -> String {
    if c.contains("://") || c.starts_with("git@") {
        c.to_string()
    } else {
        cx.abs_path(c)
    }
}
