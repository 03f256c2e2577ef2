/* Programs that do nothing, on the syscall tracepoints hostscope uses.
 * Attaching any program there puts every thread of the host on the kernel's
 * slow syscall path and calls the program twice per syscall: `cargo xtask
 * bench` measures that floor, which no syscall tracer can go below, next to
 * hostscope's own cost. Not part of hostscope itself. */

#include "bpf_kernel.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/sys_enter")
int floor_sys_enter(u64 *ctx)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int floor_sys_exit(u64 *ctx)
{
	return 0;
}
