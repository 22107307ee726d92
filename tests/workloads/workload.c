/* Deterministic workloads for the kernel link tests (built with gcc by the tests).
 *
 *   workload getpid N   call getpid() (the raw syscall) exactly N times
 *   workload func N     call pybpf_target(i) for i in 0..N-1 (returns 3*i + 1)
 *   workload usdt N     hit USDT probe pybpf:tick(i, 2*i) N times, but only while
 *                       its semaphore is set (prints how many times it was set)
 *
 * The USDT note is written by hand (what <sys/sdt.h> emits), so no
 * systemtap-sdt-dev is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline, used)) int pybpf_target(int i)
{
	__asm__ __volatile__("" ::: "memory");
	return 3 * i + 1;
}

/* The semaphore lives in .probes; the kernel increments it while a uprobe
 * with ref_ctr_offset is attached. */
unsigned short pybpf_tick_semaphore __attribute__((section(".probes"), used)) = 0;

#define PYBPF_USDT2(a1, a2)                                                         \
	__asm__ __volatile__(                                                       \
		"990: nop\n"                                                        \
		".pushsection .note.stapsdt,\"?\",\"note\"\n"                       \
		".balign 4\n"                                                       \
		".4byte 992f-991f, 994f-993f, 3\n"                                  \
		"991: .asciz \"stapsdt\"\n"                                         \
		"992: .balign 4\n"                                                  \
		"993: .8byte 990b\n"                                                \
		".8byte _.stapsdt.base\n"                                           \
		".8byte pybpf_tick_semaphore\n"                                     \
		".asciz \"pybpf\"\n"                                                \
		".asciz \"tick\"\n"                                                 \
		".asciz \"-4@%0 8@%1\"\n"                                           \
		"994: .balign 4\n"                                                  \
		".popsection\n"                                                     \
		".ifndef _.stapsdt.base\n"                                          \
		".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
		".weak _.stapsdt.base\n"                                            \
		".hidden _.stapsdt.base\n"                                          \
		"_.stapsdt.base: .space 1\n"                                        \
		".size _.stapsdt.base, 1\n"                                         \
		".popsection\n"                                                     \
		".endif\n" ::"nor"((int)(a1)), "nor"((long)(a2)))

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "getpid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
	} else if (!strcmp(argv[1], "func")) {
		long sum = 0;
		for (long i = 0; i < n; i++)
			sum += pybpf_target((int)i);
		printf("%ld\n", sum);
	} else if (!strcmp(argv[1], "usdt")) {
		long fired = 0;
		for (long i = 0; i < n; i++) {
			if (*(volatile unsigned short *)&pybpf_tick_semaphore) {
				PYBPF_USDT2(i, 2 * i);
				fired++;
			}
		}
		printf("%ld\n", fired);
	} else {
		return 2;
	}
	return 0;
}
