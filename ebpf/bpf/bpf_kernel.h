/* Minimal declarations for hostscope's BPF programs: the helpers we call,
 * by number (stable kernel ABI), and the few kernel structs we read, marked
 * preserve_access_index so that clang emits CO-RE relocations and the loader
 * fixes offsets against the running kernel's BTF. Deliberately not a
 * generated vmlinux.h: this file is reviewable, and needs no bpftool. */
#ifndef HOSTSCOPE_BPF_KERNEL_H
#define HOSTSCOPE_BPF_KERNEL_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef int s32;
typedef long long s64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))

/* BTF-defined maps, as libbpf and aya read them. */
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
};

#define BPF_F_NO_PREALLOC 1
#define BPF_LOCAL_STORAGE_GET_F_CREATE 1

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

/* Helpers, numbered as in include/uapi/linux/bpf.h. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static u64 (*bpf_get_current_uid_gid)(void) = (void *)15;
static long (*bpf_get_current_comm)(void *buf, u32 size) = (void *)16;
static long (*bpf_probe_read_user)(void *dst, u32 size, const void *src) = (void *)112;
static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)113;
static long (*bpf_probe_read_user_str)(void *dst, u32 size, const void *src) = (void *)114;
static long (*bpf_probe_read_kernel_str)(void *dst, u32 size, const void *src) = (void *)115;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, u64 size, u64 flags) = (void *)130;
static void *(*bpf_task_storage_get)(void *map, void *task, void *value, u64 flags) = (void *)156;
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;
static long (*bpf_loop)(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags) = (void *)181;
static struct pt_regs *(*bpf_task_pt_regs)(struct task_struct *task) = (void *)175;

struct task_struct;
struct pt_regs;

/* Kernel structs: only the fields we read. Offsets come from BTF at load. */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long si;
	unsigned long di;
	unsigned long dx;
	unsigned long orig_ax;
} __attribute__((preserve_access_index));
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	u64 regs[31];
	u64 orig_x0;
	s32 syscallno;
} __attribute__((preserve_access_index));
#define SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

struct signal_struct {
	int group_exit_code;
} __attribute__((preserve_access_index));

struct files_struct;

struct task_struct {
	unsigned int flags;
	int pid;
	int tgid;
	int exit_code;
	struct signal_struct *signal;
	char comm[16];
	struct files_struct *files;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
} __attribute__((preserve_access_index));

/* From a thread's fd to the socket behind it (hostscope chains). */
struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
	void *private_data;
} __attribute__((preserve_access_index));

struct sock;

struct socket {
	short type;
	struct file *file;
	struct sock *sk;
} __attribute__((preserve_access_index));

struct in6_addr {
	unsigned char s6_addr[16];
};

/* The anonymous unions are kept: CO-RE matches a field by the path
 * through them. */
struct sock_common {
	union {
		unsigned long long skc_addrpair;
		struct {
			unsigned int skc_daddr;
			unsigned int skc_rcv_saddr;
		};
	};
	union {
		unsigned int skc_hash;
		unsigned short skc_u16hashes[2];
	};
	union {
		unsigned int skc_portpair;
		struct {
			unsigned short skc_dport;
			unsigned short skc_num;
		};
	};
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	u16 sk_type;
	struct socket *sk_socket;
} __attribute__((preserve_access_index));

struct unix_sock {
	struct sock sk;
	struct sock *peer;
} __attribute__((preserve_access_index));

#endif
