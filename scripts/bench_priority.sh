#!/bin/bash
# Runs a command (a benchmark) in a session of its own whose autogroup has nice -20. On a Linux
# machine with sched_autogroup_enabled (this one), CPU time is shared fairly between sessions, not
# processes, so `nice` alone does not let a benchmark have the cores while other sessions are busy;
# with this the other sessions' jobs yield the CPU for the benchmark's few minutes (caches and memory
# bandwidth stay shared). Needs root (a negative nice). Usage: setsid scripts/bench_priority.sh CMD…
echo -20 > /proc/self/autogroup || exit 1
exec nice -n -20 "$@"
