//! A fresh anonymous session keyring for every container and every attached process. The
//! session keyring is inherited across fork and exec, so without this a container (and, through
//! possession, any uid inside it) could read the keys of whoever started or attached it: an
//! init with `keyctl` allowed read a host user's key.

use std::io;

const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_READ: libc::c_long = 11;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

/// Replaces the calling thread's session keyring with a new, empty, anonymous one. Call it in
/// the process that will exec the container's program, after its identity change (the keyring
/// then belongs to, and is charged to, the container's root) and before seccomp, whose filter
/// may deny `keyctl`. Returns the new keyring's serial, or 0 when an ancestor's seccomp filter
/// already denies `keyctl` (ENOSYS, EPERM, EACCES): then no process below can reach any
/// keyring, the inherited one included, and there is nothing to replace.
pub fn join_fresh_session() -> io::Result<i32> {
    match join() {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS | libc::EPERM | libc::EACCES)
            ) && session_id().is_err() =>
        {
            Ok(0)
        }
        r => r,
    }
}

fn join() -> io::Result<i32> {
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING with a NULL name takes no memory from us; the kernel
    // only replaces this thread's credentials.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as i32)
}

/// The serial of the calling thread's session keyring (`keyctl show @s`), created if absent.
pub fn session_id() -> io::Result<i32> {
    // SAFETY: integer arguments only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            1 as libc::c_long,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as i32)
}

/// Adds a `user` key to the calling thread's session keyring; returns its serial (for tests and
/// the escape probes).
pub fn add_session_key(description: &str, payload: &[u8]) -> io::Result<i32> {
    let ty = c"user";
    let desc = std::ffi::CString::new(description)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in key description"))?;
    // SAFETY: the type and description are NUL-terminated strings and the payload a buffer of
    // the given length, all alive across the call; the kernel copies them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            ty.as_ptr(),
            desc.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            KEY_SPEC_SESSION_KEYRING,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as i32)
}

/// Reads key `serial`'s payload (`keyctl read`).
pub fn read_key(serial: i32) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: the buffer is writable for its whole length, which we pass; the kernel writes at
    // most that many bytes and returns the payload's full length.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_READ,
            serial as libc::c_long,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate((rc as usize).min(4096));
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_session_keyring_loses_the_old_keys() {
        // In a thread of its own: credentials (and so the session keyring) are per thread.
        std::thread::spawn(|| {
            let first = join_fresh_session().expect("join");
            let key = add_session_key("lxnest-unit", b"v").expect("add_key");
            assert_eq!(read_key(key).expect("read own key"), b"v");
            let second = join_fresh_session().expect("join again");
            assert_ne!(first, second);
            // Not possessed any more; as the same uid, `user` keys still grant view but not read
            // to the owner without possession (KEY_USR_VIEW only).
            assert!(
                read_key(key).is_err(),
                "the old session's key is still readable"
            );
        })
        .join()
        .expect("thread");
    }
}
