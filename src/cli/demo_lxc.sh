# `lxnest demo`, step 3: real LXC at level 2, run inside juju-host next to the lxnest units.
# LXC's busybox template with the distro configuration (common.conf, as debian.common.conf and
# so juju's machines include it) and `sys:mixed`; its bridge comes from lxc-net, configured by
# lxnest with the subnet it planned for LXC. Prints key=value lines for the demo to show.
set -e
n=juju-lxc1
[ -e /run/lxc/network_up ] || /usr/libexec/lxc/lxc-net start >/dev/null
lxc-create -q -t busybox -n $n >/dev/null
cat >> /var/lib/lxc/$n/config <<CONF
lxc.include = /usr/share/lxc/config/common.conf
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
CONF
if ! lxc-start -n $n -l ERROR -o /tmp/$n.log; then
  cat /tmp/$n.log >&2
  exit 1
fi
lxc-wait -n $n -s RUNNING -t 20
a=
for i in $(seq 20); do
  a=$(lxc-info -n $n -iH)
  [ -n "$a" ] && break
  sleep 1
done
pid=$(lxc-info -n $n -pH)
echo "address=${a:-none}"
echo "bridge=$(ip -4 -o addr show lxcbr0 2>/dev/null | awk '{print $4}')"
echo "filters=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' /proc/$pid/status)"
echo "host_filters=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' /proc/self/status)"
echo "uname=$(lxc-attach -n $n -- uname -n)"
