/* SPDX-License-Identifier: MIT */
/* main.c - buddy-bench, until it is a subcommand of the buddy command. */
#include "bench.h"

int main(int argc, char **argv)
{
	return bench_main(argc, argv);
}
