//! `loop` mount entries (`lxc.mount.entry = /srv/data.img srv/data ext4 loop,ro 0 0`, or a spec
//! mount with the `loop` option): a user namespace may not mount a block device, so the image is
//! attached to a loop device and mounted on the host side, under the container's state
//! directory, and the child bind-mounts that mount into place like any other bind.

use super::error::StepFailure;
use crate::plan::model::{LevelPlan, MountPlan};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_READ_ONLY: u32 = 1;
/// The kernel frees the loop device when its last user (the mount) goes away.
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` of <linux/loop.h>.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` of <linux/loop.h> (LOOP_CONFIGURE, Linux 5.8).
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

const _: () =
    assert!(std::mem::size_of::<LoopInfo64>() == 232 && std::mem::size_of::<LoopConfig>() == 304);

/// Host-side mounts of loop images; unmounted (and so their loop devices freed) on drop.
#[derive(Debug, Default)]
pub struct LoopMounts {
    points: Vec<PathBuf>,
}

impl Drop for LoopMounts {
    fn drop(&mut self) {
        for p in self.points.iter().rev() {
            let _ = umount2(p, MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// Whether a mount asks for a loop device.
pub fn is_loop(m: &MountPlan) -> bool {
    m.options.iter().any(|o| o == "loop")
}

/// Mount every loop entry of `plan` below `state/loop/N` and return the plan with those entries
/// turned into bind mounts of them.
pub fn prepare(plan: &LevelPlan, state: &Path) -> Result<(LevelPlan, LoopMounts), StepFailure> {
    let mut out = plan.clone();
    let mut mounts = LoopMounts::default();
    for (i, m) in out
        .mounts
        .iter_mut()
        .enumerate()
        .filter(|(_, m)| is_loop(m))
    {
        if !nix::unistd::geteuid().is_root() {
            return Err(StepFailure::refused(format!(
                "{}: mounting a loop image needs root (the kernel mounts block devices only for the initial user namespace); start the container as root, or unpack the image into a directory or tarball rootfs",
                m.source
            )));
        }
        let ro = m.options.iter().any(|o| o == "ro");
        // Our descriptor keeps the device until the mount holds it (AUTOCLEAR frees it at the
        // last close otherwise), and is closed right after.
        let (dev, _held) = attach(Path::new(&m.source), ro)?;
        let point = state.join("loop").join(i.to_string());
        std::fs::create_dir_all(&point).map_err(StepFailure::at(&point))?;
        let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
        if ro {
            flags |= MsFlags::MS_RDONLY;
        }
        // On failure the loop device is freed by AUTOCLEAR as soon as our descriptor closes.
        mount(
            Some(&dev),
            &point,
            Some(m.fstype.as_str()),
            flags,
            None::<&str>,
        )
        .map_err(|e| {
            StepFailure::doing(format!("mount {} ({})", m.source, dev.display()))(e.into())
                .with_path(&point)
        })?;
        mounts.points.push(point.clone());
        m.source = point.display().to_string();
        m.fstype = "bind".into();
        m.options = if ro {
            vec!["bind".into(), "ro".into()]
        } else {
            vec!["bind".into()]
        };
    }
    Ok((out, mounts))
}

/// Attach `image` to a free loop device; returns the device path and an open descriptor of it.
fn attach(image: &Path, ro: bool) -> Result<(PathBuf, std::fs::File), StepFailure> {
    let ctl = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/loop-control")
        .map_err(StepFailure::at("/dev/loop-control"))?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a device number or -1.
    let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
    if n < 0 {
        return Err(StepFailure::doing("no free loop device")(
            std::io::Error::last_os_error(),
        ));
    }
    let dev = PathBuf::from(format!("/dev/loop{n}"));
    let loopdev = OpenOptions::new()
        .read(true)
        .write(!ro)
        .open(&dev)
        .map_err(StepFailure::at(&dev))?;
    let backing = OpenOptions::new()
        .read(true)
        .write(!ro)
        .open(image)
        .map_err(StepFailure::at(image))?;
    // SAFETY: an all-zero loop_config is a valid value of this plain-data C struct.
    let mut cfg: LoopConfig = unsafe { std::mem::zeroed() };
    cfg.fd = backing.as_raw_fd() as u32;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | if ro { LO_FLAGS_READ_ONLY } else { 0 };
    // SAFETY: LOOP_CONFIGURE reads a `struct loop_config` whose layout LoopConfig matches (size
    // checked at compile time); `cfg` outlives the call and `backing` is open during it.
    let r = unsafe {
        libc::ioctl(
            loopdev.as_raw_fd(),
            LOOP_CONFIGURE,
            &cfg as *const LoopConfig,
        )
    };
    if r < 0 {
        return Err(StepFailure::doing(format!("attach {}", image.display()))(
            std::io::Error::last_os_error(),
        )
        .with_path(&dev));
    }
    Ok((dev, loopdev))
}
