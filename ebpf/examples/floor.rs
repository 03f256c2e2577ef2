//! `floor PID [--exit-only]`: attaches programs that do nothing to sys_enter
//! and sys_exit (only sys_exit with `--exit-only`, as `why-missing` does)
//! until PID exits. `cargo xtask bench` runs a workload under it to measure
//! what the kernel charges any syscall tracer before the tracer does any work.

use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf};

fn main() {
    let mut args = std::env::args().skip(1);
    let pid: u32 = args
        .next()
        .and_then(|p| p.parse().ok())
        .expect("usage: floor PID [--exit-only]");
    let exit_only = args.next().as_deref() == Some("--exit-only");
    let object = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/floor.bpf.o"));
    let mut bpf = Ebpf::load(object).expect("load the floor programs (as root)");
    let btf = Btf::from_sys_fs().expect("read the kernel's BTF");
    let mut points = vec![("floor_sys_exit", "sys_exit")];
    if !exit_only {
        points.push(("floor_sys_enter", "sys_enter"));
    }
    for (program, tracepoint) in points {
        let prog: &mut BtfTracePoint = bpf
            .program_mut(program)
            .expect("the object defines it")
            .try_into()
            .expect("a tp_btf program");
        prog.load(tracepoint, &btf).expect("load the program");
        prog.attach().expect("attach the program");
    }
    eprintln!("attached");
    let proc_dir = format!("/proc/{pid}");
    while std::path::Path::new(&proc_dir).exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
