//! How two values of one spec type combine: a later include's defaults over an earlier one's,
//! and a container's own settings over the stack's defaults. Each type implements [`Merge`] next
//! to its definition, destructuring `over` field by field so that a field added later cannot be
//! left out without a compile error.

use std::collections::BTreeMap;

/// Combine `over` into `self`: a value `over` sets wins, a value it leaves unset keeps `self`'s;
/// lists run `self`'s entries first, then `over`'s; maps take `over`'s entry for a key both have.
pub trait Merge {
    /// Combine `over` into `self`.
    fn merge(&mut self, over: Self);
}

/// A setting (`Option`): `over`'s when it has one.
pub fn set<T>(base: &mut Option<T>, over: Option<T>) {
    if over.is_some() {
        *base = over;
    }
}

impl<T> Merge for Vec<T> {
    fn merge(&mut self, over: Self) {
        self.extend(over);
    }
}

impl<V> Merge for BTreeMap<String, V> {
    fn merge(&mut self, over: Self) {
        self.extend(over);
    }
}

/// `defaults` under `own`: what `own` leaves unset comes from `defaults`, lists start with the
/// defaults' entries.
pub fn under<T: Merge + Clone>(defaults: &T, own: T) -> T {
    let mut out = defaults.clone();
    out.merge(own);
    out
}
