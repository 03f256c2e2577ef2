/* hostscope's syscall probe.
 *
 * sys_enter remembers the arguments of a targeted thread's syscall; sys_exit
 * pairs them with the return value, copies the user memory the decoder needs
 * (strings are read at exit: at entry their pages may not be resident yet,
 * and the read would fail), and sends one record through the ring buffer.
 * Which syscalls, and which of their arguments, is decided in user space and
 * handed over in the `specs` map, so this file knows no syscall numbers.
 *
 * Every loss is counted in `stats`: nothing is dropped silently. */
#include "bpf_kernel.h"
#include "hostscope.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader before load. */
const volatile u32 cfg_all = 0;       /* trace every process but cfg_self_tgid */
const volatile u32 cfg_self_tgid = 0; /* hostscope itself */
const volatile u32 cfg_buf_len = 32;  /* bytes of read/write data to copy */
const volatile u64 cfg_wakeup_bytes = 1 << 16; /* per CPU: wake the reader past this */
/* No sys_enter program is attached: arguments come from the registers at
 * exit, and nothing is timed. Half the cost for what needs no durations. */
const volatile u32 cfg_exit_only = 0;
/* Errnos (below 64) that make a failed HS_SPEC_LOOKUP call worth sending. */
const volatile u64 cfg_lookup_errnos = 0;
/* Send an HS_EV_EXEC record for every exec of a traced process. */
const volatile u32 cfg_exec_events = 0;
/* Exit-only mode: a thread's failed HS_SPEC_LOOKUP calls identical to its
 * last one (same syscall, errno, first argument and captured bytes) are
 * counted, not sent, and reported as one HS_EV_REPEAT before the thread's
 * next record, at its exit, or every REPEAT_FLUSH repeats. A program
 * retrying a missing file a million times costs a million hashes, not a
 * million records. */
const volatile u32 cfg_fold_repeats = 0;
#define REPEAT_FLUSH 65536

/* Exit-only mode: HS_SPEC_SOCKIO calls on stream sockets are sent as
 * HS_EV_SOCKIO records with the socket and the payload's first
 * cfg_payload bytes (hostscope chains). */
const volatile u32 cfg_sockio = 0;
const volatile u32 cfg_payload = 512;
/* With cfg_sockio: reads and writes come from the sock_send_length and
 * sock_recv_length tracepoints (Linux >= 6.3), which hand over the socket
 * itself, rather than from sys_exit, which must find it from the fd.
 * sys_exit keeps connect and accept. */
const volatile u32 cfg_sock_tp = 0;

/* Send an HS_EV_OOM record when the OOM killer chooses a victim. */
const volatile u32 cfg_oom_events = 0;
/* Exit-only mode only: the `live` map may ask for one process, or every
 * process, to be sent in full whatever the specs' delivery rules say
 * (hostscope top's detail and syscall views). */
const volatile u32 cfg_live = 0;

/* The processes we trace (unless cfg_all), one bit per tgid: every syscall
 * of every process on the host is checked against it, and an array lookup is
 * inlined by the verifier where a hash lookup is a helper call and a hash.
 * The loader sizes it to pid_max. Bits change with atomic ops in the kernel
 * (fork, exit); user space sets them before the process runs or once at
 * attach. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_PID_WORDS);
	__type(key, u32);
	__type(value, u64);
} traced SEC(".maps");

/* tgid -> HS_TRACE_* flags, read only when a traced process forks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, u32);
} trace_flags SEC(".maps");

/* One bit per thread id: its last HS_SPEC_LOOKUP call failed, so its next
 * successful one ends a search and is sent. Checked on every successful
 * lookup of every traced thread, hence an array the verifier inlines rather
 * than task storage, whose lookup is a helper call. Sized like `traced`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_PID_WORDS);
	__type(key, u32);
	__type(value, u64);
} searching SEC(".maps");

/* Per thread: its last failed lookup, while repeats of it are counted (see
 * cfg_fold_repeats). Slot tid % HS_REPEAT_SLOTS, held by one thread at a
 * time (hs_last_lookup.holder, 0 when free); a thread whose slot another holds
 * is not folded, every call of it is sent. An array, not a hash keyed by
 * tid: its lookup is inlined, where a hash lookup (a helper call and a
 * hash) was about a tenth of a folded call's cost. Not task storage: user
 * space reads what is still counted when it stops. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_REPEAT_SLOTS);
	__type(key, u32);
	__type(value, struct hs_last_lookup);
} repeats SEC(".maps");

/* What cfg_live shows in full right now; user space changes it at will. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct hs_live);
} live SEC(".maps");

struct pending {
	u64 ts_ns;
	u64 args[HS_NARGS];
	u32 nr;
	u8 active; /* inside a syscall whose entry we saw */
	u8 skip;   /* a new task's first return (from clone): not a loss */
	u16 pad;
};

/* Per thread: the syscall it is in. Task storage lives and dies with the
 * task, and its lookup is a pointer away, unlike a hash keyed by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_SYSCALLS);
	__type(key, u32);
	__type(value, struct hs_spec);
} specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_NSTATS);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

/* A record is assembled here, then copied to the ring with its real size:
 * bpf_ringbuf_reserve needs a constant size, and records vary from 112 bytes
 * to several KiB. Captures start below SCRATCH_HALF and each is at most
 * HS_MAX_STR bytes, so masking an offset with SCRATCH_HALF - 1 keeps every
 * write in bounds for the verifier. */
