//! What can go wrong when loading and running the probe, each with what the
//! user can do about it.

/// An error of the probe.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "tracing needs root, or the capabilities CAP_BPF and CAP_PERFMON (missing: {missing}); \
         run it with sudo"
    )]
    MissingPrivileges { missing: String },
    #[error(
        "this kernel has no BTF type information at /sys/kernel/btf/vmlinux; hostscope needs \
         Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf(#[source] aya::BtfError),
    #[error(
        "could not load the eBPF probe (hostscope needs Linux >= 5.8 with BPF ring buffers \
         and BTF-typed tracepoints)"
    )]
    Load(#[source] aya::EbpfError),
    #[error("could not attach the eBPF program {program} to the {tracepoint} tracepoint")]
    Attach {
        program: &'static str,
        tracepoint: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("could not detach the eBPF program {program}")]
    Detach {
        program: String,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("the probe's map {name} is unusable")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("the ring buffer size {kib} KiB is not a power of two of at least 4 KiB")]
    RingSize { kib: u32 },
    #[error("could not watch the probe's ring buffer")]
    Poll(#[source] std::io::Error),
}
