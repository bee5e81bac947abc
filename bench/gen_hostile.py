#!/usr/bin/env python3
"""Writes the hostile stack files of bench/hostile.sh into a directory.

One subdirectory per case, each with a compose.yaml (and what it includes or
extends), so that each tool gets the same files. The cases are issue 9's
families: alias and merge-key expansion, deep extends and depends_on chains,
dependency rings, many diagnostics, one huge line, many anchors, includes that
fan out, and files that are not stack files at all (a device, a FIFO, the
process environment); then issue 15's: small files that expand into a large
stack (env lines that double, a large variable referenced many times, port
ranges, many services extending a large base or naming a large env file,
large includes, one file included under many project directories).
"""

import os
import sys

out = sys.argv[1]


def case(name, files):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for path, text in files.items():
        with open(os.path.join(d, path), "w") as f:
            f.write(text)
    return d


def laughs(levels, fan):
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join(f"*a{i - 1}" for _ in range(fan))
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("services:\n  web:\n    image: busybox")
    lines.append(f"x-bomb: *a{levels}")
    return "\n".join(lines) + "\n"


case("laughs-10x10", {"compose.yaml": laughs(10, 10)})
case("laughs-7x10", {"compose.yaml": laughs(7, 10)})

merge = ["x-m0: &m0 {k0: v}"]
for i in range(1, 10000):
    merge.append(f"x-m{i}: &m{i} {{<<: *m{i - 1}, k{i}: v}}")
merge.append("services:\n  web:\n    image: busybox")
case("merge-chain-10k", {"compose.yaml": "\n".join(merge) + "\n"})

ext = ["services:"]
for i in range(9999, 0, -1):
    ext.append(f"  s{i}:\n    extends: s{i - 1}")
ext.append("  s0:\n    image: busybox")
case("extends-chain-10k", {"compose.yaml": "\n".join(ext) + "\n"})

chain = ["services:"]
for i in range(100000):
    dep = f"\n    depends_on: [s{i - 1}]" if i else ""
    chain.append(f"  s{i}:\n    image: busybox{dep}")
case("depends-chain-100k", {"compose.yaml": "\n".join(chain) + "\n"})

ring = ["services:"]
for i in range(50000):
    ring.append(f"  s{i}:\n    image: busybox\n    depends_on: [s{(i + 1) % 50000}]")
case("depends-ring-50k", {"compose.yaml": "\n".join(ring) + "\n"})

unset = ["services:\n  web:\n    image: busybox\n    environment:"]
for i in range(10000):
    unset.append(f"      V{i}: ${{UNSET_{i}}}")
case("unset-vars-10k", {"compose.yaml": "\n".join(unset) + "\n"})

ports = ["services:\n  web:\n    image: busybox\n    ports:"]
for i in range(20000):
    ports.append(f"      - 'x{i}:y'")
case("bad-ports-20k", {"compose.yaml": "\n".join(ports) + "\n"})

case("long-line-2mb", {"compose.yaml": "services:\n  web:\n    image: busybox\n    command: \"" + "$a" * 1000000 + "\"\n"})

anchors = ["x-a:"]
for i in range(200000):
    anchors.append(f"  k{i}: &a{i} v{i}")
anchors.append("services:\n  web:\n    image: busybox\n    labels:\n      last: *a199999")
case("anchors-200k", {"compose.yaml": "\n".join(anchors) + "\n"})

files = {}
for i in range(25):
    nxt = f"f{i + 1}.yaml"
    body = f"include:\n  - {nxt}\n  - ./{nxt}\n" if i < 24 else ""
    files[f"f{i}.yaml"] = body + f"services:\n  s{i}:\n    image: busybox\n"
files["compose.yaml"] = "include:\n  - f0.yaml\nservices:\n  top:\n    image: busybox\n"
case("include-fanout-2^25", files)

case("dev-zero", {"compose.yaml": "include: [/dev/zero]\nservices:\n  web:\n    image: busybox\n"})
case("proc-environ", {"compose.yaml": "include: [/proc/self/environ]\nservices:\n  web:\n    image: busybox\n"})
d = case("fifo", {})
fifo = os.path.join(d, "compose.yaml")
if not os.path.exists(fifo):
    os.mkfifo(fifo)


# Issue 15, family 2: small files that expand into a large stack. Each must be
# refused at berth's load budget (bench/hostile.sh passes `args` files to
# berth only: `config --swarm` has no compose peer).
svc = "services:\n  web:\n    image: busybox\n"

env = ["A0=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]
for i in range(1, 41):
    env.append(f"A{i}=${{A{i - 1}}}${{A{i - 1}}}")
case("env-doubling-40", {".env": "\n".join(env) + "\n",
                         "compose.yaml": svc + "    environment:\n      X: ${A40}\n"})

labels = "".join(f"      L{i}: ${{BIG}}\n" for i in range(3000))
case("var-1mb-x3000", {".env": "BIG=" + "x" * 1000000 + "\n",
                       "compose.yaml": svc + "    labels:\n" + labels})


def port_ranges(n):
    lines = "".join(f"      - '127.0.{i // 250}.{i % 250 + 1}:1-65535:1-65535'\n" for i in range(n))
    return svc + "    ports:\n" + lines


case("port-ranges-60", {"compose.yaml": port_ranges(60)})
case("port-ranges-20-swarm", {"compose.yaml": port_ranges(20), "args": "--swarm\n"})

base = "".join(f"      l{i}: v{i}\n" for i in range(50000))
ext = "".join(f"  s{i}:\n    extends: base\n" for i in range(1000))
case("extends-1000x50k-labels", {"compose.yaml": "services:\n  base:\n    image: busybox\n    labels:\n" + base + ext})

case("env-file-2000x70k", {
    "big.env": "".join(f"K{i}=v\n" for i in range(70000)),
    "compose.yaml": "services:\n" + "".join(f"  s{i}:\n    image: busybox\n    env_file: big.env\n" for i in range(2000)),
})

files = {"compose.yaml": "include:\n" + "".join(f"  - inc{i}.yaml\n" for i in range(16)) + svc}
for i in range(16):
    body = "".join(f"      k{j}: {'v' * 24}\n" for j in range(4 * 1024 * 1024 // 40))
    files[f"inc{i}.yaml"] = f"services:\n  s{i}:\n    image: busybox\n    labels:\n" + body
case("include-16x4mib", files)

body = "".join(f"      k{j}: {'v' * 24}\n" for j in range(1024 * 1024 // 40))
case("include-100-dirs", {
    "inc.yaml": "services:\n  s:\n    image: busybox\n    labels:\n" + body,
    "compose.yaml": "include:\n" + "".join(f"  - path: inc.yaml\n    project_directory: d{i}\n" for i in range(100)) + svc,
})