#define SCRATCH_HALF 16384
#define SCRATCH_SIZE (SCRATCH_HALF + sizeof(struct hs_capture) + HS_MAX_STR)
struct scratch {
	u8 buf[SCRATCH_SIZE];
	/* Where the next capture goes. Kept here rather than on the stack:
	 * loaded from a map it is an unknown (masked) value to the verifier, so
	 * the capture callbacks verify in one pass instead of once per offset. */
	u32 off;
	u32 pad;
	u64 unwoken; /* bytes sent since this CPU last woke the reader */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* This CPU's scratch buffer (NULL only to the verifier). */
static __always_inline struct scratch *cpu_scratch(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

static __always_inline void count(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		*v += 1;
}

static __always_inline u64 *traced_word(u32 tgid)
{
	u32 word = tgid / 64;
	return bpf_map_lookup_elem(&traced, &word);
}

static __always_inline bool is_target(u32 tgid)
{
	if (cfg_all)
		return tgid != cfg_self_tgid;
	u64 *bits = traced_word(tgid);
	return bits && (*bits & (1ULL << (tgid % 64)));
}

static __always_inline bool failed(s64 ret)
{
	return ret < 0 && ret >= -4095;
}

/* Puts a record in the ring, counting it as delivered or lost. */
static __always_inline void output(void *rec, u32 size, u64 flags)
{
	if (bpf_ringbuf_output(&events, rec, size, flags))
		count(HS_STAT_RING_FULL);
	else
		count(HS_STAT_DELIVERED);
}

/* Sends a finished record. Wakeups are batched: waking the reader for every
 * record costs more than the probe itself, so the reader is only woken once
 * this CPU has queued cfg_wakeup_bytes since its last wakeup, and otherwise
 * polls on a short timer. Counted per CPU rather than asked of the ring: the
 * ring's consumer position is written by the reader on another CPU, and
 * reading it for every record bounces its cache line. */
static __always_inline void submit(struct scratch *s, struct hs_event *ev, u32 size)
{
	if (size < sizeof(*ev) || size > SCRATCH_SIZE)
		return;
	ev->size = size;
	u64 flags = BPF_RB_NO_WAKEUP;
	s->unwoken += size;
	if (s->unwoken >= cfg_wakeup_bytes) {
		s->unwoken = 0;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	output(ev, size, flags);
}

/* State shared by the capture callbacks (bpf_loop keeps the verifier's work
 * per argument instead of per combination of arguments). */
struct capture_ctx {
	struct scratch *s;
	struct hs_event *ev;
	const struct hs_spec *spec;
	s64 ret;
	const u64 *argv; /* user pointer to execve's argv */
	u8 argv_arg;
};

/* Appends one capture at ctx->off. `str` reads up to the NUL; otherwise
 * exactly `want` bytes (capped at `cap`). */
static __always_inline void put(struct capture_ctx *c, u8 arg, u8 kind, u16 index,
				const void *src, u64 want, u32 cap, bool str)
{
	u32 off = c->s->off;
	if (off > SCRATCH_HALF - sizeof(struct hs_capture) - HS_MAX_STR) {
		/* The record is full: this argument is not shown. */
		count(HS_STAT_TRUNCATED);
		return;
	}
	off &= SCRATCH_HALF - 1;
	struct hs_capture *hc = (void *)&c->s->buf[off];
	u8 *dst = &c->s->buf[(off + sizeof(*hc)) & (SCRATCH_HALF - 1)];
	u32 limit = want < cap ? want : cap;
	limit &= 2 * HS_MAX_STR - 1;
	if (limit > HS_MAX_STR)
		limit = HS_MAX_STR;
	long n;
	u16 flags = 0, len = 0;
	if (str) {
		n = bpf_probe_read_user_str(dst, limit, src);
		if (n > 0) {
			len = n - 1;
			if (n == limit)
				flags |= HS_CAPF_TRUNCATED;
		}
	} else {
		n = bpf_probe_read_user(dst, limit, src);
		if (n == 0) {
			len = limit;
			if (want > limit)
				flags |= HS_CAPF_TRUNCATED;
		}
	}
	if (n < 0) {
		flags |= HS_CAPF_FAULT;
		count(HS_STAT_UNREADABLE);
	}
	/* Data cut at the user's -s size is what they asked for; a path or an
	 * argv element cut short is a loss. */
	if ((flags & HS_CAPF_TRUNCATED) && str)
		count(HS_STAT_TRUNCATED);
	hc->arg = arg;
	hc->kind = kind;
	hc->index = index;
	hc->len = len;
	hc->flags = flags;
	/* Zero the padding up to the next 8 bytes: it would otherwise hold a
	 * previous record's bytes, and folding hashes whole words. */
	u32 end = off + sizeof(*hc) + len;
	for (int k = 0; k < 7; k++) {
		u32 p = end + k;
		if (!(p & 7))
			break;
		c->s->buf[p & (SCRATCH_HALF - 1)] = 0;
	}
	c->s->off = (off + sizeof(*hc) + len + 7) & ~7u;
	c->ev->ncap += 1;
}

/* An argument by a run-time index, without pointer arithmetic on the index
 * (the verifier cannot bound an index it loaded from a map). */
static __always_inline u64 arg_at(const struct hs_event *ev, u32 i)
{
	switch (i) {
	case 0: return ev->args[0];
	case 1: return ev->args[1];
	case 2: return ev->args[2];
	case 3: return ev->args[3];
	case 4: return ev->args[4];
	case 5: return ev->args[5];
	}
	return 0;
}

static long capture_arg(u64 n, struct capture_ctx *c)
{
	u64 i = n + c->spec->cap_lo;
	if (i >= HS_NARGS)
		return 1;
	u8 kind = c->spec->kind[i];
	u8 aux = c->spec->aux[i];
	const void *ptr = (const void *)arg_at(c->ev, i);
	s64 ret = c->ret;
	if (!ptr)
		return 0;
	switch (kind) {
	case HS_CAP_STR:
		put(c, i, kind, 0, ptr, HS_MAX_STR, HS_MAX_STR, true);
		break;
	case HS_CAP_BUF_IN:
		put(c, i, kind, 0, ptr, arg_at(c->ev, aux), cfg_buf_len, false);
		break;
	case HS_CAP_BUF_OUT:
		if (ret > 0)
			put(c, i, kind, 0, ptr, ret, cfg_buf_len, false);
		break;
	case HS_CAP_SOCKADDR_IN:
		put(c, i, kind, 0, ptr, arg_at(c->ev, aux), HS_SOCKADDR_MAX, false);
		break;
	case HS_CAP_SOCKADDR_OUT: {
		u32 len = 0;
		const void *lenp = (const void *)arg_at(c->ev, aux);
		if (ret >= 0 && lenp && !bpf_probe_read_user(&len, sizeof(len), lenp))
			put(c, i, kind, 0, ptr, len, HS_SOCKADDR_MAX, false);
		break;
	}
	case HS_CAP_FDPAIR:
		if (ret == 0)
			put(c, i, kind, 0, ptr, 8, 8, false);
		break;
	case HS_CAP_INT_OUT:
		if (ret >= 0)
			put(c, i, kind, 0, ptr, 4, 4, false);
		break;
	case HS_CAP_STRUCT:
		put(c, i, kind, 0, ptr, aux, 255, false);
		break;
	case HS_CAP_ARGV:
		c->argv = ptr;
		c->argv_arg = i;
		break;
	}
	return 0;
}

static long capture_entry_arg(u64 n, struct capture_ctx *c)
{
	u64 i = n + c->spec->cap_lo;
	if (i >= HS_NARGS)
		return 1;
	u8 kind = c->spec->kind[i];
	const void *ptr = (const void *)arg_at(c->ev, i);
	if (!ptr)
		return 0;
	if (kind == HS_CAP_STR)
		put(c, i, kind, 0, ptr, HS_MAX_STR, HS_MAX_STR, true);
	else if (kind == HS_CAP_ARGV) {
		c->argv = ptr;
		c->argv_arg = i;
	}
	return 0;
}

static long capture_argv_item(u64 i, struct capture_ctx *c)
{
	u64 item = 0;
	if (bpf_probe_read_user(&item, sizeof(item), &c->argv[i & (HS_MAX_ARGV - 1)]) || !item)
		return 1;
	if (c->s->off > SCRATCH_HALF - sizeof(struct hs_capture) - HS_MAX_STR) {
		c->ev->flags |= HS_EVF_ARGV_TRUNC;
		count(HS_STAT_TRUNCATED);
		return 1;
	}
	put(c, c->argv_arg, HS_CAP_ARGV, i, (const void *)item, HS_MAX_ARG, HS_MAX_ARG, true);
	if (i == HS_MAX_ARGV - 1) {
		u64 next = 0;
		bpf_probe_read_user(&next, sizeof(next), &c->argv[HS_MAX_ARGV]);
		if (next) {
			c->ev->flags |= HS_EVF_ARGV_TRUNC;
			count(HS_STAT_TRUNCATED);
		}
	}
	return 0;
}

/* Starts a record in `s`, without the thread's name and ids (see
 * identify): a record that may be folded away is not worth them. */
static __always_inline struct hs_event *start_bare(struct scratch *s, u32 kind, u64 pid_tgid)
{
	struct hs_event *ev = (void *)s->buf;
	ev->kind = kind;
	ev->tgid = pid_tgid >> 32;
	ev->tid = (u32)pid_tgid;
	ev->ncap = 0;
	ev->flags = 0;
	ev->dur_ns = 0;
	ev->ret = 0;
	return ev;
}

/* The current thread's name, uid and gid, into its record. */
static __always_inline void identify(struct hs_event *ev)
{
	u64 uid_gid = bpf_get_current_uid_gid();
	ev->uid = (u32)uid_gid;
	ev->gid = uid_gid >> 32;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

static __always_inline struct hs_event *start(struct scratch *s, u32 kind, u64 pid_tgid)
{
	struct hs_event *ev = start_bare(s, kind, pid_tgid);
	identify(ev);
	return ev;
}

/* A syscall's first argument, alone: what the delivery decision needs. */
static __always_inline u64 first_arg(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->di;
#else
	return regs->orig_x0;
#endif
}

static __always_inline void read_args(u64 *args, struct pt_regs *regs)
{
	args[0] = first_arg(regs);
#if defined(__TARGET_ARCH_x86)
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
#else
	args[1] = regs->regs[1];
	args[2] = regs->regs[2];
	args[3] = regs->regs[3];
	args[4] = regs->regs[4];
	args[5] = regs->regs[5];
#endif
}

SEC("tp_btf/sys_enter")
int hs_sys_enter(u64 *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_target(pid_tgid >> 32))
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	u32 nr = (u32)ctx[1];
	if (nr >= HS_MAX_SYSCALLS)
		return 0;
	const struct hs_spec *spec = bpf_map_lookup_elem(&specs, &nr);
	if (!spec || !(spec->flags & HS_SPEC_ENABLED))
		return 0;

	struct pending p = { .ts_ns = bpf_ktime_get_ns(), .nr = nr, .active = 1 };
	read_args(p.args, regs);

	if (spec->flags & (HS_SPEC_NORETURN | HS_SPEC_ENTRY_CAPTURE)) {
		struct scratch *s = cpu_scratch();
		if (!s)
			return 0;
		bool noreturn = spec->flags & HS_SPEC_NORETURN;
		struct hs_event *ev = start(s, noreturn ? HS_EV_SYSCALL : HS_EV_EXEC_ARGS, pid_tgid);
		ev->nr = nr;
		ev->ts_ns = p.ts_ns;
		for (int i = 0; i < HS_NARGS; i++)
			ev->args[i] = p.args[i];
		if (noreturn) {
			ev->flags |= HS_EVF_NORETURN;
			submit(s, ev, sizeof(*ev));
			return 0;
		}
		s->off = sizeof(*ev);
		struct capture_ctx c = { .s = s, .ev = ev, .spec = spec };
		bpf_loop(spec->cap_hi - spec->cap_lo, capture_entry_arg, &c, 0);
		if (c.argv)
			bpf_loop(HS_MAX_ARGV, capture_argv_item, &c, 0);
		submit(s, ev, s->off);
	}

	struct pending *slot = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), NULL,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!slot) {
		count(HS_STAT_TABLE_FULL);
		return 0;
	}
	*slot = p;
	return 0;
}

/* Whether a finished call of thread `tid` is worth a record, by its spec's
 * delivery rule. */
static __always_inline bool wanted(const struct hs_spec *spec, s64 ret, u64 arg0, u32 tid)
{
	if ((spec->flags & HS_SPEC_FAILED_ONLY) && !failed(ret))
		return false;
	if ((spec->flags & HS_SPEC_STDERR) && arg0 != 2)
		return false;
	if (!(spec->flags & HS_SPEC_LOOKUP))
		return true;
	/* Most lookups succeed, and a success matters only as the end of a
	 * search: the one right after a failure of the same thread. */
	bool fail = failed(ret);
	if (fail) {
		u64 err = -ret;
		/* Bit 63 stands for every errno from 63 up. */
		if (err > 63)
			err = 63;
		if (!((cfg_lookup_errnos >> err) & 1))
			return false;
	}
	u32 w = tid / 64;
	u64 *word = bpf_map_lookup_elem(&searching, &w);
	if (!word)
		return fail;
	u64 bit = 1ULL << (tid % 64);
	if (fail) {
		if (!(*word & bit))
			__sync_fetch_and_or(word, bit);
		return true;
	}
	if (!(*word & bit))
		return false;
	__sync_fetch_and_and(word, ~bit);
	return true;
}

/* Fills the record's captures; returns the record's size. */
static __always_inline u32 capture(struct scratch *s, struct hs_event *ev,
				   const struct hs_spec *spec, s64 ret)
{
	u32 off = sizeof(*ev);
	bool memory_gone = (spec->flags & HS_SPEC_EXEC) && !failed(ret);
	u32 ncap = spec->cap_hi - spec->cap_lo;
	if (!(spec->flags & HS_SPEC_ENTRY_CAPTURE) && !memory_gone && ncap) {
		s->off = off;
		struct capture_ctx c = { .s = s, .ev = ev, .spec = spec, .ret = ret };
		u32 i = spec->cap_lo;
		/* One string (a path: most of what is traced) needs no loop. */
		if (ncap == 1 && i < HS_NARGS && spec->kind[i] == HS_CAP_STR) {
			const void *ptr = (const void *)arg_at(ev, i);
			if (ptr)
				put(&c, i, HS_CAP_STR, 0, ptr, HS_MAX_STR, HS_MAX_STR, true);
		} else {
			bpf_loop(ncap, capture_arg, &c, 0);
		}
		off = s->off;
	}
	return off;
}

/* Fills the record's captures and sends it. */
static __always_inline void finish(struct scratch *s, struct hs_event *ev,
				   const struct hs_spec *spec, s64 ret)
{
	submit(s, ev, capture(s, ev, spec, ret));
}

struct hash_ctx {
	struct scratch *s;
	u64 h;
};

/* FNV-1a over 64-bit words. */
static long hash_word(u64 i, struct hash_ctx *c)
{
	u32 off = (sizeof(struct hs_event) + i * 8) & (SCRATCH_HALF - 1);
	c->h = (c->h ^ *(u64 *)&c->s->buf[off]) * 0x100000001b3ULL;
	return 0;
}

/* Reports the repeats `last` still counts, as a record of its own (the
 * scratch buffer holds the record being built). */
static __always_inline void send_repeats(struct hs_last_lookup *last)
{
	if (!last->count)
		return;
	struct hs_event rep = {};
	rep.kind = HS_EV_REPEAT;
	rep.tgid = last->holder >> 32;
	rep.tid = (u32)last->holder;
	rep.ts_ns = last->last_ts;
	rep.ret = last->count;
	rep.size = sizeof(rep);
	last->count = 0;
	output(&rep, sizeof(rep), 0);
}

/* The repeats slot of thread `pid_tgid`, or NULL if another thread holds
 * it. With `claim`, a free slot becomes the thread's: only its holder
 * writes it, so two threads sharing a slot on two CPUs never mix their
 * counts. */
static __always_inline struct hs_last_lookup *repeat_slot(u64 pid_tgid, bool claim)
{
	u32 key = (u32)pid_tgid & (HS_REPEAT_SLOTS - 1);
	struct hs_last_lookup *last = bpf_map_lookup_elem(&repeats, &key);
	if (!last)
		return NULL;
	if (last->holder == pid_tgid)
		return last;
	if (!claim || __sync_val_compare_and_swap(&last->holder, 0, pid_tgid) != 0)
		return NULL;
	/* Matches no lookup's hash (but with odds of 2^-64): the new holder's
	 * first call is not taken for a repeat of the last holder's. */
	last->hash = 0;
	last->count = 0;
	return last;
}

/* Reports what the holder still counts and frees the slot. The exchange
 * orders the count's reset before the slot is seen free. */
static __always_inline void release_slot(struct hs_last_lookup *last)
{
	send_repeats(last);
	__sync_lock_test_and_set(&last->holder, 0);
}

/* Whether the record built in `s` (of size `size`, a failed lookup when
 * `lookup`) is a repeat to count rather than send; reports the thread's
 * counted repeats before anything else of it is sent. */
static __always_inline bool folded(struct scratch *s, struct hs_event *ev, u32 size, bool lookup)
{
	struct hs_last_lookup *last = repeat_slot((u64)ev->tgid << 32 | ev->tid, lookup);
	if (!last)
		return false;
	if (!lookup) {
		release_slot(last);
		return false;
	}
	struct hash_ctx c = { .s = s, .h = 0xcbf29ce484222325ULL };
	c.h ^= ((u64)ev->nr << 32) ^ (u64)ev->ret;
	c.h = (c.h ^ ev->args[0]) * 0x100000001b3ULL;
	/* Masked: left as a u32 the compiler may hand bpf_loop a 64-bit value
	 * whose high bits the kernel's inlined loop does not ignore (it then
	 * returns -E2BIG and hashes nothing). */
	u64 words = ((size - sizeof(*ev)) / 8) & (SCRATCH_HALF / 8 - 1);
	bpf_loop(words, hash_word, &c, 0);
	if (last->hash == c.h) {
		last->count += 1;
		last->last_ts = ev->ts_ns;
		if (last->count >= REPEAT_FLUSH)
			send_repeats(last);
		return true;
	}
	send_repeats(last);
	last->hash = c.h;
	last->last_ts = ev->ts_ns;
	return false;
}


/* A kernel read at a CO-RE-relocated address: for pointers the verifier
 * only knows as numbers (read from the fd table). */
#define CORE_READ(dst, src) \
	bpf_probe_read_kernel((dst), sizeof(*(dst)), __builtin_preserve_access_index(src))

#define HS_S_IFMT 0170000
#define HS_S_IFSOCK 0140000
#define HS_AF_UNIX 1
#define HS_AF_INET 2
#define HS_AF_INET6 10
#define HS_SOCK_STREAM 1

/* Byte offset of a field in the running kernel (a CO-RE relocation). */
#define FIELD_OFFSET(field) __builtin_preserve_field_info(field, 0 /* BPF_FIELD_BYTE_OFFSET */)

/* Reads `len` bytes at offset `base` of the kernel object `obj` into
 * `block`: neighbouring fields fetched by one probe read instead of one
 * each, since every helper call costs tens of nanoseconds on the hottest
 * path of a server. Where a field sits in the block is its CO-RE offset
 * minus `base`, so a kernel that moved it still reads right; one whose
 * layout puts it outside the block is refused at the field's check. */
static __always_inline bool read_block(void *block, u32 len, const void *obj, u32 base)
{
	return !bpf_probe_read_kernel(block, len, (const u8 *)obj + base);
}

/* The field at relative offset `rel` in `block`, if it fits there. */
#define BLOCK_FIELD(dst, block, rel)                                            \
	({                                                                      \
		bool ok_ = (rel) <= sizeof(block) - sizeof(*(dst));            \
		if (ok_)                                                        \
			__builtin_memcpy((dst), &(block)[(rel) & (sizeof(block) - 1)], sizeof(*(dst))); \
		ok_;                                                            \
	})

/* Starts `info` for `sk`: its identity, no address yet. */
static __always_inline void sockinfo_start(struct hs_sockinfo *info, struct sock *sk,
					   unsigned short family, short type)
{
	info->sk = (u64)sk;
	info->peer = 0;
	info->family = family;
	info->type = type;
	info->lport = 0;
	info->rport = 0;
	__builtin_memset(info->laddr, 0, sizeof(info->laddr));
	__builtin_memset(info->raddr, 0, sizeof(info->raddr));
}

/* The other end of unix socket `sk`: past what the verifier knows of a
 * struct sock, so a probe read. */
static __always_inline u64 unix_peer(struct sock *sk)
{
	struct sock *peer = NULL;
	CORE_READ(&peer, &((struct unix_sock *)sk)->peer);
	return (u64)peer;
}

/* Fills `info` for the stream socket behind the current task's `fd`;
 * false for anything else (a file, a pipe, a datagram socket).
 *
 * The task's fd table is reached by direct loads (the task is a BTF
 * pointer, so the verifier turns them into checked loads, no helper
 * call); past the table the pointers are plain numbers and are read with
 * probe reads, the fields that sit together fetched together. */
static __always_inline bool socket_of(s64 fd, struct hs_sockinfo *info)
{
	if (fd < 0 || fd > 0x7fffffff)
		return false;
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	if (!files)
		return false;
	struct fdtable *fdt = files->fdt;
	if (!fdt)
		return false;
	struct file **table = fdt->fd;
	if ((u64)fd >= fdt->max_fds || !table)
		return false;
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &table[fd]);
	if (!file)
		return false;

