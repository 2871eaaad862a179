/* Compile-time and run-time check of the libwebsockets build QWormhole needs. */
#include <libwebsockets.h>
#include <stdio.h>

#if !defined(LWS_ROLE_RAW)
#error "libwebsockets was built without the raw role (LWS_ROLE_RAW)"
#endif
#if !defined(LWS_WITH_TLS) || !defined(LWS_WITH_SERVER) || !defined(LWS_WITH_CLIENT)
#error "libwebsockets was built without TLS, server or client support"
#endif
#if LWS_LIBRARY_VERSION_NUMBER < 4001000
#error "libwebsockets >= 4.1 is required"
#endif

int main(void) {
  printf("%s", lws_get_library_version());
  return 0;
}
