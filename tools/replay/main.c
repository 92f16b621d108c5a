/* main.c - buddy-replay, until it is a subcommand of the buddy command. */
#include "replay.h"

int main(int argc, char **argv)
{
	return buddy_replay_main(argc, argv);
}