	/* struct file: f_inode and private_data, neighbours since Linux 6.7's
	 * reordering of struct file, far apart before it: one read or two. The
	 * offsets are constants once relocated, so the verifier keeps one
	 * branch. */
	u8 fblock[32];
	u32 f_inode = FIELD_OFFSET(file->f_inode);
	u32 f_private = FIELD_OFFSET(file->private_data);
	u32 fbase = f_inode < f_private ? f_inode : f_private;
	struct inode *inode = NULL;
	struct socket *sock = NULL;
	if ((f_inode > f_private ? f_inode - f_private : f_private - f_inode) + sizeof(void *) <=
	    sizeof(fblock)) {
		if (!read_block(fblock, sizeof(fblock), file, fbase) ||
		    !BLOCK_FIELD(&inode, fblock, f_inode - fbase) ||
		    !BLOCK_FIELD(&sock, fblock, f_private - fbase))
			return false;
	} else {
		CORE_READ(&inode, &file->f_inode);
		CORE_READ(&sock, &file->private_data);
	}
	if (!inode)
		return false;
	unsigned short mode = 0;
	CORE_READ(&mode, &inode->i_mode);
	if ((mode & HS_S_IFMT) != HS_S_IFSOCK || !sock)
		return false;

	/* struct socket: type and sk, in one read where they sit within a
	 * block (as they do since its wait queue moved to its end), else in
	 * two. */
	u8 sblock[32];
	u32 s_type = FIELD_OFFSET(sock->type);
	u32 s_sk = FIELD_OFFSET(sock->sk);
	short type = 0;
	struct sock *sk = NULL;
	if (s_sk > s_type && s_sk - s_type + sizeof(sk) <= sizeof(sblock)) {
		if (!read_block(sblock, sizeof(sblock), sock, s_type) ||
		    !BLOCK_FIELD(&type, sblock, 0) || !BLOCK_FIELD(&sk, sblock, s_sk - s_type))
			return false;
	} else {
		CORE_READ(&type, &sock->type);
		CORE_READ(&sk, &sock->sk);
	}
	if (type != HS_SOCK_STREAM || !sk)
		return false;

