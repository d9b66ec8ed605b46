#!/usr/bin/env bash
# Compare the size (and the instructions run per call) of lxnest's seccomp BPF with libseccomp's
# for the same policies and arches (x86_64 + x86 + x32, as LXC loads them on x86_64 hosts).
#
# Needs: cargo, a C compiler and libseccomp-dev (Debian: apt-get install libseccomp-dev).
# The C helper is built into a temporary directory at run time and never committed.
# Usage: scripts/bench-filter-size.sh            (prints a table; docs/seccomp.md quotes it)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. lxnest writes the policies it measures (its shipped ones, LXC's common.seccomp and a
#    generated ~370-syscall allowlist) as LXC v2 text.
(cd "$here" && LXNEST_FILTER_BENCH_DIR="$work" cargo test -q --test seccomp_filter_size >/dev/null)

# 2. The same policies through libseccomp 2.x, read by a small LXC-v2 reader in C.
cat >"$work/scmp-size.c" <<'C'
/* Load an LXC seccomp v2 policy into one libseccomp context with the x86_64, x86 and x32
 * arches, as LXC does on x86_64, and export the BPF. argv: policy file, output file, optimize
 * level (1 = linear, the default; 2 = binary tree). Prints the instruction count. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int action(const char *s, uint32_t def, uint32_t *out) {
	int n;
	while (*s == ' ') s++;
	if (!*s) { *out = def; return 0; }
	if (!strncmp(s, "kill_thread", 11)) *out = SCMP_ACT_KILL_THREAD;
	else if (!strncmp(s, "kill", 4)) *out = SCMP_ACT_KILL_PROCESS;
	else if (!strncmp(s, "allow", 5)) *out = SCMP_ACT_ALLOW;
	else if (!strncmp(s, "trap", 4)) *out = SCMP_ACT_TRAP;
	else if (!strncmp(s, "notify", 6)) *out = SCMP_ACT_NOTIFY;
	else if (!strncmp(s, "log", 3)) *out = SCMP_ACT_LOG;
	else if (sscanf(s, "errno %d", &n) == 1) *out = SCMP_ACT_ERRNO(n);
	else if (sscanf(s, "trace %d", &n) == 1) *out = SCMP_ACT_TRACE(n);
	else return -1;
	return 0;
}

static int op(const char *s, enum scmp_compare *out) {
	static const struct { const char *a, *b; enum scmp_compare op; } t[] = {
		{"SCMP_CMP_EQ", "==", SCMP_CMP_EQ}, {"SCMP_CMP_NE", "!=", SCMP_CMP_NE},
		{"SCMP_CMP_LT", "<", SCMP_CMP_LT}, {"SCMP_CMP_LE", "<=", SCMP_CMP_LE},
		{"SCMP_CMP_GT", ">", SCMP_CMP_GT}, {"SCMP_CMP_GE", ">=", SCMP_CMP_GE},
		{"SCMP_CMP_MASKED_EQ", "&=", SCMP_CMP_MASKED_EQ}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].a) || !strcmp(s, t[i].b)) { *out = t[i].op; return 0; }
	return -1;
}

int main(int argc, char **argv) {
	if (argc != 4) { fprintf(stderr, "usage: %s policy out.bpf optimize\n", argv[0]); return 2; }
	FILE *f = fopen(argv[1], "r");
	if (!f) { perror(argv[1]); return 1; }
	char line[4096];
	int lineno = 0, deny = 0;
	uint32_t def = 0, rule_def = 0;
	scmp_filter_ctx ctx = NULL;
	uint32_t arch = 0; /* 0 = all arches of the context */
	int skip = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash) *hash = 0;
		line[strcspn(line, "\r\n")] = 0;
		char *l = line;
		while (*l == ' ' || *l == '\t') l++;
		size_t n = strlen(l);
		while (n && (l[n - 1] == ' ' || l[n - 1] == '\t')) l[--n] = 0;
		if (lineno == 1) continue;
		if (lineno == 2) {
			deny = !strncmp(l, "denylist", 8) || !strncmp(l, "blacklist", 9);
			char *sp = strchr(l, ' ');
			if (action(sp ? sp : "", deny ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS, &def)) return 1;
			rule_def = deny ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ALLOW;
			ctx = seccomp_init(def);
			if (!ctx || seccomp_arch_add(ctx, SCMP_ARCH_X86) || seccomp_arch_add(ctx, SCMP_ARCH_X32)) return 1;
			seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
			if (atoi(argv[3]) == 2 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) return 1;
			continue;
		}
		if (!*l) continue;
		if (*l == '[') {
			skip = 0;
			if (!strcmp(l, "[all]")) arch = 0;
			else if (!strcmp(l, "[x86_64]")) arch = SCMP_ARCH_X86_64;
			else if (!strcmp(l, "[i386]") || !strcmp(l, "[x86]")) arch = SCMP_ARCH_X86;
			else if (!strcmp(l, "[x32]")) arch = SCMP_ARCH_X32;
			else skip = 1;
			continue;
		}
		if (skip) continue;
		if (!strncmp(l, "reject_force_umount", 19)) {
			if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(umount2), 1,
			                     SCMP_A1(SCMP_CMP_MASKED_EQ, 1, 1))) return 1;
			continue;
		}
		char name[128], *br = strchr(l, '[');
		if (br) *br = 0;
		char *sp = strchr(l, ' ');
		if (sp) *sp = 0;
		snprintf(name, sizeof name, "%s", l);
		uint32_t act;
		if (action(sp ? sp + 1 : "", rule_def, &act)) { fprintf(stderr, "%d: bad action\n", lineno); return 1; }
		struct scmp_arg_cmp cmp[6];
		unsigned nargs = 0;
		for (char *a = br ? br + 1 : NULL; a && nargs < 6; a = strchr(a, '[') ? strchr(a, '[') + 1 : NULL) {
			unsigned idx; char v[32], o[32], m[32] = "0";
			if (sscanf(a, "%u,%31[^,],%31[^,],%31[^]]", &idx, v, o, m) < 3) break;
			o[strcspn(o, "]")] = 0;
			enum scmp_compare c;
			if (op(o, &c)) { fprintf(stderr, "%d: bad op %s\n", lineno, o); return 1; }
			uint64_t val = strtoull(v, NULL, 0), mask = strtoull(m, NULL, 0);
			cmp[nargs++] = c == SCMP_CMP_MASKED_EQ ? SCMP_CMP(idx, c, mask, val) : SCMP_CMP(idx, c, val);
		}
		if (arch) { fprintf(stderr, "%d: per-arch sections are not measured, skipped\n", lineno); continue; }
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR) { fprintf(stderr, "%d: unknown %s\n", lineno, name); continue; }
		/* One rule for every arch where the name exists, as LXC's [all]. libseccomp refuses a rule
		 * whose action is the default (-EACCES), and so does LXC: skip those. */
		int rc = seccomp_rule_add_array(ctx, act, nr, nargs, cmp);
		if (rc && rc != -EACCES) { fprintf(stderr, "%d: %s: %s\n", lineno, name, strerror(-rc)); return 1; }
	}
	if (!ctx) return 1;
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || seccomp_export_bpf(ctx, fd)) return 1;
	struct stat st;
	fstat(fd, &st);
	printf("%lld\n", (long long)st.st_size / 8);
	close(fd);
	seccomp_release(ctx);
	return 0;
}
C
cc -O2 -o "$work/scmp-size" "$work/scmp-size.c" -lseccomp

