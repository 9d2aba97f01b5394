//! RDAP searches (RFC 9082 §3.2): domains by name, name server name or
//! address; name servers by name or address; entities by name or handle.
//! A trailing `*` on the leftmost label matches any ending. Results are
//! bounded (`search_results_max`, with the truncation notice) and so is the
//! work (`search_scan_max` objects looked at); contacts are found by name
//! only where they chose to disclose it, so searches reveal nothing that a
//! lookup would redact.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;

use super::{Rdap, RdapShared, render, request_url};
use crate::model::disclosure::{ContactField, Pattern, disclosed};
use crate::model::{Domain, DomainName, Host};
use crate::rdds;
use crate::store::{Snapshot, StoreError};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Params {
    name: Option<String>,
    ns_ldh_name: Option<String>,
    ns_ip: Option<String>,
    ip: Option<String>,
    #[serde(rename = "fn")]
    full_name: Option<String>,
    handle: Option<String>,
}

/// Why a search is not served.
enum Refusal {
    BadRequest(&'static str),
    Unprocessable(&'static str),
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

/// A name pattern split into the partial leftmost label and the rest: the
/// canonical key prefix it selects (within `parent`, or every TLD when `None`).
struct NamePattern {
    exact: Option<DomainName>,
    label_prefix: String,
    parent: Option<DomainName>,
}

fn name_pattern(text: &str, prefix_min: usize) -> Result<NamePattern, Refusal> {
    let text = text.trim().trim_end_matches('.');
    if !text.contains('*') {
        let exact = rdds::query_name(text).ok_or(Refusal::BadRequest("not a valid name"))?;
        return Ok(NamePattern { exact: Some(exact), label_prefix: String::new(), parent: None });
    }
    let (first, rest) = text.split_once('.').unwrap_or((text, ""));
    let Some(Pattern::Prefix(label_prefix)) = Pattern::parse(first, prefix_min) else {
        return Err(Refusal::Unprocessable("a wildcard must end the leftmost label and follow enough characters"));
    };
    if !label_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Refusal::Unprocessable("partial matches take LDH characters only"));
    }
    let parent = if rest.is_empty() {
        None
    } else {
        Some(rdds::query_name(rest).ok_or(Refusal::BadRequest("not a valid name after the wildcard"))?)
    };
    Ok(NamePattern { exact: None, label_prefix, parent })
}

impl NamePattern {
    fn key_prefixes(&self, snapshot: &Snapshot) -> Vec<Vec<u8>> {
        let parents: Vec<Vec<u8>> = match &self.parent {
            Some(p) => vec![p.canonical_key()],
            None => snapshot.tlds().map(|t| t.name.canonical_key()).collect(),
        };
        parents.into_iter().map(|mut k| (k.extend_from_slice(self.label_prefix.as_bytes()), k).1).collect()
    }

