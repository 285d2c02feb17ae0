# The addon modelpin.node: node/src/addon.cc linked with the engine's static library. Built by
# node/build.js (the package's install script), which builds that library with meson first and
# passes where it is: -Dmodelpin_src (this repository), -Dengine_lib (libmodelpin.a) and
# -Dengine_build (meson's build dir, for the generated version.h). docs/node.md.
{
  'targets': [{
    'target_name': 'modelpin',
    'sources': ['<(modelpin_src)/node/src/addon.cc'],
    'include_dirs': [
      '<!(node -p "require(\'node-addon-api\').include_dir")',
      '<(modelpin_src)',
      '<(modelpin_src)/sdk',
      '<(engine_build)/sdk',   # <modelpin/engine/...>: meson's link to this tree (meson.build)
      '<(engine_build)',
    ],
    'defines': [
      # Node-API 8: one build serves every Node from 18 on.
      'NAPI_VERSION=8',
      'NAPI_CPP_EXCEPTIONS',
      'NODE_ADDON_API_DISABLE_DEPRECATED',
      'RAPIDJSON_HAS_STDSTRING=1',
    ],
    # The engine is C++20 and reports errors as exceptions only inside the binding.
    'cflags_cc!': ['-std=gnu++17', '-fno-exceptions', '-fno-rtti'],
    'cflags_cc': ['-std=c++20', '-fexceptions', '-fvisibility=hidden'],
    'libraries': [
      '<(engine_lib)',
      '<!@(pkg-config --libs absl_strings absl_str_format absl_status absl_statusor absl_flat_hash_map absl_hash sqlite3 hiredis libcrypto libcurl)',
      '-ldl',
      '-lpthread',
    ],
  }],
}
