// OpenMPI's handles (MPI_COMM_WORLD, MPI_SUM, MPI_FLOAT, ...) are macros over addresses of global structs,
// which Swift cannot import: each is returned from a static inline function instead.
#ifndef SEAL_CMPI_SHIM_H
#define SEAL_CMPI_SHIM_H
#include <mpi.h>
#include <stdint.h>

static inline MPI_Comm seal_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Op seal_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op seal_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op seal_mpi_min(void) { return MPI_MIN; }
static inline MPI_Datatype seal_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype seal_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype seal_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype seal_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype seal_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype seal_mpi_char(void) { return MPI_CHAR; }
static inline void *seal_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int seal_mpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Errhandler seal_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int seal_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Datatype seal_mpi_uint64(void) { return MPI_UINT64_T; }
static inline int seal_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline MPI_Comm seal_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline int seal_mpi_status_source(const MPI_Status *s) { return s->MPI_SOURCE; }

// ---- exact sums: 128-bit integers ----
// Swift cannot import __int128, so the values travel as (lo, hi) pairs of uint64_t: the memory layout of a
// little-endian __int128 (SealKernels' ExactAccumulator). The operator is a wrapping 128-bit addition, which is
// associative and commutative: whatever tree OpenMPI reduces over, every rank gets the same bits.

/// MPI_User_function: inout[i] += in[i] over *len 128-bit integers.
static __attribute__((unused)) void seal_mpi_int128_sum_fn(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    const uint64_t *a = (const uint64_t *)in;
    uint64_t *b = (uint64_t *)inout;
    for (int i = 0; i < *len; i++) {
        uint64_t lo = b[2 * i] + a[2 * i];
        b[2 * i + 1] = b[2 * i + 1] + a[2 * i + 1] + (uint64_t)(lo < a[2 * i]);
        b[2 * i] = lo;
    }
}

/// The commutative MPI_Op over seal_mpi_int128_sum_fn. Free with MPI_Op_free before MPI_Finalize.
static inline int seal_mpi_int128_sum_create(MPI_Op *op) { return MPI_Op_create(seal_mpi_int128_sum_fn, 1, op); }

/// A committed 16-byte contiguous type (two MPI_UINT64_T) for the values. Free with MPI_Type_free.
static inline int seal_mpi_int128_type_create(MPI_Datatype *type) {
    int rc = MPI_Type_contiguous(2, MPI_UINT64_T, type);
    if (rc != MPI_SUCCESS) return rc;
    return MPI_Type_commit(type);
}
#endif
