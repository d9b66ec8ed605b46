//! The launcher: turns a planned container into running processes (clone, namespaces, rootfs, monitor).
