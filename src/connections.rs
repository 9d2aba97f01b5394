//! Caps on open connections for the TCP services (DNS over TCP, EPP, RDAP,
//! WHOIS): in all, and per client address, so that one address holding
//! thousands of idle or slow connections cannot keep anyone else out. A
//! connection over a cap is answered with its protocol's refusal (EPP 2502,
//! RDAP 503, a WHOIS line) by a small, separately bounded set of refusers,
//! so refusing costs bounded work too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections being refused with an answer at once; beyond it, refused ones are just closed.
pub const REFUSALS_MAX: usize = 32;

pub struct ConnectionCaps {
    all: Arc<Semaphore>,
    all_max: usize,
    per_address_max: usize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    refusals: Arc<Semaphore>,
}

/// Which cap a connection met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    All,
    Address,
    /// EPP: the connections not yet logged in have their share.
    Unauthenticated,
}

impl Over {
    pub fn reason(self) -> &'static str {
        match self {
            Over::All => "the server has as many connections as it takes",
            Over::Address => "too many connections from this address",
            Over::Unauthenticated => "too many connections are waiting to log in",
        }
    }
}

/// One connection's claim on both caps; released on drop.
pub struct ConnectionSlot {
    caps: Arc<ConnectionCaps>,
    addr: IpAddr,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.caps.per_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.addr);
            }
        }
    }
}

impl ConnectionCaps {
    pub fn new(all_max: usize, per_address_max: usize) -> Arc<ConnectionCaps> {
        Arc::new(ConnectionCaps {
            all: Arc::new(Semaphore::new(all_max)),
            all_max,
            per_address_max,
            per_address: Mutex::new(HashMap::new()),
            refusals: Arc::new(Semaphore::new(REFUSALS_MAX)),
        })
    }

    /// A slot for a connection from `addr`, or which cap it is over.
    pub fn claim(self: &Arc<Self>, addr: IpAddr) -> Result<ConnectionSlot, Over> {
        let permit = self.all.clone().try_acquire_owned().map_err(|_| Over::All)?;
        let mut counts = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(addr).or_insert(0);
        if *n >= self.per_address_max {
            return Err(Over::Address);
        }
        *n += 1;
        Ok(ConnectionSlot { caps: self.clone(), addr, _permit: permit })
    }

    /// A turn to answer a refused connection, if not too many are being refused already.
    pub fn refusal(&self) -> Option<OwnedSemaphorePermit> {
        self.refusals.clone().try_acquire_owned().ok()
    }

    /// Waits until every connection has closed.
    pub async fn drained(&self) {
        let all = u32::try_from(self.all_max).unwrap_or(u32::MAX);
        let _ = self.all.acquire_many(all).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_in_all_and_releases_on_drop() {
        let caps = ConnectionCaps::new(3, 2);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let a1 = caps.claim(a).unwrap();
        let _a2 = caps.claim(a).unwrap();
        assert_eq!(caps.claim(a).err(), Some(Over::Address));
        let _b1 = caps.claim(b).unwrap();
        assert_eq!(caps.claim(b).err(), Some(Over::All));
        drop(a1);
        assert!(caps.claim(a).is_ok(), "a slot comes back when its connection closes");
        assert!(caps.per_address.lock().unwrap().len() <= 2);
    }
}
