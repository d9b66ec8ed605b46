//! Unpacking root filesystem tarballs: every compression, owners shifted into the container's
//! range, links and xattrs kept, devices skipped, hostile entries refused with nothing written
//! outside, reuse unless the tarball changed. Owner shifting needs root.

use lxnest::tarball::{ensure, unpack_fresh, Shift, TarError};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

mod support;
use support::root;

/// A header whose name bytes are written raw, so hostile names (`../x`, `/x`) can be made.
fn header(name: &str, kind: tar::EntryType, size: u64, uid: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    let raw = h.as_old_mut();
    raw.name = [0; 100];
    raw.name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    h
}

fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8], uid: u64, mode: u32) {
    let h = header(name, tar::EntryType::Regular, data.len() as u64, uid, mode);
    b.append(&h, data).unwrap();
}

fn link(b: &mut tar::Builder<Vec<u8>>, name: &str, target: &str, kind: tar::EntryType) {
    let mut h = header(name, kind, 0, 0, 0o777);
    h.set_link_name(target).unwrap();
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
}

/// A small rootfs: dirs, a setuid file owned by 0, a user's file, links, a device node, an xattr.
fn good_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append(
        &header("./", tar::EntryType::Directory, 0, 0, 0o755),
        std::io::empty(),
    )
    .unwrap();
    b.append(
        &header("etc/", tar::EntryType::Directory, 0, 0, 0o755),
        std::io::empty(),
    )
    .unwrap();
    b.append(
        &header("home/annie/", tar::EntryType::Directory, 0, 1000, 0o700),
        std::io::empty(),
    )
    .unwrap();
    file(&mut b, "etc/hostname", b"annie-box\n", 0, 0o644);
    file(&mut b, "home/annie/notes", b"hello\n", 1000, 0o600);
    file(&mut b, "usr/bin/su", b"#!/bin/sh\n", 0, 0o4755);
    link(
        &mut b,
        "etc/localtime",
        "/usr/share/zoneinfo/UTC",
        tar::EntryType::Symlink,
    );
    link(&mut b, "usr/bin/su2", "usr/bin/su", tar::EntryType::Link);
    b.append(
        &header("dev/null", tar::EntryType::Char, 0, 0, 0o666),
        std::io::empty(),
    )
    .unwrap();
    b.append_pax_extensions([("SCHILY.xattr.user.origin", b"usb-stick".as_slice())])
        .unwrap();
    file(&mut b, "etc/motd", b"hi\n", 0, 0o644);
    b.into_inner().unwrap()
}

fn write_tar(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn compressed(kind: &str, plain: &[u8]) -> Vec<u8> {
    match kind {
        "tar" => plain.to_vec(),
        "tar.gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        "tar.bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        "tar.xz" => {
            let mut out = Vec::new();
            lzma_rs::xz_compress(&mut std::io::BufReader::new(plain), &mut out).unwrap();
            out
        }
        "tar.zst" => {
            ruzstd::encoding::compress_to_vec(plain, ruzstd::encoding::CompressionLevel::Fastest)
        }
        other => panic!("{other}"),
    }
}

const SHIFT: Shift = Shift {
    uid: 300_000,
    gid: 300_000,
    count: 65_536,
    squash: false,
};

#[test]
fn root_every_compression_unpacks_with_shifted_owners_links_and_xattrs() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    for kind in ["tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"] {
        let t = write_tar(
            d.path(),
            &format!("rootfs.{kind}"),
            &compressed(kind, &good_tar()),
        );
        let dest = d.path().join(format!("root-{}", kind.replace('.', "-")));
        let sum = unpack_fresh(&t, &dest, Some(SHIFT)).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(sum.skipped_devices, ["dev/null"], "{kind}");
        let notes = std::fs::metadata(dest.join("home/annie/notes")).unwrap();
        assert_eq!(
            (notes.uid(), notes.gid()),
            (301_000, 301_000),
            "{kind}: uid 1000 shifted"
        );
        let su = std::fs::metadata(dest.join("usr/bin/su")).unwrap();
        assert_eq!(su.uid(), 300_000);
        assert_eq!(
            su.mode() & 0o7777,
            0o4755,
            "{kind}: setuid kept after chown"
        );
        assert_eq!(
            su.ino(),
            std::fs::metadata(dest.join("usr/bin/su2")).unwrap().ino(),
            "hard link kept"
        );
        assert_eq!(
            std::fs::read_link(dest.join("etc/localtime")).unwrap(),
            PathBuf::from("/usr/share/zoneinfo/UTC")
        );
        assert_eq!(
            std::fs::symlink_metadata(dest.join("etc/localtime"))
                .unwrap()
                .uid(),
            300_000,
            "symlinks lchowned"
        );
        let x = xattr::get(dest.join("etc/motd"), "user.origin").unwrap();
        assert_eq!(
            x.as_deref(),
            Some(b"usb-stick".as_slice()),
            "{kind}: xattr kept"
        );
        assert!(!dest.with_extension("partial").exists());
    }
}

