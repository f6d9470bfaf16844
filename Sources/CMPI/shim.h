#include <mpi.h>
// Open MPI's handles are macros that take the address of a library global, and MPI_IN_PLACE is a cast
// integer: Swift imports neither, so they are returned from inline functions.
static inline MPI_Comm cnnsep_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cnnsep_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Datatype cnnsep_MPI_DOUBLE(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cnnsep_MPI_INT(void) { return MPI_INT; }
static inline MPI_Datatype cnnsep_MPI_INT64_T(void) { return MPI_INT64_T; }
static inline MPI_Datatype cnnsep_MPI_UINT64_T(void) { return MPI_UINT64_T; }
static inline MPI_Datatype cnnsep_MPI_BYTE(void) { return MPI_BYTE; }
static inline MPI_Op cnnsep_MPI_SUM(void) { return MPI_SUM; }
static inline MPI_Op cnnsep_MPI_MAX(void) { return MPI_MAX; }
static inline MPI_Op cnnsep_MPI_MIN(void) { return MPI_MIN; }
static inline void *cnnsep_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler cnnsep_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
