/* Format-specific readers behind profile_read(). */
#ifndef HP_CLI_READ_H
#define HP_CLI_READ_H

#include "model.h"

profile *read_pprof(const uint8_t *data, size_t len, const char *path);
profile *read_dhat(const char *text, const char *path);

#endif
