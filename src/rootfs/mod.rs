//! Root filesystems: the built-in host-derived default, directories, tarballs.
