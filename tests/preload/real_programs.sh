#!/bin/sh
# SPDX-License-Identifier: MIT
# Real programs on libbuddymalloc through LD_PRELOAD print exactly what they
# print on the system's malloc: python3 (PYTHONMALLOC=malloc, so its objects
# use malloc) on dicts, strings, json, re and sorting; gcc compiling and
# running a C program; git init, add, commit, log, gc and fsck in a fresh
# repository; perl; sort on a large file; xz -T2 compressing and
# decompressing; tar with gzip. A program that is not installed is skipped,
# saying so. Each result is compared with the same command without the
# library; the library's own allocation count shows it was used.
# Usage: real_programs.sh LIBBUDDYMALLOC_SO
set -u
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$lib" ] || { echo "real_programs: no library at $1"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/buddy-real.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
fails=0 ran=0 skipped=""

# find PROGRAM: its path, or nothing (python3: the real interpreter, not a shim).
find_prog() {
  for d in /usr/bin /bin /usr/local/bin; do
    [ -x "$d/$1" ] && { echo "$d/$1"; return; }
  done
  command -v "$1" 2>/dev/null
}

# run NAME WORKLOAD...: WORKLOAD (a shell function) writes its output to stdout
# in directory $2/$NAME; run once plain and once preloaded, and compare.
run() {
  name=$1
  shift
  for mode in plain buddy; do
    d="$work/$name.$mode"
    mkdir -p "$d"
    if [ $mode = buddy ]; then
      (cd "$d" && LD_PRELOAD="$lib" BUDDY_MALLOC_STATS_FILE="$d.stats" "$@") >"$d.out" 2>"$d.err"
    else
      (cd "$d" && "$@") >"$d.out" 2>"$d.err"
    fi
    echo "exit $?" >>"$d.out"
  done
  if ! cmp -s "$work/$name.plain.out" "$work/$name.buddy.out"; then
    echo "real_programs: $name: the output differs under libbuddymalloc:"
    diff "$work/$name.plain.out" "$work/$name.buddy.out" | head -20
    head -5 "$work/$name.buddy.err"
    fails=$((fails + 1))
  elif ! grep -q '^buddymalloc: allocs [1-9]' "$work/$name.buddy.stats" 2>/dev/null; then
    echo "real_programs: $name: no statistics from libbuddymalloc: was it loaded?"
    head -5 "$work/$name.buddy.err"
    fails=$((fails + 1))
  else
    echo "real_programs: $name: same output ($(wc -l <"$work/$name.plain.out") lines)" \
      "on the system malloc and on libbuddymalloc" \
      "($(grep -c '^buddymalloc: allocs' "$work/$name.buddy.stats") processes on it)"
    ran=$((ran + 1))
  fi
}

skip() {
  echo "real_programs: $1: skipped, $2 is not installed"
  skipped="$skipped $1"
}

# --- python3 ---
cat >"$work/work.py" <<'PY'
import json, re
d = {}
for i in range(60000):
    d["key%05d" % i] = {"n": i, "s": "v" * (i % 37), "l": list(range(i % 11))}
text = json.dumps(d, sort_keys=True)
back = json.loads(text)
assert back == d
words = re.findall(r'"(key\d+)"', text)
print(len(text), len(words), words[:3], words[-1])
people = [("name%d" % (i * 7919 % 10007), i % 97, str(i) * (i % 5)) for i in range(100000)]
people.sort(key=lambda p: (p[1], p[0]))
print(people[:2], people[-1])
s = "".join(chr(65 + i % 26) for i in range(200000))
print(s.count("ABC"), s.lower()[:10], len(s.split("Z")))
print(sorted(set(re.sub(r"[AEIOU]", "", s[:5000]))))
counts = {}
for w in re.split(r"[^a-z]+", open(__file__).read().lower()):
    counts[w] = counts.get(w, 0) + 1
