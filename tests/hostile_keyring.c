/* A stand-in for an invoker holding secrets in its session keyring, and
 * for a driver looking for them.
 *
 *   hostile_keyring invoker PROGRAM ARGS...
 *       joins a new session keyring, adds the user key "portbind-test"
 *       holding "secret", prints "invoker keyring=ID key=ID", execs PROGRAM;
 *   hostile_keyring driver
 *       prints "driver keyring=ID found=0|1": whether the key is reachable
 *       from its session keyring.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SEARCH 10
#define KEY_SPEC_SESSION_KEYRING -3

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "invoker") == 0) {
        long ring = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "invoker-session");
        long key = syscall(SYS_add_key, "user", "portbind-test", "secret", 6L,
                           (long)KEY_SPEC_SESSION_KEYRING);
        if (ring < 0 || key < 0) {
            perror("keyring setup");
            return 111;
        }
        printf("invoker keyring=%ld key=%ld\n", ring, key);
        fflush(stdout);
        execv(argv[2], argv + 2);
        perror("execv");
        return 111;
    }
    if (argc == 2 && strcmp(argv[1], "driver") == 0) {
        long ring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, (long)KEY_SPEC_SESSION_KEYRING, 0L);
        long found = syscall(SYS_keyctl, KEYCTL_SEARCH, (long)KEY_SPEC_SESSION_KEYRING, "user",
                             "portbind-test", 0L);
        printf("driver keyring=%ld found=%d\n", ring, found >= 0);
        return 0;
    }
    fprintf(stderr, "usage: hostile_keyring invoker PROGRAM ARGS... | driver\n");
    return 64;
}
