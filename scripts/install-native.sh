#!/usr/bin/env bash
# Best effort: installs the optional native GEMM library (oneDNN, Debian's libdnnl2) that the `onednn`
# matmul backend binds at run time. Never fails: without it the Java kernels run and its tests skip.
if [ -e /usr/lib/x86_64-linux-gnu/libdnnl.so.2 ] || ldconfig -p 2>/dev/null | grep -q 'libdnnl\.so\.2'; then
  echo "install-native: libdnnl.so.2 present"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -q libdnnl2 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libdnnl2 >/dev/null 2>&1; }) \
    && echo "install-native: libdnnl2 installed" && exit 0
fi
echo "install-native: libdnnl.so.2 not installed (needs root and apt-get); the onednn backend stays off, its tests skip"
exit 0
