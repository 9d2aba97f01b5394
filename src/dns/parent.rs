//! Watching the parent for a new KSK's DS: while a zone's key rollover waits
//! for the parent to serve the DS of its new KSK, and the zone names the
//! parent's servers, each is asked for the zone's DS every
//! `ds_check_interval_s`; once every one serves a DS of that key, the
//! registry is told through the writer, as the operator would with
//! `dnssec ds-seen`. The answers are not validated: the servers are the
//! operator's choice, and all of them must agree.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::client;

use crate::model::dnssec::{ZoneKey, ds_matches};
use crate::model::rollover::{awaited_ds, ds_ready_at};
use crate::model::{Clock, DomainName};
use crate::registry::{Command, Registry};

/// Runs the watch every `tick` until shutdown.
pub async fn run(registry: Registry, clock: std::sync::Arc<dyn Clock>, tick: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut last_asked: HashMap<DomainName, Instant> = HashMap::new();
    loop {
        let snapshot = registry.snapshot();
        for zone in snapshot.zones() {
            let tld = &zone.tld.name;
            let Ok(Some(signing)) = snapshot.zone_signing(tld) else { continue };
            let Some(key) = awaited_ds(&signing).filter(|_| !signing.parent_servers.is_empty()) else { continue };
            if ds_ready_at(&signing, key).is_none_or(|ready| clock.now() < ready) {
                continue;
            }
            let interval = Duration::from_secs(u64::from(signing.ds_check_interval_s));
            if last_asked.get(tld).is_some_and(|at| at.elapsed() < interval) {
                continue;
            }
            last_asked.insert(tld.clone(), Instant::now());
            let mut everywhere = true;
            for server in &signing.parent_servers {
                match serves_ds(*server, tld, key).await {
                    Ok(true) => {}
                    Ok(false) => everywhere = false,
                    Err(e) => {
                        tracing::info!(%tld, %server, error = %e, "cannot ask a parent server for the DS");
                        everywhere = false;
                    }
                }
            }
            if everywhere {
                let key_tag = key.key_tag();
                match registry.execute(Command::DsSeen { tld: tld.clone(), key_tag }).await {
                    Ok(_) => tracing::info!(%tld, key_tag, "every parent server serves the new KSK's DS"),
                    Err(e) => tracing::warn!(%tld, key_tag, error = %e, "the parent serves the new DS, but the registry refused it"),
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Whether `server` answers the DS query for `tld` with a DS of `key`.
async fn serves_ds(server: SocketAddr, tld: &DomainName, key: &ZoneKey) -> std::io::Result<bool> {
    let owner = tld.to_wire();
    let dnskey = key.dnskey_rdata();
    let answer = client::query(server, &owner, crate::model::zone::rtype::DS, client::Flags::default()).await?;
    Ok(client::answer_rdatas(&answer, crate::model::zone::rtype::DS).iter().any(|ds| ds_matches(ds, &owner, &dnskey)))
}
