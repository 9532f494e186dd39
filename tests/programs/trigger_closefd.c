/* A program that closes every descriptor it did not open (closefrom(3), as
 * daemons do) and then relies on the numbers it gets next:
 *   - opens a pipe, which lands on the lowest free numbers, writes a message
 *     into it, sleeps, and reads the whole message back;
 *   - prints the descriptor numbers its open()s got (argv[1] "nostdin": the
 *     program started with stdin closed, so its first open() must get 0);
 *   - prints its own CPU time, which must stay near zero while it sleeps.
 * Output goes to a descriptor kept from before the close (100). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int nostdin = argc > 1 && !strcmp(argv[1], "nostdin");
    int first = open("/dev/null", O_RDONLY);
    if (nostdin) {
        dprintf(1, "first open: %d\n", first);
        return 0;
    }
    for (int i = 0; i < 100000; i++) free(malloc((size_t)(i % 3000) + 1));
    if (dup2(1, 100) != 100) return 2;
    for (int fd = 3; fd < 1024; fd++)
        if (fd != 100) close(fd);
    int p[2];
    if (pipe2(p, O_NONBLOCK)) return 3;
    const char *msg = "0123456789abcdefghijklmnopqrstuvwxyz";
    if (write(p[1], msg, strlen(msg)) != (ssize_t)strlen(msg)) return 4;
    for (int i = 0; i < 8; i++) {
        kill(getpid(), SIGUSR2); /* ignored in the plain run (see the test) */
        struct timespec ts = {0, 150 * 1000000};
        while (nanosleep(&ts, &ts)) {
        }
        for (int k = 0; k < 2000; k++) free(malloc(4096));
    }
    char buf[64] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    dprintf(100, "pipe %d %d: read %zd bytes: %s\n", p[0], p[1], n, n > 0 ? buf : "");
    struct tms t;
    times(&t);
    long hz = sysconf(_SC_CLK_TCK);
    long cpu_ms = (long)(t.tms_utime + t.tms_stime) * 1000 / hz;
    dprintf(100, "cpu under 300 ms: %s\n", cpu_ms < 300 ? "yes" : "no");
    return 0;
}
