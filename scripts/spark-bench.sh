#!/usr/bin/env bash
# Spark's per-step overhead over the single-process trainer on the bench `small` shape (SparkStepBench).
# Usage: scripts/spark-bench.sh [micro-batches per step] [timed steps] [Spark threads] [small|tiny] [rounds]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/jdk.sh"
cd "$here"
export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow"
mvn -B -q -DskipTests install
mvn -B -q -f spark/pom.xml test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt
flags=$(sed -n '/<spark.jvm.flags>-XX/,/<\/spark.jvm.flags>/p' spark/pom.xml | sed 's/<[^>]*>//g' | tr '\n' ' ')
export SPARK_LOCAL_IP=127.0.0.1
exec java $flags -XX:+UseParallelGC -Xmx8g -Dlog4j2.configurationFile="$here/spark/src/test/resources/log4j2-test.properties" \
  -cp "spark/target/classes:spark/target/test-classes:$(cat spark/target/test-classpath.txt)" dev.llamaadapter.spark.SparkStepBench "$@"
