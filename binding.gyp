{
  "targets": [
    {
      "target_name": "ftpkit_sendfile",
      "conditions": [["OS=='linux'", { "sources": ["native/zero-copy.cc"] }]],
      "cflags_cc": ["-O2", "-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
