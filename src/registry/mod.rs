//! lxnest's host-wide allocation registry: every subnet (host bridges, the bridges nesting hosts
//! make inside, nested runtimes' own) and every block of host ids a running container tree holds,
//! with who holds it. Starts consult and update it under one lock ([`lock::Held`]) taken before
//! planning and released once the bridge and the id map exist, so two starts never pick the same
//! subnet or ids. One registry per user: root's in `/run/lxnest/.registry` (reservations live no
//! longer than the processes holding them, so a tmpfs that a reboot empties fits), an
//! unprivileged user's below her own default state directory. See docs/registry.md.
//!
//! The planner stays pure: it receives the reservations as part of the host snapshot
//! ([`crate::plan::host::HostSnapshot::reserved`]) and [`crate::plan::claims`] says what a plan
//! holds; this module only keeps the record.

pub mod lock;
pub mod subid;

use crate::plan::host::Reservation;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use lock::Held;

/// What can go wrong with the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry directory, lock or file could not be used.
    #[error("allocation registry {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The error underneath.
        #[source]
        source: std::io::Error,
    },
    /// The registry file is not what lxnest writes.
    #[error("allocation registry {path} is unreadable ({message}); fix: stop lxnest's containers and remove the file (it is rebuilt as containers start)")]
    Corrupt {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A container tree is already recorded with a live holder.
    #[error("{container} (-P {state_dir}) already holds reservations ({holder}); stop it first")]
    Held {
        /// Its name.
        container: String,
        /// Its state directory.
        state_dir: String,
        /// Who holds them.
        holder: String,
    },
    /// /etc/subuid or /etc/subgid could not be locked or rewritten.
    #[error("{path}: {message}")]
    Subid {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, RegistryError>;

/// The reservations of one started container tree (a level-1 container and everything below).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The stack it was planned in.
    pub stack: String,
    /// The level-1 container's name (its state directory's name).
    pub container: String,
    /// The state directory (`-P`) it was started in.
    pub state_dir: PathBuf,
    /// The process whose life the reservations follow: the starting process while it starts,
    /// then the container's monitor (or the foreground `start -F`/`run` process).
    pub holder_pid: i32,
    /// That process's start time (clock ticks after boot), so a recycled pid is not mistaken for it.
    pub holder_start: u64,
    /// What it holds ([`crate::plan::claims::of_tree`]).
    pub claims: Vec<Reservation>,
    /// The network namespace (inode) it was started from: its host bridge lives there.
    #[serde(default)]
    pub netns: u64,
}

impl Entry {
    /// An entry held by this process from now on.
    pub fn held_by_me(
        stack: &str,
        container: &str,
        state_dir: &Path,
        claims: Vec<Reservation>,
    ) -> Self {
        let pid = std::process::id() as i32;
        Entry {
            stack: stack.into(),
            container: container.into(),
            state_dir: state_dir.into(),
            holder_pid: pid,
            holder_start: crate::launch::state::start_time(pid).unwrap_or(0),
            claims,
            netns: 0,
        }
    }

    /// Whether the reservations are still in use: the holding process runs (same pid, same start
    /// time), or the container's init does (a monitor killed with SIGKILL leaves its container
    /// running until `destroy`, and its ids and subnets with it).
    pub fn alive(&self) -> bool {
        let holder = self.holder_pid > 0
            && crate::launch::state::start_time(self.holder_pid) == Some(self.holder_start);
        holder
            || crate::launch::state::read(&self.state_dir, &self.container)
                .is_ok_and(|st| crate::launch::state::alive(&st))
    }

    /// `stack S, container C (-P DIR, pid N)`.
    pub fn holder(&self) -> String {
        format!(
            "stack {}, container {} (-P {}, pid {})",
            self.stack,
            self.container,
            self.state_dir.display(),
            self.holder_pid
        )
    }

    fn is(&self, state_dir: &Path, container: &str) -> bool {
        self.container == container && self.state_dir == state_dir
    }
}

/// The registry's content: one entry per started container tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Entries, in the order they were recorded.
    pub entries: Vec<Entry>,
}

