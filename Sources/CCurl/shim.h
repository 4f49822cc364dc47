// libcurl's easy interface. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: these
// typed wrappers fix the argument type per call.
#ifndef SEAL_CCURL_SHIM_H
#define SEAL_CCURL_SHIM_H
#include <curl/curl.h>

static inline CURLcode seal_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode seal_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode seal_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode seal_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*seal_curl_write_callback)(char *data, size_t size, size_t count, void *user);
static inline CURLcode seal_curl_setopt_write(CURL *h, CURLoption o, seal_curl_write_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode seal_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode seal_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }
#endif
