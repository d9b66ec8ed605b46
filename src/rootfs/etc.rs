//! The generated /etc of the built-in root: just enough for a shell, name lookups and the
//! dynamic loader, with nothing copied that would leak the host's accounts or secrets.

use super::RootfsError;
use std::path::Path;

/// /etc/passwd: root and nobody only.
pub const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
/// /etc/group: root, tty (devpts uses gid 5) and nogroup.
pub const GROUP: &str = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n";
/// /etc/nsswitch.conf: files, then DNS.
pub const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n";

/// /etc/hosts for `hostname`.
pub fn hosts(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n"
    )
}

/// The host's resolv.conf without loopback name servers, which mean nothing in another network
/// namespace (systemd-resolved's 127.0.0.53, a local dnsmasq).
pub fn resolv_conf(host: &str) -> String {
    host.lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            !(w.next() == Some("nameserver")
                && w.next()
                    .is_some_and(|a| a.starts_with("127.") || a == "::1"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn write(path: &Path, text: &str) -> Result<(), RootfsError> {
    std::fs::write(path, text).map_err(|source| RootfsError::Write {
        path: path.into(),
        source,
    })
}

/// Writes `<root>/etc`.
pub fn generate(root: &Path, hostname: &str) -> Result<(), RootfsError> {
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).map_err(|source| RootfsError::Write {
        path: etc.clone(),
        source,
    })?;
    write(&etc.join("passwd"), PASSWD)?;
    write(&etc.join("group"), GROUP)?;
    write(&etc.join("hostname"), &format!("{hostname}\n"))?;
    write(&etc.join("hosts"), &hosts(hostname))?;
    write(&etc.join("nsswitch.conf"), NSSWITCH)?;
    write(
        &etc.join("resolv.conf"),
        &resolv_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
    )?;
    // Copies of harmless host files that programs expect: the OS identity and the loader cache.
    for f in ["os-release", "ld.so.cache", "ld.so.conf"] {
        if let Ok(bytes) = std::fs::read(Path::new("/etc").join(f)) {
            let p = etc.join(f);
            std::fs::write(&p, bytes).map_err(|source| RootfsError::Write { path: p, source })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_drops_loopback_servers() {
        let host = "nameserver 127.0.0.53\nnameserver 192.168.1.1\nsearch lan\n";
        assert_eq!(resolv_conf(host), "nameserver 192.168.1.1\nsearch lan\n");
        assert!(hosts("c1").contains("127.0.1.1\tc1"));
    }

    #[test]
    fn generates_into_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path(), "box").expect("generate");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("etc/hostname"))
                .ok()
                .as_deref(),
            Some("box\n")
        );
        assert!(std::fs::read_to_string(dir.path().join("etc/passwd"))
            .is_ok_and(|p| p.starts_with("root:")));
    }
}
