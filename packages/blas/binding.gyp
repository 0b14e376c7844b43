{
  "targets": [
    {
      "target_name": "patchgd_blas",
      "sources": ["src/kernels.c"],
      "cflags": ["-O3", "-std=c11", "<!@(pkg-config --cflags openblas)"],
      "libraries": ["<!@(pkg-config --libs openblas)"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "<!@(pkg-config --cflags openblas)"] }
    }
  ]
}
