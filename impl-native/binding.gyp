{
  "variables": {
    "qwh_core_sources": ["core/buf.c", "core/errors.c", "core/frame_decoder.c", "core/tls_bio.c", "io/socket.c", "io/sendq.c"],
    "qwh_engine_sources": ["addon/engine_conn.cc", "addon/engine_batch.cc", "addon/engine_read.cc", "addon/engine_api.cc", "addon/napi_glue.cc"],
    "qwh_warn": ["-Wall", "-Wextra", "-Werror", "-Wshadow", "-isystem", "<(node_root_dir)/include/node", "-isystem", "<!(node -p \"require('node-addon-api').include_dir\")"]
  },
  "target_defaults": {
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
    "cflags": ["<@(qwh_warn)", "-O2", "-fvisibility=hidden"],
    "cflags_c": ["-std=c11", "-pedantic", "-Wconversion", "-Wstrict-prototypes"],
    "cflags_cc": ["-std=c++17"],
    "cflags_cc!": ["-fno-exceptions"],
    "conditions": [
      ["OS=='linux' and '<!(echo $QWH_ASAN)'=='1'", {
        "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "qwormhole_posix",
      "sources": ["<@(qwh_core_sources)", "<@(qwh_engine_sources)", "addon/posix_addon.cc"],
      "libraries": ["-lssl", "-lcrypto"]
    },
    {
      "target_name": "qwormhole_lws",
      "conditions": [
        ["'<!(pkg-config --atleast-version=4.1 libwebsockets 2>/dev/null && echo yes || echo no)'=='yes' and '<!(echo $QWH_NO_LWS)'!='1'", {
          "sources": ["<@(qwh_core_sources)", "<@(qwh_engine_sources)", "addon/lws_service.cc", "addon/lws_conn.cc", "io/lws_context.c"],
          "cflags": ["<!@(pkg-config --cflags libwebsockets)"],
          "libraries": ["<!@(pkg-config --libs libwebsockets)", "-lssl", "-lcrypto"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