fn refused(entries: impl FnOnce(&mut tar::Builder<Vec<u8>>), outside: &Path) -> String {
    let d = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    entries(&mut b);
    let t = write_tar(d.path(), "evil.tar", &b.into_inner().unwrap());
    let dest = d.path().join("root");
    let err = unpack_fresh(&t, &dest, Some(SHIFT)).unwrap_err();
    assert!(matches!(err, TarError::Refused { .. }), "{err}");
    assert!(
        !dest.exists() && !dest.with_extension("partial").exists(),
        "nothing left behind"
    );
    assert!(!outside.join("pwned").exists(), "nothing written outside");
    err.to_string()
}

#[test]
fn root_hostile_entries_are_refused_and_nothing_is_written_outside() {
    if !root() {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path().to_string_lossy().to_string();
    let msg = refused(|b| file(b, "../pwned", b"x", 0, 0o644), outside.path());
    assert!(
        msg.contains("`../pwned`") && msg.contains("..") && msg.contains("fix"),
        "{msg}"
    );
    let msg = refused(
        |b| file(b, &format!("{out}/pwned"), b"x", 0, 0o644),
        outside.path(),
    );
    assert!(msg.contains("absolute"), "{msg}");
    let msg = refused(
        |b| {
            link(b, "evil", &out, tar::EntryType::Symlink);
            file(b, "evil/pwned", b"x", 0, 0o644);
        },
        outside.path(),
    );
    assert!(msg.contains("through the symlink evil"), "{msg}");
    let msg = refused(
        |b| link(b, "shadow", "/etc/shadow", tar::EntryType::Link),
        outside.path(),
    );
    assert!(msg.contains("outside the tree"), "{msg}");
    let msg = refused(|b| file(b, "big-uid", b"x", 70_000, 0o644), outside.path());
    assert!(msg.contains("outside the container's 65536 ids"), "{msg}");
}

#[test]
fn root_second_start_reuses_the_tree_unless_the_tarball_changed() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let t = write_tar(d.path(), "r.tar.gz", &compressed("tar.gz", &good_tar()));
    let dest = d.path().join("root");
    assert!(
        ensure(&t, &dest, Some(SHIFT)).unwrap().is_some(),
        "first start unpacks"
    );
    std::fs::write(dest.join("etc/marker"), "kept").unwrap();
    assert!(
        ensure(&t, &dest, Some(SHIFT)).unwrap().is_none(),
        "second start reuses"
    );
    assert!(dest.join("etc/marker").exists());
    let f = std::fs::File::options().append(true).open(&t).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    assert!(
        ensure(&t, &dest, Some(SHIFT)).unwrap().is_some(),
        "a changed tarball is unpacked again"
    );
    assert!(!dest.join("etc/marker").exists());
}

#[test]
fn corrupt_archives_are_read_errors() {
    let d = tempfile::tempdir().unwrap();
    let t = write_tar(d.path(), "bad.tar.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]);
    let err = unpack_fresh(&t, &d.path().join("root"), None).unwrap_err();
    assert!(matches!(err, TarError::Read { .. }), "{err}");
    assert!(!d.path().join("root").exists());
}
