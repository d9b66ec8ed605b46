//! cgroups on the running kernel: layout detection, creating, limiting, delegating and removing trees.
