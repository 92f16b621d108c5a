/* SPDX-License-Identifier: MIT */
/* main.c - buddy-replay, until it is a subcommand of the buddy command. */
#include "replay.h"

int main(int argc, char **argv)
{
	return replay_main(argc, argv);
}