    fn domains(&self, snapshot: &Snapshot, limit: usize) -> Result<Vec<Domain>, StoreError> {
        if let Some(n) = &self.exact {
            return Ok(snapshot.domain(n)?.into_iter().collect());
        }
        let mut out = Vec::new();
        for prefix in self.key_prefixes(snapshot) {
            out.extend(snapshot.domains_with_key_prefix(&prefix, limit - out.len())?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn hosts(&self, snapshot: &Snapshot, limit: usize) -> Result<Vec<Host>, StoreError> {
        if let Some(n) = &self.exact {
            return Ok(snapshot.host_by_name(n)?.into_iter().collect());
        }
        // Name servers live under any TLD, ours or not: `host_pattern` made sure there is a parent.
        let mut out = Vec::new();
        for prefix in self.key_prefixes(snapshot) {
            out.extend(snapshot.hosts_with_key_prefix(&prefix, limit - out.len())?);
        }
        Ok(out)
    }
}

fn ip(text: &str) -> Result<IpAddr, Refusal> {
    text.trim().parse().map_err(|_| Refusal::BadRequest("not an IP address"))
}

/// Hosts with address `addr`, looking at no more than `scan_max` hosts.
fn hosts_with_address(snapshot: &Snapshot, addr: IpAddr, scan_max: usize, limit: usize) -> Result<(Vec<Host>, bool), StoreError> {
    let all = snapshot.hosts(None, scan_max)?;
    let scanned_all = all.len() < scan_max;
    let mut found: Vec<Host> = all.into_iter().filter(|h| h.addrs.contains(&addr)).collect();
    let truncated = found.len() > limit || !scanned_all;
    found.truncate(limit);
    Ok((found, truncated))
}

/// Domains delegated to any of `hosts`.
fn domains_of_hosts(snapshot: &Snapshot, hosts: &[Host], limit: usize) -> Result<Vec<Domain>, StoreError> {
    let mut names: Vec<DomainName> = Vec::new();
    for h in hosts {
        for d in snapshot.host_links(&h.roid, limit + 1)? {
            if !names.contains(&d) {
                names.push(d);
            }
        }
        if names.len() > limit {
            break;
        }
    }
    // One more than asked for tells the caller the results were cut.
    names.truncate(limit + 1);
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        out.extend(snapshot.domain(&n)?);
    }
    Ok(out)
}

/// Name servers looked at when domains are searched by name server name or address.
const NS_HOSTS_MAX: usize = 1000;

fn answer(shared: &RdapShared, url: &str, result: Result<String, Refusal>) -> Rdap {
    match result {
        Ok(v) => Rdap(StatusCode::OK, v),
        Err(Refusal::BadRequest(why)) => shared.error(StatusCode::BAD_REQUEST, why, url),
        Err(Refusal::Unprocessable(why)) => shared.error(StatusCode::UNPROCESSABLE_ENTITY, why, url),
        Err(Refusal::Store(e)) => super::internal(shared, e, url),
    }
}

/// The one search parameter given, or a refusal.
fn one<'a>(allowed: &[(&'static str, &'a Option<String>)]) -> Result<(&'static str, &'a str), Refusal> {
    let given: Vec<(&str, &String)> = allowed.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v))).collect();
    match given.as_slice() {
        [(k, v)] => Ok((k, v.as_str())),
        [] => Err(Refusal::BadRequest("give one search parameter")),
        _ => Err(Refusal::BadRequest("give only one search parameter")),
    }
}

type Run = fn(&RdapShared, &Snapshot, &Params, &render::ResponseBasis) -> Result<String, Refusal>;

/// What every search shares: the request URL, the switch, the parameters,
/// one snapshot, and the mapping of refusals to RDAP errors. A search runs
/// on a blocking thread once it has one of `searches_concurrent_max` turns,
/// so scans never hold up the lookups served on the async threads.
async fn search(shared: Arc<RdapShared>, path: &str, raw: Option<String>, params: Result<Query<Params>, QueryRejection>, run: Run) -> Rdap {
    let url = request_url(&shared, path, raw.as_deref());
    if !shared.config.searches {
        return shared.error(StatusCode::NOT_IMPLEMENTED, "searches are not offered by this service", &url);
    }
    let Ok(Query(params)) = params else { return shared.error(StatusCode::BAD_REQUEST, "unreadable search parameters", &url) };
    let wait = Duration::from_secs(shared.config.idle_timeout_s);
    let Ok(Ok(turn)) = tokio::time::timeout(wait, shared.searches.clone().acquire_owned()).await else {
        tracing::warn!(path, "RDAP searches all busy");
        return shared.error(StatusCode::SERVICE_UNAVAILABLE, "too many searches at once; retry later", &url);
    };
    let (task_shared, task_url) = (shared.clone(), url.clone());
    let task = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let (shared, url) = (&*task_shared, task_url.as_str());
        let snapshot = shared.registry.snapshot();
        let basis = render::ResponseBasis { snapshot: Some(snapshot.memo_id()), ..shared.response_basis(url, shared.clock.now()) };
        answer(shared, url, run(shared, &snapshot, &params, &basis))
    });
    match task.await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, path, "RDAP search failed");
            shared.error(StatusCode::INTERNAL_SERVER_ERROR, "the search failed; try again later", &url)
        }
    }
}

/// A name server name pattern: like [`name_pattern`], and a wildcard must be followed by the domain.
fn host_pattern(text: &str, prefix_min: usize) -> Result<NamePattern, Refusal> {
    let pattern = name_pattern(text, prefix_min)?;
    if pattern.exact.is_none() && pattern.parent.is_none() {
        return Err(Refusal::Unprocessable("a name server pattern needs its domain after the wildcard"));
    }
    Ok(pattern)
}