for policy in "$work"/*.seccomp; do
	name=$(basename "$policy" .seccomp)
	"$work/scmp-size" "$policy" "$work/$name.linear.bpf" 1 >/dev/null 2>>"$work/scmp.log"
	"$work/scmp-size" "$policy" "$work/$name.tree.bpf" 2 >/dev/null 2>>"$work/scmp.log"
done

# 3. lxnest compares: instruction counts and instructions run per x86_64 call, both programs
#    run by lxnest's BPF interpreter.
(cd "$here" && LXNEST_FILTER_BENCH_DIR="$work" cargo test -q --test seccomp_filter_size -- --nocapture 2>/dev/null) |
	grep '^|'
if [ -s "$work/scmp.log" ]; then
	echo "libseccomp reader notes:" && sort -u "$work/scmp.log"
fi

# 4. What a call costs in the kernel under each program (root, or CAP_SYS_ADMIN, to install
#    without NO_NEW_PRIVS is not needed: the helper sets NO_NEW_PRIVS itself). Calls the kernel
#    caches as "always allowed" (Linux 5.11+) skip the BPF; denied and argument-checked calls
#    run it every time.
cat >"$work/scmp-time.c" <<'C'
/* argv: program.bpf or "-" (no filter), syscall number, arg0, iterations. Installs the raw
 * program, calls the syscall in a loop, prints nanoseconds per call. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 5) return 2;
	if (strcmp(argv[1], "-")) {
		static struct sock_filter insns[4096];
		FILE *f = fopen(argv[1], "rb");
		if (!f) { perror(argv[1]); return 1; }
		size_t n = fread(insns, sizeof insns[0], 4096, f);
		fclose(f);
		struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
			perror("seccomp");
			return 1;
		}
	}
	long nr = strtol(argv[2], NULL, 0), iters = strtol(argv[4], NULL, 0);
	unsigned long arg0 = strtoul(argv[3], NULL, 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < iters; i++) syscall(nr, arg0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters);
	return 0;
}
C
cc -O2 -o "$work/scmp-time" "$work/scmp-time.c"
iters=2000000
best() { # the fastest of 5 runs, to damp noise on a shared machine
	for _ in 1 2 3 4 5; do "$work/scmp-time" "$@" "$iters"; done | sort -n | head -1
}
echo
echo "ns per call (x86_64, best of 5 x $iters calls; no filter: getppid $(best - 110 0) ns)"
echo "| policy | call | lxnest | libseccomp linear | libseccomp tree |"
echo "|---|---|---|---|---|"
for name in default allowlist; do
	# getppid (allowed, cached), personality(0xffffffff) (argument-checked in the allowlist,
	# plain allow in default), uselib(NULL) (denied by both policies, so never executed).
	for call in "getppid 110 0" "personality 135 0xffffffff" "uselib 134 0"; do
		set -- $call
		echo "| $name | $1 | $(best "$work/$name.lxnest.bpf" "$2" "$3") | $(best "$work/$name.linear.bpf" "$2" "$3") | $(best "$work/$name.tree.bpf" "$2" "$3") |"
	done
done