	/* struct sock_common: both IPv4 addresses, both ports, the family. */
	u8 cblock[32];
	u32 c_daddr = FIELD_OFFSET(sk->__sk_common.skc_daddr);
	u32 c_saddr = FIELD_OFFSET(sk->__sk_common.skc_rcv_saddr);
	u32 c_dport = FIELD_OFFSET(sk->__sk_common.skc_dport);
	u32 c_num = FIELD_OFFSET(sk->__sk_common.skc_num);
	u32 c_family = FIELD_OFFSET(sk->__sk_common.skc_family);
	unsigned short family = 0;
	if (!read_block(cblock, sizeof(cblock), sk, c_daddr) ||
	    !BLOCK_FIELD(&family, cblock, c_family - c_daddr))
		return false;
	sockinfo_start(info, sk, family, type);
	if (family == HS_AF_INET) {
		if (!BLOCK_FIELD((u32 *)info->laddr, cblock, c_saddr - c_daddr) ||
		    !BLOCK_FIELD((u32 *)info->raddr, cblock, 0))
			return false;
	} else if (family == HS_AF_INET6) {
		CORE_READ((struct in6_addr *)info->laddr, &sk->__sk_common.skc_v6_rcv_saddr);
		CORE_READ((struct in6_addr *)info->raddr, &sk->__sk_common.skc_v6_daddr);
	} else if (family == HS_AF_UNIX) {
		info->peer = unix_peer(sk);
		return true;
	} else {
		return false;
	}
	return BLOCK_FIELD(&info->lport, cblock, c_num - c_daddr) &&
	       BLOCK_FIELD(&info->rport, cblock, c_dport - c_daddr);
}