pub async fn domains(
    State(shared): State<Arc<RdapShared>>,
    RawQuery(raw): RawQuery,
    params: Result<Query<Params>, QueryRejection>,
) -> Rdap {
    search(shared, "/domains", raw, params, |shared, snapshot, params, basis| {
        let (limit, cfg) = (shared.config.search_results_max, &shared.config);
        let (key, value) = one(&[("name", &params.name), ("nsLdhName", &params.ns_ldh_name), ("nsIp", &params.ns_ip)])?;
        let (domains, mut truncated) = match key {
            "name" => (name_pattern(value, cfg.search_prefix_min)?.domains(snapshot, limit + 1)?, false),
            "nsLdhName" => {
                let hosts = host_pattern(value, cfg.search_prefix_min)?.hosts(snapshot, cfg.search_scan_max.min(NS_HOSTS_MAX))?;
                (domains_of_hosts(snapshot, &hosts, limit)?, false)
            }
            _ => {
                let (hosts, truncated) = hosts_with_address(snapshot, ip(value)?, cfg.search_scan_max, NS_HOSTS_MAX)?;
                (domains_of_hosts(snapshot, &hosts, limit)?, truncated)
            }
        };
        truncated |= domains.len() > limit;
        let mut results = Vec::new();
        for d in domains.into_iter().take(limit) {
            results.push(render::domain(&rdds::public_domain(snapshot, d, basis.now)?, basis, false));
        }
        Ok(render::search_results("domainSearchResults", &results, truncated, basis))
    })
    .await
}

pub async fn nameservers(
    State(shared): State<Arc<RdapShared>>,
    RawQuery(raw): RawQuery,
    params: Result<Query<Params>, QueryRejection>,
) -> Rdap {
    search(shared, "/nameservers", raw, params, |shared, snapshot, params, basis| {
        let (limit, cfg) = (shared.config.search_results_max, &shared.config);
        let (key, value) = one(&[("name", &params.name), ("ip", &params.ip)])?;
        let (mut hosts, mut truncated) = if key == "name" {
            (host_pattern(value, cfg.search_prefix_min)?.hosts(snapshot, limit + 1)?, false)
        } else {
            hosts_with_address(snapshot, ip(value)?, cfg.search_scan_max, limit + 1)?
        };
        truncated |= hosts.len() > limit;
        hosts.truncate(limit);
        let mut results = Vec::new();
        for h in hosts {
            results.push(render::host_summary(&rdds::public_host(snapshot, Arc::new(h))?, basis));
        }
        Ok(render::search_results("nameserverSearchResults", &results, truncated, basis))
    })
    .await
}

pub async fn entities(
    State(shared): State<Arc<RdapShared>>,
    RawQuery(raw): RawQuery,
    params: Result<Query<Params>, QueryRejection>,
) -> Rdap {
    search(shared, "/entities", raw, params, |shared, snapshot, params, basis| {
        let (limit, cfg) = (shared.config.search_results_max, &shared.config);
        let (key, value) = one(&[("fn", &params.full_name), ("handle", &params.handle)])?;
        let parse = if key == "handle" { Pattern::parse_keeping_case } else { Pattern::parse };
        let pattern = parse(value, cfg.search_prefix_min)
            .ok_or(Refusal::Unprocessable("a wildcard must end the pattern and follow enough characters"))?;
        let mut results = Vec::new();
        for r in snapshot.registrars()? {
            let hit = if key == "fn" { pattern.matches(&r.name) } else { r.iana_id.is_some_and(|i| pattern.matches(&i.to_string())) };
            if hit {
                results.push(render::registrar_summary(&r, basis));
            }
        }
        let contacts = match (&pattern, key) {
            (Pattern::Exact(id), "handle") => snapshot.contacts_with_prefix(id, 1)?.into_iter().filter(|c| c.id.as_str() == id).collect(),
            (Pattern::Prefix(p), "handle") => snapshot.contacts_with_prefix(p, limit + 1)?,
            _ => snapshot.contacts_with_prefix("", cfg.search_scan_max)?,
        };
        for c in contacts {
            let name = c.postal_int.as_ref().or(c.postal_loc.as_ref()).map(|p| p.name.clone()).unwrap_or_default();
            let hit = key == "handle" || (disclosed(&c, ContactField::Name) && pattern.matches(&name));
            if hit {
                results.push(render::contact_summary(&c, basis));
            }
            if results.len() > limit {
                break;
            }
        }
        let truncated = results.len() > limit;
        results.truncate(limit);
        Ok(render::search_results("entitySearchResults", &results, truncated, basis))
    })
    .await
}
