//! Spec values written as one word and parsed with `FromStr` (`rootfs: dir:/srv/x`,
//! `runtime: lxc`). Parsing inside the visitor, rather than after deserializing a `String`, lets
//! serde_yaml_ng put the scalar's own line and column on a refusal (it marks errors that a
//! visitor returns with the position of the value it was visiting).

use serde::de::{Deserializer, Error, Visitor};
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// Deserialize a `T` from a string scalar with its `FromStr`, whose error becomes the message.
pub fn deserialize<'de, D, T>(d: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    d.deserialize_str(Parse {
        expecting,
        into: PhantomData,
    })
}

/// A visitor that parses the scalar it visits.
pub struct Parse<T> {
    /// What the value should be, for a value that is no string at all.
    pub expecting: &'static str,
    /// The type parsed.
    pub into: PhantomData<T>,
}

impl<T> Visitor<'_> for Parse<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<T, E> {
        s.parse().map_err(E::custom)
    }
}