struct hs_iovec {
	const void *base;
	u64 len;
};

/* Fills `info` for stream socket `sk`, as the socket tracepoints hand it
 * over: a BTF pointer, so every field is a direct load, no helper call
 * (but a unix socket's peer); false for a family we do not follow. */
static __always_inline bool socket_of_sk(struct sock *sk, struct hs_sockinfo *info)
{
	unsigned short family = sk->__sk_common.skc_family;
	sockinfo_start(info, sk, family, HS_SOCK_STREAM);
	if (family == HS_AF_INET) {
		*(u32 *)info->laddr = sk->__sk_common.skc_rcv_saddr;
		*(u32 *)info->raddr = sk->__sk_common.skc_daddr;
	} else if (family == HS_AF_INET6) {
		__builtin_memcpy(info->laddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(info->raddr, &sk->__sk_common.skc_v6_daddr, 16);
	} else if (family == HS_AF_UNIX) {
		info->peer = unix_peer(sk);
		return true;
	} else {
		return false;
	}
	info->lport = sk->__sk_common.skc_num;
	info->rport = sk->__sk_common.skc_dport;
	return true;
}

/* Starts an HS_EV_SOCKIO record in the scratch buffer: the header, and the
 * hs_sockinfo capture whose place it returns (NULL without scratch). */
static __always_inline struct hs_sockinfo *start_sockio(struct scratch *s, u64 pid_tgid,
							struct pt_regs *regs, s64 ret, u32 nr)
{
	struct hs_event *ev = start(s, HS_EV_SOCKIO, pid_tgid);
	ev->nr = nr;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ret = ret;
	ev->flags = HS_EVF_NO_DURATION;
	read_args(ev->args, regs);
	u32 off = sizeof(*ev);
	struct hs_capture *hc = (void *)&s->buf[off];
	hc->arg = 0;
	hc->kind = HS_CAP_SOCKINFO;
	hc->index = 0;
	hc->flags = 0;
	hc->len = sizeof(struct hs_sockinfo);
	ev->ncap = 1;
	s->off = off + sizeof(*hc) + sizeof(struct hs_sockinfo);
	return (void *)&s->buf[off + sizeof(*hc)];
}

/* Ends the HS_EV_SOCKIO record started in `s` with the first bytes of what
 * went through the socket, and sends it. */
static __always_inline void send_sockio(struct scratch *s, const struct hs_spec *spec, s64 ret)
{
	struct hs_event *ev = (void *)s->buf;
	u8 how = spec->aux[0];
	const void *buf = NULL;
	u64 len = ret > 0 ? ret : 0;
	if (how == HS_IO_BUF) {
		buf = (const void *)ev->args[1];
	} else if (how == HS_IO_IOV || how == HS_IO_MSG) {
		const void *iov = (const void *)ev->args[1];
		if (how == HS_IO_MSG) {
			/* struct user_msghdr: msg_name, msg_namelen, then msg_iov. */
			iov = NULL;
			bpf_probe_read_user(&iov, sizeof(iov), (const u8 *)ev->args[1] + 16);
		}
		struct hs_iovec first = {};
		if (iov && !bpf_probe_read_user(&first, sizeof(first), iov)) {
			buf = first.base;
			if (first.len < len)
				len = first.len;
		}
	}
	if (buf && len) {
		struct capture_ctx c = { .s = s, .ev = ev, .spec = spec, .ret = ret };
		put(&c, 1, HS_CAP_BUF_OUT, 0, buf, len, cfg_payload, false);
	}
	submit(s, ev, s->off);
}

/* An HS_EV_SOCKIO record for a socket call that ended with `ret`, found at
 * sys_exit: which socket, and the first bytes of what went through it. */
static __always_inline int sockio(u64 pid_tgid, struct pt_regs *regs, s64 ret, u32 nr,
				  const struct hs_spec *spec)
{
	u8 how = spec->aux[0];
	/* Failed reads and writes (EAGAIN on a non-blocking socket, mostly)
	 * moved nothing; a failed connect is a failed hop. */
	if (failed(ret) && how != HS_IO_CONNECT)
		return 0;
	/* The socket tracepoints send reads and writes. */
	if (cfg_sock_tp && how != HS_IO_CONNECT && how != HS_IO_ACCEPT)
		return 0;
	struct scratch *s = cpu_scratch();
	if (!s)
		return 0;
	struct hs_sockinfo *info = start_sockio(s, pid_tgid, regs, ret, nr);
	s64 fd = how == HS_IO_ACCEPT ? ret : (s64)first_arg(regs);
	if (!socket_of(fd, info))
		return 0;
	send_sockio(s, spec, ret);
	return 0;
}

/* Whether the live map asks for every call of `tgid`. */
static __always_inline bool shown_in_full(u32 tgid)
{
	if (!cfg_live)
		return false;
	u32 zero = 0;
	const struct hs_live *l = bpf_map_lookup_elem(&live, &zero);
	return l && (l->everything || (l->focus_tgid && l->focus_tgid == tgid));
}

/* Whether socket records are wanted now: always, unless the live map
 * decides (hostscope top asks for them while its Chains screen is open). */
static __always_inline bool sockets_wanted(void)
{
	if (!cfg_live)
		return true;
	u32 zero = 0;
	const struct hs_live *l = bpf_map_lookup_elem(&live, &zero);
	return l && l->sockets;
}

/* Without an entry program: everything comes from the registers, and the
 * decision is made before any other work, since most calls are not sent. */
static __always_inline int exit_only(u64 pid_tgid, struct pt_regs *regs, s64 ret)
{
	u32 nr = (u32)SYSCALL_NR(regs);
	if (nr >= HS_MAX_SYSCALLS)
		return 0;
	const struct hs_spec *spec = bpf_map_lookup_elem(&specs, &nr);
	if (!spec || !(spec->flags & HS_SPEC_ENABLED))
		return 0;
	if (cfg_sockio && (spec->flags & HS_SPEC_SOCKIO) && sockets_wanted())
		return sockio(pid_tgid, regs, ret, nr, spec);
	if (!shown_in_full(pid_tgid >> 32) && !wanted(spec, ret, first_arg(regs), (u32)pid_tgid))
		return 0;
	struct scratch *s = cpu_scratch();
	if (!s)
		return 0;
	struct hs_event *ev = start_bare(s, HS_EV_SYSCALL, pid_tgid);
	ev->nr = nr;
	ev->flags = HS_EVF_NO_DURATION;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ret = ret;
	read_args(ev->args, regs);
	u32 size = capture(s, ev, spec, ret);
	if (cfg_fold_repeats &&
	    folded(s, ev, size, (spec->flags & HS_SPEC_LOOKUP) && failed(ret)))
		return 0;
	identify(ev);
	submit(s, ev, size);
	return 0;
}

SEC("tp_btf/sys_exit")
int hs_sys_exit(u64 *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_target(pid_tgid >> 32))
		return 0;
	s64 ret = (s64)ctx[1];
	if (cfg_exit_only)
		return exit_only(pid_tgid, (struct pt_regs *)ctx[0], ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct pending *pp = bpf_task_storage_get(&inflight, task, NULL, 0);
	struct pending p;
	u16 evflags = 0;
	u64 now = bpf_ktime_get_ns();
	if (pp && pp->active) {
		pp->active = 0;
		p = *pp;
		/* Keep p a real stack copy: merged with the path below, reads
		 * through either a map or a stack pointer would share instructions,
		 * which the verifier refuses. */
		asm volatile("" ::: "memory");
	} else if (pp && pp->skip) {
		pp->skip = 0;
		return 0;
	} else {
		/* The syscall began before we looked (a process attached while
		 * blocked in read, say). The registers still hold its arguments:
		 * deliver it, marked, without a duration. */
		struct pt_regs *regs = (struct pt_regs *)ctx[0];
		p.nr = (u32)SYSCALL_NR(regs);
		p.ts_ns = now;
		read_args(p.args, regs);
		evflags = HS_EVF_NO_ENTRY;
	}

	u32 nr = p.nr;
	const struct hs_spec *spec = nr < HS_MAX_SYSCALLS ? bpf_map_lookup_elem(&specs, &nr) : NULL;
	if (!spec || !(spec->flags & HS_SPEC_ENABLED))
		return 0;
	if (evflags & HS_EVF_NO_ENTRY)
		count(HS_STAT_UNMATCHED_EXIT);
	if (!wanted(spec, ret, p.args[0], (u32)pid_tgid))
		return 0;

	struct scratch *s = cpu_scratch();
	if (!s)
		return 0;
	struct hs_event *ev = start(s, HS_EV_SYSCALL, pid_tgid);
	ev->nr = nr;
	ev->flags = evflags;
	ev->ts_ns = p.ts_ns;
	ev->dur_ns = now - p.ts_ns;
	ev->ret = ret;
	for (int i = 0; i < HS_NARGS; i++)
		ev->args[i] = p.args[i];
	finish(s, ev, spec, ret);
	return 0;
}

#define HS_TCP_ESTABLISHED 1
#define HS_TCP_SYN_SENT 2
#define HS_TCP_SYN_RECV 3
#define HS_TCP_CLOSE 7

/* The life of a TCP connection, whoever began or ended it: a socket
 * reaching TCP_ESTABLISHED (from SYN_SENT on the end that connected, from
 * SYN_RECV on the end that accepted) or TCP_CLOSE. This often runs in
 * softirq context, on behalf of no process, so it is not filtered by
 * target: two records per connection are cheap, and user space ignores
 * sockets it never sees used. Unix sockets have no such tracepoint; their
 * end shows as a read of 0 bytes. */
SEC("tp_btf/inet_sock_set_state")
int hs_sock_state(u64 *ctx)
{
	int old = (int)ctx[1];
	int new = (int)ctx[2];
	u32 kind;
	if (new == HS_TCP_CLOSE)
		kind = HS_EV_SOCKCLOSE;
	else if (new == HS_TCP_ESTABLISHED && (old == HS_TCP_SYN_SENT || old == HS_TCP_SYN_RECV))
		kind = HS_EV_SOCKOPEN;
	else
		return 0;
	if (!cfg_sockio || !sockets_wanted())
		return 0;
	/* Built on the stack, not in the per-CPU scratch: a softirq can
	 * interrupt the syscall program in the middle of its record. */
	struct hs_event ev = {};
	ev.kind = kind;
	ev.ts_ns = bpf_ktime_get_ns();
	ev.flags = HS_EVF_NO_DURATION;
	ev.args[0] = ctx[0];
	ev.args[1] = old == HS_TCP_SYN_SENT;
	ev.size = sizeof(ev);
	/* No wakeup of its own: the reader polls, and neither is a hurry. */
	output(&ev, sizeof(ev), BPF_RB_NO_WAKEUP);
	return 0;
}

/* A read or write of `ret` bytes on `sk` by the current thread, seen by
 * the socket tracepoints: the syscall it belongs to, and its buffers, are
 * in the thread's saved registers. Anything that is not one of the socket
 * calls we decode (sendfile, io_uring) has no spec with HS_SPEC_SOCKIO and
 * is left alone; a kernel thread's socket (NFS, iSCSI) has no syscall at
 * all, only registers that mean nothing; and a kernel socket (no file:
 * an NFS client's, sending in the thread whose read of an NFS file needed
 * it) belongs to no syscall of the thread, whatever its registers say. */
static __always_inline int sock_moved(struct sock *sk, s64 ret)
{
	/* Datagrams (DNS, say) first out: the type is one load away. */
	if (!cfg_sockio || !cfg_sock_tp || ret <= 0 || sk->sk_type != HS_SOCK_STREAM)
		return 0;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_target(pid_tgid >> 32) || !sockets_wanted())
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->flags & PF_KTHREAD)
		return 0;
	struct socket *socket = sk->sk_socket;
	if (!socket || !socket->file)
		return 0;
	struct pt_regs *regs = bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	u32 nr = (u32)SYSCALL_NR(regs);
	if (nr >= HS_MAX_SYSCALLS)
		return 0;
	const struct hs_spec *spec = bpf_map_lookup_elem(&specs, &nr);
	if (!spec || !(spec->flags & HS_SPEC_ENABLED) || !(spec->flags & HS_SPEC_SOCKIO))
		return 0;
	u8 how = spec->aux[0];
	if (how != HS_IO_BUF && how != HS_IO_IOV && how != HS_IO_MSG)
		return 0;
	struct scratch *s = cpu_scratch();
	if (!s)
		return 0;
	struct hs_sockinfo *info = start_sockio(s, pid_tgid, regs, ret, nr);
	if (!socket_of_sk(sk, info))
		return 0;
	send_sockio(s, spec, ret);
	return 0;
}