impl Registry {
    /// Drops entries whose holder is gone (a monitor killed with SIGKILL, a start killed half
    /// way, a reboot's recycled pids) and returns them: nothing stays reserved forever.
    pub fn prune(&mut self) -> Vec<Entry> {
        let (live, stale): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(Entry::alive);
        self.entries = live;
        stale
    }

    /// Every claim with its holder named, for the planner's snapshot.
    pub fn reservations(&self) -> Vec<Reservation> {
        self.entries
            .iter()
            .flat_map(|e| {
                let holder = e.holder();
                e.claims.iter().cloned().map(move |mut c| {
                    c.holder = holder.clone();
                    c
                })
            })
            .collect()
    }

    /// Records `entry`; refuses when that container tree is recorded with a live holder.
    pub fn record(&mut self, entry: Entry) -> Result<()> {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.is(&entry.state_dir, &entry.container) && e.alive())
        {
            return Err(RegistryError::Held {
                container: entry.container,
                state_dir: entry.state_dir.display().to_string(),
                holder: e.holder(),
            });
        }
        self.entries
            .retain(|e| !e.is(&entry.state_dir, &entry.container));
        self.entries.push(entry);
        Ok(())
    }

    /// Hands a tree's reservations to another process (the monitor that now runs it).
    pub fn set_holder(&mut self, state_dir: &Path, container: &str, pid: i32) {
        let start = crate::launch::state::start_time(pid).unwrap_or(0);
        for e in self
            .entries
            .iter_mut()
            .filter(|e| e.is(state_dir, container))
        {
            e.holder_pid = pid;
            e.holder_start = start;
        }
    }

    /// Forgets a tree's reservations; true when there were any.
    pub fn release(&mut self, state_dir: &Path, container: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.is(state_dir, container));
        self.entries.len() != before
    }

    /// Claims that `claims` (of `stack`, started from network namespace `netns`) would share
    /// with someone else's entry: an id block that overlaps, or a subnet that overlaps one used
    /// from the same network namespace (stacks in different namespaces never route each
    /// other's subnets). A stack shares its own host bridge.
    pub fn conflicts(
        &self,
        stack: &str,
        claims: &[Reservation],
        netns: u64,
    ) -> Vec<(Reservation, String)> {
        let mut out = Vec::new();
        for e in &self.entries {
            let same_netns = e.netns == netns;
            for other in &e.claims {
                for c in claims {
                    let own_bridge = e.stack == stack && other.what == c.what;
                    let net = same_netns
                        && matches!((c.subnet, other.subnet), (Some(a), Some(b)) if crate::plan::subnet::overlaps(&a, &b));
                    let ids = overlap(c.uids, other.uids) || overlap(c.gids, other.gids);
                    if !own_bridge && (net || ids) {
                        out.push((c.clone(), e.holder()));
                    }
                }
            }
        }
        out
    }
}

fn overlap(a: Option<crate::plan::host::IdRange>, b: Option<crate::plan::host::IdRange>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let end = |r: crate::plan::host::IdRange| u64::from(r.first) + u64::from(r.count);
    u64::from(a.first) < end(b) && u64::from(b.first) < end(a)
}

/// The inode of this process's network namespace (0 when unknown).
pub fn netns_of_this_process() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/net")
        .map(|m| m.ino())
        .unwrap_or(0)
}

/// The registry directory of whoever runs lxnest: `.registry` in the user's default state
/// directory (`/run/lxnest/.registry` for root), whatever `-P` a start names, so that every
/// start of this user sees every other.
pub fn dir() -> PathBuf {
    crate::launch::state::default_dir().join(".registry")
}

/// The registry as it is now, without its lock and with stale entries left out, for `plan`
/// (which reserves nothing). A registry that cannot be read counts as empty.
pub fn peek() -> Registry {
    let mut r = lock::read(&dir().join(lock::FILE)).unwrap_or_default();
    r.prune();
    r
}
