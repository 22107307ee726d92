/* Deterministic workloads for tests/test_trace_probes.py (built with gcc -O0 by the tests).
 *
 *   trace_wl func N      call trace_fn(i) for i in 0..N-1 (returns 2*i + 3), print the sum
 *   trace_wl usdt N      fire USDT pybpft:step(i, 10*i) N times (<sys/sdt.h>), print N
 *   trace_wl wait        per stdin line "N": N x (usdt step + trace_fn); exits on EOF
 *   trace_wl multi N     fire USDT pybpft:multi(v, g_multi) from three sites N times each,
 *                        v = i, 100 + i, 200 + i; g_multi counts the firings (1..3N); the
 *                        sites' argument layouts differ, and site C reads g_multi as a
 *                        %rip-relative memory operand
 *   trace_wl spin MS     busy-loop on the CPU for MS milliseconds of CPU time
 *   trace_wl sleep N MS  sleep MS milliseconds N times (clock_nanosleep)
 *
 * Built -O0 on purpose: the USDT arguments are then memory operands (-4@-20(%rbp)),
 * which exercises the argument reader's dereference path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <time.h>

__attribute__((noinline, used)) long trace_fn(int i)
{
	__asm__ __volatile__("" ::: "memory");
	return 2L * i + 3;
}

static void step(int i)
{
	long ten = 10L * i;
	DTRACE_PROBE2(pybpft, step, i, ten);
}

int g_multi;

/* Three sites of one probe whose argument layouts differ (gcc -O0 here; site_c at -O2). */
__attribute__((noinline)) static void site_a(int i)
{
	int v = i;
	g_multi++;
	DTRACE_PROBE2(pybpft, multi, v, g_multi); /* -4@-4(%rbp) -4@%eax */
}

__attribute__((noinline)) static void site_b(int i)
{
	int w[3];
	w[2] = 100 + i;
	w[0] = 0;
	g_multi++;
	DTRACE_PROBE2(pybpft, multi, w[2], g_multi); /* -4@%eax -4@%edx */
	__asm__ __volatile__("" : : "r"(w) : "memory");
}

__attribute__((noinline, optimize("O2"))) static void site_c(int i)
{
	DTRACE_PROBE2(pybpft, multi, i, g_multi); /* -4@%edi -4@g_multi(%rip) */
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "wait")) {
		char line[64];
		while (fgets(line, sizeof line, stdin)) {
			long n = atol(line), sum = 0;
			for (long i = 0; i < n; i++) {
				step((int)i);
				sum += trace_fn((int)i);
			}
			printf("%ld\n", sum);
			fflush(stdout);
		}
		return 0;
	}
	if (argc < 3)
		return 2;
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "func")) {
		long sum = 0;
		for (long i = 0; i < n; i++)
			sum += trace_fn((int)i);
		printf("%ld\n", sum);
	} else if (!strcmp(argv[1], "usdt")) {
		for (long i = 0; i < n; i++)
			step((int)i);
		printf("%ld\n", n);
	} else if (!strcmp(argv[1], "multi")) {
		for (long i = 0; i < n; i++) {
			site_a((int)i);
			site_b((int)i);
			g_multi++;
			site_c(200 + (int)i);
		}
		printf("%d\n", g_multi);
	} else if (!strcmp(argv[1], "spin")) {
		volatile unsigned long x = 0;
		double end = cpu_ms() + n;
		while (cpu_ms() < end)
			for (int k = 0; k < 10000; k++)
				x += k;
	} else if (!strcmp(argv[1], "sleep") && argc > 3) {
		long ms = atol(argv[3]);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		for (long i = 0; i < n; i++)
			clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	} else {
		return 2;
	}
	return 0;
}