/* sock_send_length(struct sock *sk, int ret, int flags) */
SEC("tp_btf/sock_send_length")
int hs_sock_send(u64 *ctx)
{
	return sock_moved((struct sock *)ctx[0], (s64)(int)ctx[1]);
}

#define HS_MSG_PEEK 2

/* sock_recv_length(struct sock *sk, int ret, int flags). A peek leaves
 * the bytes for the read that follows, which sends them. */
SEC("tp_btf/sock_recv_length")
int hs_sock_recv(u64 *ctx)
{
	if ((int)ctx[2] & HS_MSG_PEEK)
		return 0;
	return sock_moved((struct sock *)ctx[0], (s64)(int)ctx[1]);
}

/* Children of a followed process are traced from their first instruction;
 * every new thread of a traced process skips its first syscall exit (the
 * return from clone, whose entry it never made). */
SEC("tp_btf/sched_process_fork")
int hs_fork(u64 *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx[0];
	struct task_struct *child = (struct task_struct *)ctx[1];
	u32 ptgid = parent->tgid;
	u32 ctgid = child->tgid;
	if (!is_target(ptgid))
		return 0;
	if (!cfg_all && ctgid != ptgid) {
		u32 *flags = bpf_map_lookup_elem(&trace_flags, &ptgid);
		if (!flags || !(*flags & HS_TRACE_FOLLOW))
			return 0;
		u32 f = *flags;
		u64 *bits = traced_word(ctgid);
		if (!bits || bpf_map_update_elem(&trace_flags, &ctgid, &f, BPF_ANY)) {
			count(HS_STAT_TABLE_FULL);
			return 0;
		}
		__sync_fetch_and_or(bits, 1ULL << (ctgid % 64));
	}
	if (ctgid != ptgid) {
		/* Emitted here, before the child can run, so the child's first
		 * record never overtakes the news of its birth (clone's return in
		 * the parent can). */
		struct scratch *s = cpu_scratch();
		if (s) {
			struct hs_event *ev = start(s, HS_EV_FORK, bpf_get_current_pid_tgid());
			ev->ts_ns = bpf_ktime_get_ns();
			ev->ret = ctgid;
			submit(s, ev, sizeof(*ev));
		}
	}
	struct pending *slot = bpf_task_storage_get(&inflight, child, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (slot)
		slot->skip = 1;
	else
		count(HS_STAT_TABLE_FULL);
	return 0;
}

/* What the probe keeps of thread `pid_tgid`, let go when its id does: a
 * thread id is reused, and the next thread must not inherit a search this
 * one left open, nor its repeats slot. (An exec that fails past the point
 * of no return, after the thread took the leader's id, reaches neither
 * place that calls this: its old id's state stays until the id is reused
 * by a thread that looks something up.) */
static __always_inline void forget_thread(u64 pid_tgid)
{
	u32 tid = (u32)pid_tgid;
	u32 w = tid / 64;
	u64 *word = bpf_map_lookup_elem(&searching, &w);
	if (word && (*word & (1ULL << (tid % 64))))
		__sync_fetch_and_and(word, ~(1ULL << (tid % 64)));
	if (cfg_fold_repeats) {
		struct hs_last_lookup *last = repeat_slot(pid_tgid, false);
		if (last)
			release_slot(last);
	}
}

/* The file a process now runs, as the kernel opened it: after a successful
 * execve the caller's copy of the name is gone with its old memory. */
SEC("tp_btf/sched_process_exec")
int hs_exec(u64 *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_target(pid_tgid >> 32))
		return 0;
	/* A thread other than the leader that execs takes the leader's id
	 * (ctx[1] is the one it had), and never exits under its own. */
	u32 old_tid = (u32)ctx[1];
	if (old_tid != (u32)pid_tgid)
		forget_thread((pid_tgid & ~0xffffffffULL) | old_tid);
	if (!cfg_exec_events)
		return 0;
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
	struct scratch *s = cpu_scratch();
	if (!s)
		return 0;
	struct hs_event *ev = start(s, HS_EV_EXEC, pid_tgid);
	ev->ts_ns = bpf_ktime_get_ns();
	struct hs_capture *hc = (void *)&s->buf[sizeof(*ev)];
	u8 *dst = &s->buf[sizeof(*ev) + sizeof(*hc)];
	long n = bpf_probe_read_kernel_str(dst, HS_MAX_STR, bprm->filename);
	hc->arg = 0;
	hc->kind = HS_CAP_STR;
	hc->index = 0;
	hc->flags = 0;
	hc->len = 0;
	if (n > 0) {
		hc->len = n - 1;
		if (n == HS_MAX_STR) {
			hc->flags |= HS_CAPF_TRUNCATED;
			count(HS_STAT_TRUNCATED);
		}
	} else {
		hc->flags |= HS_CAPF_FAULT;
		count(HS_STAT_UNREADABLE);
	}
	ev->ncap = 1;
	submit(s, ev, (sizeof(*ev) + sizeof(*hc) + hc->len + 7) & ~7u);
	return 0;
}

