// HDF5's property-list defaults, native types and file flags are macros (often expanding to a function call
// plus a global, e.g. H5T_NATIVE_FLOAT -> (H5open(), H5T_NATIVE_FLOAT_g)): Swift cannot import them, so each is
// returned from a static inline function. The few multi-step C idioms seal needs (metadata-cache settings, fsync
// of the file descriptor, reading the error stack) live here too, where the C structs are easy to handle.
#ifndef SEAL_CHDF5_SHIM_H
#define SEAL_CHDF5_SHIM_H
#include <hdf5.h>
#include <string.h>
#include <unistd.h>

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
static inline unsigned seal_h5f_obj_all_local(void) { return H5F_OBJ_ALL | H5F_OBJ_LOCAL; }

// File (on-disk) types with a fixed byte order, so a file reads the same everywhere.
static inline hid_t seal_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t seal_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t seal_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }

/// Caps the file format at what HDF5 1.8 writes (superblock version 0..2, never 3). A superblock-3 file (libver
/// "latest") carries "open for write" consistency flags: a writer killed before H5Fclose leaves them set and
/// every later open fails with "file is already open for write (may use <h5clear file> ...)", which is the
/// opposite of what a killed run's metrics file should do.
static inline herr_t seal_h5p_set_libver_v18(hid_t fapl) {
    return H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18);
}

/// Keeps dirty metadata in memory until the next H5Fflush/H5Fclose: with evictions disabled the metadata cache
/// never writes an entry on its own, so between two flushes the metadata on disk is exactly that of the last
/// flush (auto-resizing must be off too, or HDF5 refuses the configuration).
static inline herr_t seal_h5p_set_hold_metadata(hid_t fapl) {
    H5AC_cache_config_t c;
    memset(&c, 0, sizeof c);
    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (H5Pget_mdc_config(fapl, &c) < 0) return -1;
    c.evictions_enabled = 0;
    c.incr_mode = H5C_incr__off;
    c.flash_incr_mode = H5C_flash_incr__off;
    c.decr_mode = H5C_decr__off;
    return H5Pset_mdc_config(fapl, &c);
}

/// Bytes currently held by the file's metadata cache (-1 on error).
static inline long long seal_h5f_mdc_bytes(hid_t file) {
    size_t max_size = 0, min_clean = 0, cur = 0;
    int n = 0;
    if (H5Fget_mdc_size(file, &max_size, &min_clean, &cur, &n) < 0) return -1;
    return (long long)cur;
}

/// File locking (H5Pset_file_locking exists from HDF5 1.10.7 and 1.12.1): `use` = 0 opens without a lock (to
/// read a file another process is writing); `ignore_when_disabled` = 1 proceeds without a lock on file systems
/// that do not support flock (some Lustre/NFS mounts) instead of failing. The HDF5_USE_FILE_LOCKING environment
/// variable still overrides both. A no-op returning 0 on older libraries.
static inline herr_t seal_h5p_set_file_locking(hid_t fapl, int use, int ignore_when_disabled) {
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
    return H5Pset_file_locking(fapl, use ? 1 : 0, ignore_when_disabled ? 1 : 0);
#else
    (void)fapl; (void)use; (void)ignore_when_disabled;
    return 0;
#endif
}

/// fsync(2)s the file descriptor under an open file of the default (sec2) driver, so what H5Fflush handed to the
/// kernel is on the device (survives a node crash, not only a killed process). 0 on success or when the driver
/// has no plain descriptor; -1 on failure.
static inline int seal_h5f_fsync(hid_t file) {
    hid_t fapl = H5Fget_access_plist(file);
    if (fapl < 0) return -1;
    hid_t driver = H5Pget_driver(fapl);
    H5Pclose(fapl);
    if (driver != H5FD_SEC2) return 0;
    void *handle = NULL;
    if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || handle == NULL) return -1;
    return fsync(*(int *)handle);
}

typedef struct { char *buf; size_t cap; unsigned count; } seal_h5e_walk_ctx;

static inline herr_t seal_h5e_walk_cb(unsigned n, const H5E_error2_t *err, void *data) {
    seal_h5e_walk_ctx *ctx = (seal_h5e_walk_ctx *)data;
    (void)n;
    if (err == NULL || err->desc == NULL || err->desc[0] == '\0') return 0;
    size_t used = strlen(ctx->buf);
    if (ctx->count > 0 && used + 2 < ctx->cap) { strcat(ctx->buf, "; "); used += 2; }
    if (used + 1 < ctx->cap) strncat(ctx->buf, err->desc, ctx->cap - used - 1);
    ctx->count++;
    return 0;
}

/// Writes the descriptions on the calling thread's HDF5 error stack (outermost call first, joined by "; ") into
/// `buf`: the reason an HDF5 call just failed, e.g. "unable to open file; unable to lock file, errno = 11".
static inline void seal_h5e_describe(char *buf, size_t cap) {
    if (cap == 0) return;
    buf[0] = '\0';
    seal_h5e_walk_ctx ctx = { buf, cap, 0 };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, seal_h5e_walk_cb, &ctx);
}
#endif
