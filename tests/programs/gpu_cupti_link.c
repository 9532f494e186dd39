/*
 * Links libcupti from the CUDA toolkit directly (heapprof only dlopens it):
 * proves that the library the headers describe is there and resolves, and
 * that its result strings match the names heapprof reports.
 */
#include <cupti.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    const char *s = NULL;
    CUptiResult r = cuptiGetResultString(CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED, &s);
    printf("cuptiGetResultString: %d %s\n", (int)r, s ? s : "(null)");
    return r == CUPTI_SUCCESS && s && !strcmp(s, "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED")
               ? 0
               : 1;
}
