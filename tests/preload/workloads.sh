#!/bin/sh
# SPDX-License-Identifier: MIT
# The real-program workloads the process malloc is tested and measured on
# (sourced by tests/preload/real_programs.sh and bench/preload/programs.sh):
# make_inputs DIR [LINES] writes the inputs (the text file that sort, xz and
# tar work on has LINES lines, 400000 by default: the benchmark's; the tests
# take fewer, as xz on the full file is most of their time), then each
# NAME_work runs in the current directory and prints what the comparison
# checks. find_prog PROGRAM gives the
# installed program's path (python3: the interpreter itself, not a shim).
# PRELOAD_PROGRAMS lists the names; program_of NAME the program each needs.

PRELOAD_PROGRAMS="python3 gcc git perl sort xz tar"

find_prog() {
  for d in /usr/bin /bin /usr/local/bin; do
    [ -x "$d/$1" ] && { echo "$d/$1"; return; }
  done
  command -v "$1" 2>/dev/null
}

program_of() {
  case $1 in
    python3) echo python3 ;; gcc) echo gcc ;; git) echo git ;; perl) echo perl ;;
    sort) echo sort ;; xz) echo xz ;; tar) echo "tar or gzip" ;;
  esac
}

# Every program found (and gzip for tar), or the variable empty.
py=$(find_prog python3) cc=$(find_prog gcc) git=$(find_prog git) perl=$(find_prog perl)
sortp=$(find_prog sort) xz=$(find_prog xz) tarp=$(find_prog tar)
[ -n "$(find_prog gzip)" ] || tarp=

# have NAME: the program NAME's workload needs is installed.
have() {
  case $1 in
    python3) [ -n "$py" ] ;; gcc) [ -n "$cc" ] ;; git) [ -n "$git" ] ;; perl) [ -n "$perl" ] ;;
    sort) [ -n "$sortp" ] ;; xz) [ -n "$xz" ] ;; tar) [ -n "$tarp" ] ;; *) false ;;
  esac
}

make_inputs() {
  inputs=$1
  lines=${2:-400000}
  cat >"$inputs/work.py" <<'PY'
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
  cat >"$inputs/prog.c" <<'C'
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
  awk -v n="$lines" 'BEGIN { for (i = 0; i < n; i++) printf "%d line %d %s\n", (i * 7919) % 100003, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) }' >"$inputs/big.txt"
}

python_work() { PYTHONMALLOC=malloc "$py" "$inputs/work.py"; }
gcc_work() { "$cc" -O2 -Wall -o prog "$inputs/prog.c" && ./prog; }
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
perl_work() {
  "$perl" -e '
    my %h; $h{"k" . ($_ * 7919 % 100003)} = [$_, "x" x ($_ % 50)] for 1 .. 150000;
    my @k = sort { $h{$a}[0] <=> $h{$b}[0] } keys %h;
    my $s = join(",", @k[0 .. 5]); my $n = () = join(" ", @k) =~ /k1\d\d\b/g;
    print scalar(@k), " $s $n\n";'
}
sort_work() { "$sortp" -k3,3 -k1,1n "$inputs/big.txt" | cksum; "$sortp" -u "$inputs/big.txt" | wc -l; }
xz_work() {
  "$xz" -T2 --block-size=1MiB -6 -c "$inputs/big.txt" >big.xz &&
    cksum <big.xz && "$xz" -T2 -d -c big.xz | cksum
}
tar_work() {
  mkdir -p tree/a tree/b && cp "$inputs/big.txt" tree/a/ && cp "$inputs/prog.c" "$inputs/work.py" tree/b/ &&
    "$tarp" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -czf t.tgz tree &&
    "$tarp" -tvzf t.tgz && mkdir out && "$tarp" -xzf t.tgz -C out && cat out/tree/a/big.txt | cksum
}
