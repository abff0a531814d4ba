# The native kernels (src/kernels/native). Built by scripts/build-native.mjs
# during `npm ci`. The AVX2 and AVX-512 variants are compiled as separate
# static libraries with their own -m flags, so only code chosen at run time
# by CPUID ever executes wider instructions: the addon runs on any x86-64.
{
  "variables": {
    "gvm_common_cflags": ["-O3", "-fPIC", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-unused-parameter"]
  },
  "target_defaults": {
    "cflags!": ["-O2"],
    "cflags_cc!": ["-fno-rtti"],
    "cflags_cc": ["-std=gnu++17"],
    "conditions": [
      ["target_arch=='x64'", {"defines": ["GVM_X86"]}]
    ]
  },
  "targets": [
    {
      "target_name": "gvm_kernels",
      "sources": [
        "src/kernels/native/addon.cc",
        "src/kernels/native/cpu.cc",
        "src/kernels/native/draw.cc",
        "src/kernels/native/pool.cc",
        "src/kernels/native/isa_scalar.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["<@(gvm_common_cflags)"],
      "cflags_cc": ["<@(gvm_common_cflags)"],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["gvm_avx2", "gvm_avx512"]}]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "gvm_avx2",
          "type": "static_library",
          "sources": ["src/kernels/native/isa_avx2.cc"],
          "cflags": ["<@(gvm_common_cflags)", "-mavx2", "-mfma", "-mf16c"],
          "cflags_cc": ["<@(gvm_common_cflags)", "-mavx2", "-mfma", "-mf16c"]
        },
        {
          # GCC 12's own AVX-512 headers trip -Wuninitialized (_mm512_undefined_ps)
          "target_name": "gvm_avx512",
          "type": "static_library",
          "sources": ["src/kernels/native/isa_avx512.cc"],
          "cflags": ["<@(gvm_common_cflags)", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-Wno-uninitialized", "-Wno-maybe-uninitialized"],
          "cflags_cc": ["<@(gvm_common_cflags)", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-Wno-uninitialized", "-Wno-maybe-uninitialized"]
        }
      ]
    }]
  ]
}
