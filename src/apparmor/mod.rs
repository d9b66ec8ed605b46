//! AppArmor: profile rendering from policy/apparmor/ templates, label naming, and loading where the kernel has AppArmor.
