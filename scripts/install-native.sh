#!/usr/bin/env bash
# Best effort: installs what the optional native backends need. Never fails: without them the Java kernels
# run and those backends' tests skip.
# - oneDNN (Debian's libdnnl2), bound at run time by the `onednn` and `onednn-bf16` matmul backends;
# - a C compiler (gcc), with which the `int8` backend builds its kernels (src/main/resources/.../int8dot.c)
#   for this CPU on first use.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
fi
need=()
if [ -e /usr/lib/x86_64-linux-gnu/libdnnl.so.2 ] || ldconfig -p 2>/dev/null | grep -q 'libdnnl\.so\.2'; then
  echo "install-native: libdnnl.so.2 present"
else
  need+=(libdnnl2)
fi
if command -v "${CC:-cc}" >/dev/null 2>&1; then
  echo "install-native: C compiler ${CC:-cc} present"
else
  need+=(gcc libc6-dev)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$SUDO" != "none" ]; then
  ($SUDO apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q "${need[@]}" >/dev/null 2>&1; }) \
    && echo "install-native: installed ${need[*]}" && exit 0
fi
echo "install-native: could not install ${need[*]} (needs root or sudo, and apt-get); the backends that need them stay off, their tests skip"
exit 0
