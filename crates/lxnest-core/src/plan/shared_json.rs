//! `plan.json` of a fleet: containers share their seccomp filters ([`SeccompPlan::own`] is an
//! `Arc`), and writing each shared filter out again per container was a third of rendering the
//! artifacts of 30,000 containers. While [`with_fragments`] runs, a filter that has a prepared
//! fragment (its JSON, indented for where it stands in the plan) is written as that text; the
//! bytes are exactly what serializing it gives (tested in `artifacts`). Outside it, and for
//! any serializer, filters serialize as usual.
//!
//! [`SeccompPlan::own`]: crate::plan::model::SeccompPlan::own

use crate::seccomp::Policy;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Prepared JSON text per filter, by the filter's address.
pub type Fragments = HashMap<*const Policy, Box<RawValue>>;

thread_local! {
    static FRAGMENTS: RefCell<Option<Fragments>> = const { RefCell::new(None) };
}

/// Run `f` with `fragments` in use on this thread (serde_json only: a raw value is JSON text).
pub fn with_fragments<T>(fragments: Fragments, f: impl FnOnce() -> T) -> T {
    /// Takes the fragments out again, also when `f` panics.
    struct Disarm;
    impl Drop for Disarm {
        fn drop(&mut self) {
            FRAGMENTS.with(|c| c.borrow_mut().take());
        }
    }
    FRAGMENTS.with(|c| *c.borrow_mut() = Some(fragments));
    let _disarm = Disarm;
    f()
}

/// `serialize_with` of [`crate::plan::model::SeccompPlan::own`].
pub fn serialize<S: Serializer>(policy: &Arc<Policy>, s: S) -> Result<S::Ok, S::Error> {
    FRAGMENTS.with(|c| {
        let c = c.borrow();
        match c.as_ref().and_then(|m| m.get(&Arc::as_ptr(policy))) {
            Some(raw) => raw.serialize(s),
            None => policy.serialize(s),
        }
    })
}
