// HDF5's property-list defaults, native types and file flags are macros (often expanding to a function call
// plus a global, e.g. H5T_NATIVE_FLOAT -> (H5open(), H5T_NATIVE_FLOAT_g)): Swift cannot import them, so each is
// returned from a static inline function.
#ifndef SEAL_CHDF5_SHIM_H
#define SEAL_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t seal_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t seal_h5s_all(void) { return H5S_ALL; }
static inline hid_t seal_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t seal_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t seal_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t seal_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t seal_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t seal_h5t_c_s1(void) { return H5T_C_S1; }
static inline size_t seal_h5t_variable(void) { return H5T_VARIABLE; }
static inline unsigned seal_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned seal_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned seal_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned seal_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t seal_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t seal_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t seal_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t seal_h5p_group_create(void) { return H5P_GROUP_CREATE; }
static inline hsize_t seal_h5s_unlimited(void) { return H5S_UNLIMITED; }
#endif
