# Sourced by ./build and ./llama-adapter: exports JAVA_HOME pointing at a JDK >= 25.
_jdk_version() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
_jdk_ok() { [ -x "$1/bin/java" ] && [ "$(_jdk_version "$1")" -ge 25 ] 2>/dev/null; }
if [ -n "${JAVA_HOME:-}" ] && _jdk_ok "$JAVA_HOME"; then :
else
  found=""
  for c in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    if [ -d "$c" ] && _jdk_ok "$c"; then found="$c"; break; fi
  done
  if [ -z "$found" ] && command -v java >/dev/null; then
    c="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    _jdk_ok "$c" && found="$c"
  fi
  if [ -z "$found" ]; then
    echo "llama-adapter needs JDK 25 or newer (Vector API, FFM); set JAVA_HOME to one." >&2
    exit 1
  fi
  export JAVA_HOME="$found"
fi
export PATH="$JAVA_HOME/bin:$PATH"
