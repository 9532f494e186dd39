/* A program with a harmless-looking bug bash also has: it closes a
 * descriptor twice. The second close hits whatever another thread opened on
 * that number in between (here: heapprof's background thread writing a
 * dump). Appends a line to DATA per round for SECONDS seconds and prints the
 * number of rounds: DATA must hold exactly that many lines. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    void *keep[2000];
    for (int i = 0; i < 2000; i++)
        keep[i] = malloc(100 + (size_t)i); /* something to profile */
    time_t end = time(NULL) + atoi(argv[2]);
    long rounds = 0;
    while (time(NULL) < end) {
        int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd < 0 || write(fd, "line\n", 5) != 5) {
            perror("double_close");
            return 1;
        }
        close(fd);
        usleep(500);
        close(fd); /* EBADF, unless someone else got that number meanwhile */
        rounds++;
    }
    for (int i = 0; i < 2000; i++)
        free(keep[i]);
    printf("%ld\n", rounds);
    return 0;
}