/* The OOM killer chose `task` (ctx[0]; its uid in ctx[1], Linux >= 6.8).
 * This runs in the process that needed the memory, not in the victim: the
 * record names the victim, and the one that triggered it in `ret`. Every
 * process, whatever the scope: an OOM kill is news for everyone. */
SEC("tp_btf/mark_victim")
int hs_oom(u64 *ctx)
{
	if (!cfg_oom_events)
		return 0;
	struct task_struct *victim = (struct task_struct *)ctx[0];
	struct scratch *s = cpu_scratch();
	if (!s)
		return 0;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hs_event *ev = start(s, HS_EV_OOM, pid_tgid);
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ret = pid_tgid >> 32;
	ev->tgid = victim->tgid;
	ev->tid = victim->pid;
	ev->uid = (u32)ctx[1];
	bpf_probe_read_kernel(ev->comm, sizeof(ev->comm), victim->comm);
	submit(s, ev, sizeof(*ev));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int hs_exit(u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	bool group_dead = (bool)ctx[1];
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	/* Before the target check: the last thread out clears the process's
	 * bit (below) while another, already counted out, may not yet have
	 * come this way. Untraced threads hold nothing: two map reads. */
	forget_thread(pid_tgid);
	if (!is_target(tgid))
		return 0;
	if (!group_dead)
		return 0;
	struct scratch *s = cpu_scratch();
	if (s) {
		struct hs_event *ev = start(s, HS_EV_EXIT, pid_tgid);
		ev->ts_ns = bpf_ktime_get_ns();
		int code = task->exit_code;
		if (!code)
			code = task->signal->group_exit_code;
		ev->ret = code;
		submit(s, ev, sizeof(*ev));
	}
	if (!cfg_all) {
		u64 *bits = traced_word(tgid);
		if (bits)
			__sync_fetch_and_and(bits, ~(1ULL << (tgid % 64)));
		bpf_map_delete_elem(&trace_flags, &tgid);
	}
	return 0;
}
