/*
 * hostile_noargv: runs PROGRAM with an empty argument list (argc == 0),
 * as any caller of execve(2) can, and with the remaining arguments as its
 * whole environment. A program that reads argv[1] without checking argc
 * then reads envp[0] instead (the pkexec hole, CVE-2021-4034), so the
 * tests put options there that would run the probe if they were taken.
 *
 * Since Linux 5.18 the kernel turns an empty argv into { "" }; the tests
 * run the probe through this helper too, to see which one happened.
 *
 * usage: hostile_noargv PROGRAM [ENV_ENTRY...]
 * Built by tests/hostile.rs with: cc -static -O2 -Wall -o hostile_noargv hostile_noargv.c
 */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *no_args[] = { NULL };

	if (argc < 2) {
		fprintf(stderr, "usage: hostile_noargv PROGRAM [ENV_ENTRY...]\n");
		return 2;
	}
	execve(argv[1], no_args, argv + 2);
	perror(argv[1]);
	return 111;
}
