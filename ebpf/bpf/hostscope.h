/* The ABI between hostscope's BPF programs and its user space: every struct
 * and constant that crosses the ring buffer or a map. Mirrored once in Rust
 * (ebpf/src/abi.rs) with compile-time size and offset checks; change both
 * together. */
#ifndef HOSTSCOPE_ABI_H
#define HOSTSCOPE_ABI_H

/* Syscall numbers above this are ignored (x86_64 tops out near 470). */
#define HS_MAX_SYSCALLS 1024
#define HS_NARGS 6
/* Slots of the repeats map: threads whose ids are equal modulo this share one. */
#define HS_REPEAT_SLOTS 16384

/* Record kinds in the ring buffer. */
#define HS_EV_SYSCALL 1   /* a syscall, at exit (or at entry if it never returns) */
#define HS_EV_EXEC_ARGS 2 /* execve's filename and argv, copied at entry */
#define HS_EV_EXIT 3      /* a process ended; ret holds the wait status */
#define HS_EV_FORK 4      /* the current process started process ret */
#define HS_EV_EXEC 5      /* the current process exec'd; capture 0: the file */
#define HS_EV_OOM 6       /* the OOM killer chose process tgid; ret: the process that needed memory */
#define HS_EV_REPEAT 7    /* thread tid repeated its last lookup record ret more times, the last at ts_ns */
#define HS_EV_SOCKIO 8    /* a read/write/connect/accept on a stream socket: capture 0 the hs_sockinfo, capture 1 the payload's first bytes */
#define HS_EV_SOCKCLOSE 9 /* a TCP socket reached TCP_CLOSE: args[0] is its struct sock (an hs_sockinfo.sk); no process */
#define HS_EV_SOCKOPEN 10 /* a TCP connection was established: args[0] is its struct sock, args[1] 1 on the connecting end, 0 on the accepting end; no process */

/* hs_event.flags */
#define HS_EVF_NORETURN 1   /* exit/exit_group: there is no return value */
#define HS_EVF_ARGV_TRUNC 2 /* argv had more elements than we copy */
#define HS_EVF_NO_ENTRY 4   /* seen at exit only: began before we attached */
#define HS_EVF_NO_DURATION 8 /* exit-only probe: no entry was timed */

/* How an argument's user memory is copied (hs_spec.kind). */
#define HS_CAP_NONE 0
#define HS_CAP_STR 1          /* NUL-terminated string */
#define HS_CAP_BUF_IN 2       /* aux = index of the length argument */
#define HS_CAP_BUF_OUT 3      /* length = return value */
#define HS_CAP_SOCKADDR_IN 4  /* aux = index of the length argument */
#define HS_CAP_SOCKADDR_OUT 5 /* aux = index of the socklen_t* argument */
#define HS_CAP_FDPAIR 6       /* int[2], on success */
#define HS_CAP_INT_OUT 7      /* one int */
#define HS_CAP_STRUCT 8       /* aux = size in bytes */
#define HS_CAP_ARGV 9         /* NULL-terminated char *[] */
#define HS_CAP_SOCKINFO 10    /* a struct hs_sockinfo, filled by the probe (the decoder knows it by its record kind and size) */

/* hs_spec.flags */
#define HS_SPEC_ENABLED 1       /* trace this syscall at all */
#define HS_SPEC_FAILED_ONLY 2   /* deliver it only when it fails */
#define HS_SPEC_ENTRY_CAPTURE 4 /* copy its memory at entry (execve) */
#define HS_SPEC_NORETURN 8      /* it does not return (exit, exit_group) */
#define HS_SPEC_LOOKUP 16       /* a path lookup: failures with an errno in
				 * cfg_lookup_errnos, and a success only when
				 * the thread's previous lookup failed */
#define HS_SPEC_STDERR 32       /* only when argument 0 is fd 2 */
#define HS_SPEC_EXEC 64         /* success replaces the memory: copy nothing */
#define HS_SPEC_SOCKIO 128      /* on a stream socket: an HS_EV_SOCKIO record (aux[0]: HS_IO_*) */

