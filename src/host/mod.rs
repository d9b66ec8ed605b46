//! Reads the running machine into a [`crate::plan::host::HostSnapshot`]: the one reader used by plan, start and check.
