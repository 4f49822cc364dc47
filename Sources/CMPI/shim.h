// OpenMPI's handles (MPI_COMM_WORLD, MPI_SUM, MPI_FLOAT, ...) are macros over addresses of global structs,
// which Swift cannot import: each is returned from a static inline function instead.
#ifndef SEAL_CMPI_SHIM_H
#define SEAL_CMPI_SHIM_H
#include <mpi.h>

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
#endif