print(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
PY
python_work() { PYTHONMALLOC=malloc "$py" "$work/work.py"; }
py=$(find_prog python3)
if [ -n "$py" ]; then run python3 python_work; else skip python3 python3; fi

# --- gcc: compile and run a C program ---
cat >"$work/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
int main(void)
{
	enum { N = 20000 };
	char **v = malloc(N * sizeof(*v));
	for (int i = 0; i < N; i++) {
		v[i] = malloc(32);
		snprintf(v[i], 32, "item-%d", (i * 7919) % N);
	}
	qsort(v, N, sizeof(*v), cmp);
	printf("%s %s %s\n", v[0], v[N / 2], v[N - 1]);
	for (int i = 0; i < N; i++)
		free(v[i]);
	free(v);
	return 0;
}
C
gcc_work() { "$cc" -O2 -Wall -o prog "$work/prog.c" && ./prog; }
cc=$(find_prog gcc)
if [ -n "$cc" ]; then run gcc gcc_work; else skip gcc gcc; fi

# --- git ---
git_work() {
  export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@example.org GIT_COMMITTER_NAME=a \
    GIT_COMMITTER_EMAIL=a@example.org GIT_AUTHOR_DATE="2020-01-01T00:00:00Z" \
    GIT_COMMITTER_DATE="2020-01-01T00:00:00Z" GIT_CONFIG_NOSYSTEM=1 HOME="$PWD"
  "$git" init -q -b main repo && cd repo || return 1
  for i in 1 2 3 4 5 6 7 8; do
    seq 1 $((i * 2000)) >"file$i.txt"
    "$git" add "file$i.txt" && "$git" commit -q -m "commit $i" || return 1
  done
  "$git" log --stat --format='%H %s' | head -40
  "$git" gc -q && "$git" fsck --no-progress && "$git" count-objects
}
git=$(find_prog git)
if [ -n "$git" ]; then run git git_work; else skip git git; fi

# --- perl ---
perl_work() {
  "$perl" -e '
    my %h; $h{"k" . ($_ * 7919 % 100003)} = [$_, "x" x ($_ % 50)] for 1 .. 150000;
    my @k = sort { $h{$a}[0] <=> $h{$b}[0] } keys %h;
    my $s = join(",", @k[0 .. 5]); my $n = () = join(" ", @k) =~ /k1\d\d\b/g;
    print scalar(@k), " $s $n\n";'
}
perl=$(find_prog perl)
if [ -n "$perl" ]; then run perl perl_work; else skip perl perl; fi

# --- sort on a large file ---
awk 'BEGIN { for (i = 0; i < 400000; i++) printf "%d line %d %s\n", (i * 7919) % 100003, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) }' >"$work/big.txt"
sort_work() { "$sortp" -k3,3 -k1,1n "$work/big.txt" | cksum; "$sortp" -u "$work/big.txt" | wc -l; }
sortp=$(find_prog sort)
if [ -n "$sortp" ]; then run sort sort_work; else skip sort sort; fi

# --- xz with two threads ---
xz_work() {
  "$xz" -T2 --block-size=1MiB -6 -c "$work/big.txt" >big.xz &&
    cksum <big.xz && "$xz" -T2 -d -c big.xz | cksum
}
xz=$(find_prog xz)
if [ -n "$xz" ]; then run xz xz_work; else skip xz xz; fi

# --- tar with gzip ---
tar_work() {
  mkdir -p tree/a tree/b && cp "$work/big.txt" tree/a/ && cp "$work/prog.c" "$work/work.py" tree/b/ &&
    "$tarp" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -czf t.tgz tree &&
    "$tarp" -tvzf t.tgz && mkdir out && "$tarp" -xzf t.tgz -C out && cat out/tree/a/big.txt | cksum
}
tarp=$(find_prog tar)
if [ -n "$tarp" ] && [ -n "$(find_prog gzip)" ]; then run tar tar_work; else skip tar "tar or gzip"; fi

echo "real_programs: $ran same, $fails different${skipped:+, skipped:$skipped}"
[ $fails = 0 ]
