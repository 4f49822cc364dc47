// OpenBLAS: CBLAS plus the OpenBLAS extensions seal uses to report and steer its runtime.
#ifndef SEAL_COPENBLAS_SHIM_H
#define SEAL_COPENBLAS_SHIM_H
#include <cblas.h>

// Declared here as well so that the shim does not depend on which cblas.h variant pkg-config points at.
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
char *openblas_get_config(void);
/// Stops OpenBLAS's worker threads; the next call with threads > 1 starts new ones from the calling thread
/// (which then inherit its floating-point control word).
int blas_thread_shutdown_(void);
#endif