/* How a socket syscall carries its payload (spec aux[0] with HS_SPEC_SOCKIO). */
#define HS_IO_BUF 1     /* args[1] is the buffer (read, write, sendto, recvfrom) */
#define HS_IO_IOV 2     /* args[1] is a struct iovec * (readv, writev) */
#define HS_IO_MSG 3     /* args[1] is a struct user_msghdr * (sendmsg, recvmsg) */
#define HS_IO_CONNECT 4 /* no payload; failures count (connect) */
#define HS_IO_ACCEPT 5  /* the new socket is the return value (accept, accept4) */

/* hs_capture.flags */
#define HS_CAPF_TRUNCATED 1
#define HS_CAPF_FAULT 2

/* Loss counters: index into the per-CPU `stats` array. */
#define HS_STAT_RING_FULL 0
#define HS_STAT_TRUNCATED 1
#define HS_STAT_UNREADABLE 2
#define HS_STAT_UNMATCHED_EXIT 3 /* delivered, marked HS_EVF_NO_ENTRY */
#define HS_STAT_TABLE_FULL 4
#define HS_STAT_DELIVERED 5
#define HS_NSTATS 8

/* Words of the traced-tgid bitmap by default: pid_max up to 4194304. */
#define HS_PID_WORDS 65536

/* trace_flags map values */
#define HS_TRACE_FOLLOW 1 /* also trace children started from now on */

/* Limits of what one record copies. */
#define HS_MAX_STR 4096  /* a path (PATH_MAX) */
#define HS_MAX_BUF 4096  /* data of read/write, before the user's -s cap */
#define HS_MAX_ARGV 32   /* argv elements */
#define HS_MAX_ARG 256   /* bytes of one argv element */
#define HS_SOCKADDR_MAX 128

/* What the probe does for one syscall number. 16 bytes. */
struct hs_spec {
	unsigned char kind[HS_NARGS];
	unsigned char aux[HS_NARGS];
	unsigned short flags;
	/* Arguments cap_lo..cap_hi-1 hold every capture: the probe visits only
	 * those (none at all for most syscalls). */
	unsigned char cap_lo;
	unsigned char cap_hi;
};

/* A thread's last failed lookup, while identical ones are counted rather
 * than sent (`repeats` map, keyed by thread id). */
struct hs_last_lookup {
	unsigned long long hash;    /* of the syscall, errno, first argument and captures */
	unsigned long long count;   /* repeats not yet reported */
	unsigned long long last_ts; /* CLOCK_MONOTONIC of the latest */
	unsigned long long holder;  /* tgid << 32 | tid of the thread holding the slot; 0: free */
};

/* A stream socket, as the probe found it behind an fd. Addresses and ports
 * in network order as the kernel keeps them, except lport (host order). */
struct hs_sockinfo {
	unsigned long long sk;   /* the kernel's struct sock: the connection's id on this host */
	unsigned long long peer; /* for AF_UNIX, the other end's struct sock */
	unsigned short family;   /* AF_INET, AF_INET6, AF_UNIX */
	unsigned short type;     /* SOCK_STREAM */
	unsigned short lport;
	unsigned short rport;
	unsigned char laddr[16];
	unsigned char raddr[16];
};

/* The one entry of the `live` map. */
struct hs_live {
	unsigned int focus_tgid; /* 0: none */
	unsigned int everything; /* non-zero: every traced process in full */
	unsigned int sockets;    /* non-zero: HS_SPEC_SOCKIO records (with cfg_sockio) */
	unsigned int pad;
};

/* Header of every record. Captures follow, each an hs_capture and its bytes,
 * padded to 8. 120 bytes. */
struct hs_event {
	unsigned int kind;
	unsigned int tgid;
	unsigned int tid;
	unsigned int nr;
	unsigned long long ts_ns;  /* CLOCK_MONOTONIC at syscall entry */
	unsigned long long dur_ns; /* entry to exit */
	long long ret;
	unsigned long long args[HS_NARGS];
	char comm[16];
	unsigned short ncap;
	unsigned short flags;
	unsigned int size; /* bytes of this record, header included */
	unsigned int uid;  /* real uid and gid of the thread */
	unsigned int gid;
};

/* One copied argument. 8 bytes, followed by len bytes. */
struct hs_capture {
	unsigned char arg;
	unsigned char kind;
	unsigned short index; /* position in argv */
	unsigned short len;
	unsigned short flags;
};

#endif
