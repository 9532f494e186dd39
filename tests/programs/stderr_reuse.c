/* A program whose data file lands on descriptor 2: started with stderr
 * closed (`prog DATA 2>&-`), as daemons and cron jobs often are, or closing
 * stderr itself first (`prog DATA close`), as daemons do when they detach.
 * Allocates, writes one line of data there and exits. Anything else found
 * in DATA afterwards was written by someone else. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (argc > 2 && strcmp(argv[2], "close") == 0) close(2);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd != 2) return 3;
    for (int i = 0; i < 10000; i++)
        free(malloc((size_t)(i % 1000) + 1));
    dprintf(fd, "program data\n");
    return 0;
}
